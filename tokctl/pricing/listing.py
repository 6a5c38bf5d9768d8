"""What ``tokctl models`` lists and ``tokctl models show`` describes, as plain JSON-ready dicts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from tokctl.pricing.book import Entry, Segment, lookup, segments_for
from tokctl.pricing.quote import plain
from tokctl.registry.overrides import user_pricing
from tokctl.registry.providers import WEEKDAYS, Model, Platform, PricePeriod, Prices, Window, all_platforms


def _accuracy(tokenizer_id: str) -> str | None:
    from tokctl.registry.tokenizers import all_tokenizers

    tokenizer = all_tokenizers().get(tokenizer_id)
    return None if tokenizer is None else tokenizer.accuracy


def _platforms() -> list[Platform]:
    """Registry platforms and the user's custom models (custom platforms merged by id)."""
    merged = dict(all_platforms())
    for platform_id, custom in user_pricing().custom_platforms.items():
        if platform_id in merged:
            names = {n for m in custom.models for n in m.names()}
            kept = tuple(m for m in merged[platform_id].models if not names & set(m.names()))
            merged[platform_id] = dataclasses.replace(merged[platform_id], models=kept + custom.models)
        else:
            merged[platform_id] = custom
    return [merged[k] for k in sorted(merged)]


def _summary(platform: Platform, model: Model, now: dt.datetime) -> dict[str, Any]:
    segment = next((s for s in segments_for(platform, model) if _covers(s, now)), None)
    period = segment.period if segment else None
    rules = []
    if period is not None:
        if period.windows:
            rules.append("time windows (" + ", ".join(w.name for w in period.windows) + ")")
        if period.tiers:
            rules.append("tiers " + ", ".join(t.label for t in period.tiers))
    return {
        "id": model.id,
        "provider": platform.id,
        "name": model.name or None,
        "aliases": list(model.aliases),
        "tokenizer": model.tokenizer or None,
        "accuracy": _accuracy(model.tokenizer),
        "context_window": model.context_window,
        "currency": platform.currency,
        "input": plain(period.base.input) if period else None,
        "output": plain(period.base.output) if period else None,
        "cache_read": plain(period.base.cache_read) if period else None,
        "price_window": period.default_window if period else None,
        "price_rules": "; ".join(rules) or None,
        "deprecated": model.deprecated.isoformat() if model.deprecated else None,
    }


def _covers(segment: Segment, at: dt.datetime) -> bool:
    return segment.start <= at and (segment.end is None or at < segment.end)


def list_models(
    provider: str | None = None, search: str | None = None, at: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Every model (of ``provider``; matching ``search`` in id, alias, name or platform) with its base
    input and output price at ``at`` (default now): the default window and the lowest tier."""
    from tokctl.registry.catalog import get_platform

    if provider is not None and provider not in user_pricing().custom_platforms:
        get_platform(provider)  # an unknown provider is an error with "did you mean"
    now = at or dt.datetime.now(dt.UTC)
    wanted = (search or "").lower()
    rows = []
    for platform in _platforms():
        if provider is not None and platform.id != provider:
            continue
        for model in sorted(platform.models, key=lambda m: m.id):
            text = " ".join([platform.id, model.id, model.name, *model.aliases]).lower()
            if wanted in text:
                rows.append(_summary(platform, model, now))
    return rows


def _prices(prices: Prices) -> dict[str, str]:
    return {k: plain(v) for k, v in prices.items() if v is not None}  # type: ignore[misc]


def _hours(window: Window) -> list[str]:
    return [f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in window.hours]


def _period(segment: Segment) -> dict[str, Any]:
    period: PricePeriod = segment.period
    doc: dict[str, Any] = {
        "from": segment.start.isoformat(),
        "to": segment.end.isoformat() if segment.end else None,
        "effective_from": period.effective_from.isoformat(),
        "source": period.source,
        "checked": period.checked.isoformat(),
        "confidence": period.confidence,
        "notes": period.notes or None,
        "prices": _prices(period.base),
        "default_window": period.default_window,
        "tier_basis": list(period.tier_basis) if period.tiers else None,
        "tiers": [{"bound": t.label, "reprices": t.reprices, "prices": _prices(t.prices)} for t in period.tiers],
        "windows": [
            {
                "name": w.name,
                "days": [WEEKDAYS[d] for d in sorted(w.days)],
                "hours": _hours(w),
                "holidays": w.holidays,
                "prices": _prices(w.prices) if w.prices else None,
                "multiplier": plain(w.multiplier),
            }
            for w in period.windows
        ],
        "batch": _batch(period),
        "service_tiers": {
            name: {"multiplier": plain(mult), "prices": _prices(p) if p else None}
            for name, (mult, p) in period.service_tiers.items()
        },
    }
    return doc


def _batch(period: PricePeriod) -> dict[str, Any] | None:
    if period.batch_prices is not None:
        return {"multiplier": None, "prices": _prices(period.batch_prices)}
    if period.batch_multiplier is not None:
        return {"multiplier": plain(period.batch_multiplier), "prices": None}
    return None


def describe_model(name: str, provider: str | None = None) -> dict[str, Any]:
    """Everything about one model on one platform: aliases, tokenizer, the full price history."""
    entry: Entry = lookup(name, provider)
    platform, model = entry.platform, entry.model
    return {
        "id": model.id,
        "provider": platform.id,
        "other_providers": list(entry.alternatives),
        "name": model.name or None,
        "maker": model.maker or None,
        "aliases": list(model.aliases),
        "tokenizer": model.tokenizer or None,
        "accuracy": _accuracy(model.tokenizer),
        "context_window": model.context_window,
        "max_output": model.max_output,
        "deprecated": model.deprecated.isoformat() if model.deprecated else None,
        "notes": model.notes or None,
        "currency": platform.currency,
        "timezone": platform.timezone,
        "holiday_calendar": platform.holiday_calendar,
        "pricing_url": platform.pricing_url or None,
        "prices": [_period(s) for s in entry.segments],
    }
