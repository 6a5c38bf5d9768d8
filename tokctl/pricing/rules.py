"""The pricing rules shared by :func:`price` and :func:`price_table`.

Given a price period and the choices made for a request (time window, prompt-size tier, batch, service
tier), :func:`select` yields the unit price of each component kind. The scalar path picks the window and tier
with :func:`window_index` / :func:`tier_index`; the table path picks them with array masks that implement
the same rules, and both call :func:`select`, so the prices themselves cannot diverge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from tokctl.registry.providers import PricePeriod, Prices, Window

INPUT_KEYS = ("input", "cache_read", "cache_write", "cache_write_1h", "cache_write_12h")
# Service tier names that mean the base (standard) prices, as vendors report them in usage.
BASE_SERVICE_TIERS = frozenset({"", "standard", "default", "auto", "on_demand", "on-demand", "standard_only"})
NOTE_WRITE_AS_INPUT = "no cache_write price: billed at the input price"
NOTE_REASONING_AS_OUTPUT = "billed at the output price"


@dataclass(frozen=True)
class Selection:
    """Unit prices per component kind (None: missing) and the labels of the choice, or why there is none."""

    unit_prices: dict[str, Decimal | None]
    notes: dict[str, str]
    tier: str | None = None
    window: str | None = None
    service_tier: str | None = None
    unpriced: str | None = None
    reason: str = ""


def normalize_service_tier(service_tier: str | None, batch: bool) -> tuple[str | None, bool]:
    """(named tier or None for the base prices, batch). A service tier reported as 'batch' is batch."""
    name = (service_tier or "").strip().lower()
    if name == "batch":
        return None, True
    if name in BASE_SERVICE_TIERS:
        return None, batch
    return name, batch


def _merge(base: Prices, over: Prices, keys: tuple[str, ...]) -> Prices:
    values = {k: (getattr(over, k) if k in keys else v) for k, v in base.items()}
    return Prices(**values)


def _window_prices(period: PricePeriod, window: Window) -> Prices:
    if window.prices is not None:
        return window.prices
    assert window.multiplier is not None
    return period.base.scaled(window.multiplier)


def _unit_prices(prices: Prices) -> tuple[dict[str, Decimal | None], dict[str, str]]:
    notes: dict[str, str] = {}
    cache_write, cache_write_1h = prices.cache_write, prices.cache_write_1h
    if cache_write is None and cache_write_1h is None:
        # DeepSeek and others have no cache-write price: a write is billed as an ordinary input token.
        cache_write = cache_write_1h = prices.input
        notes["cache_write"] = notes["cache_write_1h"] = NOTE_WRITE_AS_INPUT
    reasoning = prices.reasoning
    if reasoning is None:
        reasoning = prices.output
        notes["reasoning"] = NOTE_REASONING_AS_OUTPUT
    units = {
        "input": prices.input,
        "cache_read": prices.cache_read,
        "cache_write": cache_write,
        "cache_write_1h": cache_write_1h,
        "output": prices.output,
        "reasoning": reasoning,
    }
    return units, notes


def select(period: PricePeriod, window: int, tier: int, batch: bool, service_tier: str | None) -> Selection:
    """Prices for ``window`` (index into period.windows, -1: base) and ``tier`` (0: base, i: tiers[i-1])."""
    return _select(period, window, tier, batch, service_tier)


def _select(period: PricePeriod, window: int, tier: int, batch: bool, service_tier: str | None) -> Selection:
    prices = period.base
    window_label = period.default_window
    tier_label = None
    if window >= 0:
        chosen = period.windows[window]
        prices, window_label = _window_prices(period, chosen), chosen.name
    if tier > 0:
        chosen_tier = period.tiers[tier - 1]
        keys = INPUT_KEYS if chosen_tier.reprices == "input" else tuple(k for k, _ in prices.items())
        prices, tier_label = _merge(prices, chosen_tier.prices, keys), chosen_tier.label
    applied = "batch" if batch and service_tier is None else service_tier

    def fail(code: str, reason: str) -> Selection:
        return Selection({}, {}, tier_label, window_label, applied, code, reason)

    if service_tier is not None:
        if batch:
            return fail("batch_with_service_tier", f"a batch request in service tier {service_tier!r} has no price")
        if service_tier not in period.service_tiers:
            return fail(f"no_service_tier_price:{service_tier}", f"the price has no {service_tier!r} service tier")
        multiplier, explicit = period.service_tiers[service_tier]
        if explicit is None:
            prices = prices.scaled(multiplier or Decimal(1))
        elif tier > 0:
            # Explicit batch / service-tier prices are flat: they say nothing about a prompt above a tier.
            return fail(
                f"no_{service_tier}_price_for_tier",
                f"the {service_tier} prices do not cover tier {tier_label}",
            )
        else:
            prices = explicit
    elif batch:
        if period.batch_prices is not None:
            if tier > 0:
                return fail("no_batch_price_for_tier", f"the batch prices do not cover tier {tier_label}")
            prices = period.batch_prices
        elif period.batch_multiplier is not None:
            prices = prices.scaled(period.batch_multiplier)
        else:
            return fail("no_batch_price", "the price has no batch price")
    units, notes = _unit_prices(prices)
    return Selection(units, notes, tier_label, window_label, applied)


def tier_basis_tokens(basis: tuple[str, ...], uncached: int, cache_read: int, cache_write_all: int) -> int:
    parts = {"uncached_input": uncached, "cache_read": cache_read, "cache_write": cache_write_all}
    return sum(parts[name] for name in basis)


def tier_index(period: PricePeriod, prompt_tokens: int) -> int:
    """0 for the base prices, else 1 + the index of the highest tier that applies."""
    chosen = 0
    for i, tier in enumerate(period.tiers):
        if tier.applies(prompt_tokens):
            chosen = i + 1
    return chosen


def in_window(window: Window, weekday: int, minute: int, holiday: bool) -> bool:
    """Whether a local moment (weekday 0 = Monday, minute of the day) lies in ``window``.

    A span that wraps midnight (22:00-02:00) belongs to the day it starts on, so its early hours match
    when the previous day is listed.
    """
    if window.holidays == "exclude" and holiday:
        return False
    if window.holidays == "only" and not holiday:
        return False
    for start, end in window.hours:
        if end > start:
            if weekday in window.days and start <= minute < end:
                return True
        elif (weekday in window.days and minute >= start) or ((weekday - 1) % 7 in window.days and minute < end):
            return True
    return False


def window_index(period: PricePeriod, local: dt.datetime, holiday: bool) -> int:
    """Index of the first window containing the local moment, -1 when none (the base prices apply)."""
    minute = local.hour * 60 + local.minute
    for i, window in enumerate(period.windows):
        if in_window(window, local.weekday(), minute, holiday):
            return i
    return -1
