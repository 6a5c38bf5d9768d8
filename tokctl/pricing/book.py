"""The price book: which platform and model a name means, and its dated prices after user overrides.

A model's prices are a list of :class:`Segment` (non-overlapping, sorted): each the registry period, a
registry period scaled by a negotiated multiplier, or the user's own explicit prices, over [start, end).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tokctl.errors import RegistryError
from tokctl.registry.calendars import holiday_set
from tokctl.registry.catalog import resolve_model
from tokctl.registry.overrides import Override, UserPricing, scaled_period, user_pricing
from tokctl.registry.providers import Model, Platform, PricePeriod


@dataclass(frozen=True)
class Segment:
    start: dt.datetime
    end: dt.datetime | None
    period: PricePeriod


@dataclass(frozen=True)
class Entry:
    """A resolved model on one platform, with its effective price segments."""

    platform: Platform
    model: Model
    segments: tuple[Segment, ...]
    alternatives: tuple[str, ...] = ()

    def segment_at(self, at: dt.datetime) -> tuple[Segment | None, str | None, str]:
        """The segment covering ``at``, else (None, reason code, reason in words)."""
        for segment in self.segments:
            if segment.start <= at and (segment.end is None or at < segment.end):
                return segment, None, ""
        name = f"{self.platform.id}/{self.model.id}"
        if not self.segments:
            return None, "no_price", f"{name} has no price in the registry"
        first = self.segments[0].start
        if at < first:
            return (
                None,
                "before_first_price",
                f"{at.isoformat()} is before the first price of {name} ({first.isoformat()})",
            )
        return None, "no_price_for_date", f"no price of {name} covers {at.isoformat()}"

    def holidays(self) -> frozenset[dt.date]:
        if self.platform.holiday_calendar is None:
            raise RegistryError(
                "a time window has a holiday rule but the platform names no holiday_calendar",
                where=str(self.platform.path),
                fix='add holiday_calendar = "cn" to [platform]',
            )
        return holiday_set(self.platform.holiday_calendar)


def _segments(platform: Platform, model: Model, overrides: list[Override]) -> tuple[Segment, ...]:
    registry = model.prices
    if not overrides:
        return tuple(Segment(p.effective_from, p.effective_to, p) for p in registry)
    bounded = [(o, *o.bounds(platform.tz)) for o in overrides]
    points = {p.effective_from for p in registry} | {p.effective_to for p in registry if p.effective_to}
    points |= {start for _, start, _ in bounded} | {end for _, _, end in bounded if end}
    ordered = sorted(points)
    built: list[Segment] = []
    made: dict[tuple[int, int], PricePeriod] = {}
    for start, end in zip(ordered, [*ordered[1:], None], strict=True):
        period = _period_at(start, end, platform, registry, bounded, made)
        if period is None:
            continue
        if built and built[-1].period is period and built[-1].end == start:
            built[-1] = Segment(built[-1].start, end, period)
        else:
            built.append(Segment(start, end, period))
    return tuple(built)


def _covers(start: dt.datetime, end: dt.datetime | None, at: dt.datetime) -> bool:
    return start <= at and (end is None or at < end)


def _period_at(
    start: dt.datetime,
    end: dt.datetime | None,
    platform: Platform,
    registry: tuple[PricePeriod, ...],
    bounded: list[tuple[Override, dt.datetime, dt.datetime | None]],
    made: dict[tuple[int, int], PricePeriod],
) -> PricePeriod | None:
    base = next((p for p in registry if p.covers(start)), None)
    active = [b for b in bounded if _covers(b[1], b[2], start)]
    if not active:
        return base
    override, o_start, o_end = max(active, key=lambda b: b[0].rank)
    key = (override.index, -1 if base is None else registry.index(base))
    if key not in made:
        if override.multiplier is None:
            made[key] = override.period(platform)
        elif base is None:
            return None  # a discount on nothing: no registry price to scale
        else:
            made[key] = scaled_period(
                base,
                override.multiplier,
                override.source,
                max(base.effective_from, o_start),
                _min_end(base.effective_to, o_end),
            )
    return made[key]


def _min_end(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


_entries: dict[tuple[int, str, int], tuple[Platform, UserPricing, tuple[Segment, ...]]] = {}


def segments_for(platform: Platform, model: Model, user: UserPricing | None = None) -> tuple[Segment, ...]:
    """The effective price segments of ``model`` on ``platform`` (registry + the user's overrides)."""
    user = user if user is not None else user_pricing()
    # Keyed by object identity: the registry objects live as long as their caches, and tests swap them.
    key = (id(platform), model.id, id(user))
    hit = _entries.get(key)
    if hit is None or hit[0] is not platform or hit[1] is not user:
        if len(_entries) > 4096:
            _entries.clear()
        hit = (platform, user, _segments(platform, model, user.for_model(platform.id, model)))
        _entries[key] = hit
    return hit[2]


def lookup(name: str, provider: str | None = None) -> Entry:
    """Resolve ``name`` (id or alias, or ``platform/model``) to an :class:`Entry`.

    The user's custom models come first; then the registry (tokctl.registry.catalog.resolve_model), which
    picks the maker's international platform when ``provider`` is None and records the others.
    """
    user = user_pricing()
    if user.custom_platforms:
        found = _custom(user, name, provider)
        if found is not None:
            return found
    resolved = resolve_model(name, provider)
    segments = segments_for(resolved.platform, resolved.model, user)
    return Entry(resolved.platform, resolved.model, segments, resolved.alternatives)


def _custom(user: UserPricing, name: str, provider: str | None) -> Entry | None:
    if provider is None and "/" in name:
        head, tail = name.split("/", 1)
        if head in user.custom_platforms and user.find_custom(tail, head):
            provider, name = head, tail
    matches = user.find_custom(name, provider)
    if not matches:
        return None
    platform, model = matches[0]
    return Entry(platform, model, segments_for(platform, model, user), tuple(p.id for p, _ in matches[1:]))


def clear_caches() -> None:
    _entries.clear()
