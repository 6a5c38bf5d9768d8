"""Unit prices behind a usage record's ``price_ref``, and the same tokens re-priced under another choice.

The pricer (tokctl.pricing) writes one total cost per record and names the price row it used:
``platform/model@effective_from[#window][#tier][+service_tier]``. Reconcile needs the cost per token class
(a bill splits input, cache reads, cache writes and output) and what the tokens would have cost had the
vendor chosen differently (the previous price period, no batch discount, the base instead of the
long-context tier, off-peak instead of peak). Both come from ``tokctl.pricing.rules.select`` on the same
price period, so the arithmetic cannot drift from the pricer's.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from decimal import Decimal

from tokctl.errors import TokctlError
from tokctl.pricing.book import Entry, lookup
from tokctl.pricing.rules import select
from tokctl.registry.providers import PricePeriod

_REF = re.compile(
    r"^(?P<provider>[^/]+)/(?P<model>.+)@(?P<start>\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:\d\d|Z)?)"
    r"(?P<labels>(?:#[^#+]+)*)(?:\+(?P<service>.+))?$"
)
# Token class -> the pricer's component kind; output also holds reasoning, priced as "reasoning".
CLASS_KIND = {"input": "input", "cache_read": "cache_read", "cache_write": "cache_write",
              "cache_write_1h": "cache_write_1h", "output": "output"}  # fmt: skip


# Unit prices per choice, keyed by the period's identity (periods are registry objects, not hashable).
_UNITS: dict[tuple[object, ...], tuple[PricePeriod, dict[str, Decimal | None] | None]] = {}


@dataclass(frozen=True)
class Choice:
    """How one price row was chosen: the period, window (-1: base), tier (0: base), batch, service tier."""

    entry: Entry
    period: PricePeriod
    window: int
    tier: int
    batch: bool
    service_tier: str | None

    def unit(self, kind: str) -> Decimal | None:
        key = (id(self.period), self.window, self.tier, self.batch, self.service_tier)
        hit = _UNITS.get(key)
        if hit is None or hit[0] is not self.period:
            chosen = select(self.period, self.window, self.tier, self.batch, self.service_tier)
            hit = _UNITS[key] = (self.period, None if chosen.unpriced else chosen.unit_prices)
        return None if hit[1] is None else hit[1].get(kind)

    def with_(self, **changes: object) -> Choice:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def window_name(self) -> str | None:
        return self.period.windows[self.window].name if self.window >= 0 else self.period.default_window

    @property
    def tier_label(self) -> str | None:
        return self.period.tiers[self.tier - 1].label if self.tier > 0 else None


@functools.lru_cache(maxsize=8192)
def choice(ref: str) -> Choice | None:
    """The choice a price_ref names, or None when it cannot be found in the registry any more."""
    match = _REF.match(ref or "")
    if match is None:
        return None
    try:
        entry = lookup(match["model"], match["provider"])
    except TokctlError:
        return None
    period = next((s.period for s in entry.segments if s.period.effective_from.isoformat() == match["start"]), None)
    if period is None:
        return None
    window, tier = -1, 0
    for label in filter(None, match["labels"].split("#")):
        names = [w.name for w in period.windows]
        tiers = [t.label for t in period.tiers]
        if label in names:
            window = names.index(label)
        elif label in tiers:
            tier = tiers.index(label) + 1
    service = match["service"]
    batch = service == "batch"
    return Choice(entry, period, window, tier, batch, None if batch or not service else service)


def class_cost(choice: Choice, token_class: str, tokens: int, reasoning: int = 0) -> Decimal | None:
    """Cost of ``tokens`` of one class under ``choice``; output's ``reasoning`` part at the reasoning price."""
    kind = CLASS_KIND.get(token_class)
    if kind is None:
        return None
    unit = choice.unit(kind)
    if unit is None:
        return None if tokens else Decimal(0)
    if token_class != "output" or not reasoning:
        return (tokens * unit).scaleb(-6)
    reasoning_unit = choice.unit("reasoning")
    if reasoning_unit is None:
        return None
    return ((tokens - reasoning) * unit + reasoning * reasoning_unit).scaleb(-6)


def unit_price(choice: Choice, token_class: str) -> Decimal | None:
    kind = CLASS_KIND.get(token_class)
    return None if kind is None else choice.unit(kind)


def clear_caches() -> None:
    choice.cache_clear()
    _UNITS.clear()
