"""Pricing one usage at one moment: :func:`price`."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from decimal import Decimal
from typing import Any

from tokctl.errors import UsageError
from tokctl.pricing.book import Entry, lookup
from tokctl.pricing.rules import (
    Selection,
    normalize_service_tier,
    select,
    tier_basis_tokens,
    tier_index,
    window_index,
)
from tokctl.pricing.types import Component, Cost, PriceRow, Usage
from tokctl.registry.providers import PricePeriod

ALWAYS_SHOWN = ("input", "output")
_EXACT = decimal.Context(prec=80, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


def component_cost(tokens: int, unit_price: Decimal) -> Decimal:
    """``tokens * unit_price / 1_000_000``, exactly (a context that traps any rounding)."""
    return _EXACT.multiply(Decimal(tokens), unit_price).scaleb(-6, _EXACT)


def moment_for(at: dt.datetime | dt.date | None, tz: dt.tzinfo) -> dt.datetime:
    """None: now; a bare date: 00:00 in the platform's time zone; a datetime must carry its offset."""
    if at is None:
        return dt.datetime.now(dt.UTC)
    if isinstance(at, dt.datetime):
        if at.tzinfo is None or at.utcoffset() is None:
            raise UsageError(
                f"the moment {at.isoformat()} has no time zone",
                fix="pass an aware datetime, e.g. datetime(..., tzinfo=timezone.utc)",
            )
        return at
    return dt.datetime.combine(at, dt.time(0), tzinfo=tz)


def price_row(entry: Entry, period: PricePeriod, chosen: Selection) -> PriceRow:
    """The registry row a selection of prices came from (what ``price_ref`` names)."""
    return PriceRow(
        entry.platform.id,
        entry.model.id,
        period.effective_from,
        period.effective_to,
        period.source,
        period.confidence,
        chosen.tier,
        chosen.window,
        chosen.service_tier,
    )


def price(
    usage: Usage,
    model: str,
    provider: str | None = None,
    at: dt.datetime | dt.date | None = None,
    service_tier: str | None = None,
    batch: bool = False,
) -> Cost:
    """The cost of ``usage`` on ``model`` at moment ``at``, in the platform's currency.

    >>> cost = price(Usage(input_tokens=1000, output_tokens=200), "deepseek-v4-pro", "deepseek-cn",
    ...              at=dt.datetime(2026, 11, 16, 10, tzinfo=dt.UTC))   # doctest: +SKIP
    >>> cost.total, cost.currency                                          # doctest: +SKIP
    (Decimal('0.0099'), 'CNY')

    Unknown names raise UnknownModelError / UnknownProviderError; counts that contradict each other raise
    UsageError. A known model without a price for the moment, the tier, or a component with tokens gives a
    Cost with ``unpriced`` set and ``total`` None, never 0.
    """
    usage.check()
    entry = lookup(model, provider)
    moment = moment_for(at, entry.platform.tz)
    return price_entry(usage, entry, moment, service_tier, batch)


def price_entry(usage: Usage, entry: Entry, at: dt.datetime, service_tier: str | None, batch: bool) -> Cost:
    def result(total: Decimal | None, **rest: Any) -> Cost:
        return Cost(
            entry.platform.id,
            entry.model.id,
            entry.platform.currency,
            at,
            total,
            alternatives=entry.alternatives,
            **rest,
        )

    segment, code, reason = entry.segment_at(at)
    if segment is None:
        return result(None, unpriced=code, reason=reason)
    period = segment.period
    window = -1
    if period.windows:
        local = at.astimezone(entry.platform.tz)
        needs_calendar = any(w.holidays for w in period.windows)
        holiday = needs_calendar and local.date() in entry.holidays()
        window = window_index(period, local, holiday)
    tier = 0
    if period.tiers:
        writes = usage.cache_write_tokens + usage.cache_write_1h_tokens
        basis = tier_basis_tokens(period.tier_basis, usage.uncached_input_tokens, usage.cache_read_tokens, writes)
        tier = tier_index(period, basis)
    named_tier, is_batch = normalize_service_tier(service_tier, batch)
    chosen = select(period, window, tier, is_batch, named_tier)
    row = price_row(entry, period, chosen)
    if chosen.unpriced is not None:
        return result(None, price=row, unpriced=chosen.unpriced, reason=chosen.reason)
    components = []
    for kind, tokens in usage.by_kind().items():
        unit = chosen.unit_prices[kind]
        if tokens == 0 and (kind not in ALWAYS_SHOWN or unit is None):
            continue
        if unit is None:
            return result(
                None,
                price=row,
                unpriced=f"missing_price:{kind}",
                reason=f"{tokens} {kind} tokens but the price row has no {kind} price",
            )
        components.append(Component(kind, tokens, unit, component_cost(tokens, unit), chosen.notes.get(kind, "")))
    total = functools.reduce(_EXACT.add, (c.cost for c in components), Decimal(0))
    return result(total, components=tuple(components), price=row)
