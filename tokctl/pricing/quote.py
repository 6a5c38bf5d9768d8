"""A price quote as ``tokctl price`` shows it: the cost, optionally converted at a dated rate, as a stable
JSON document."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokctl.pricing.book import lookup
from tokctl.pricing.scalar import moment_for, price_entry
from tokctl.pricing.types import Cost, Usage, parse_at
from tokctl.registry.fx import Converted, convert


@dataclass(frozen=True)
class Quote:
    cost: Cost
    converted: Converted | None = None


def quote(
    usage: Usage,
    model: str,
    provider: str | None = None,
    at: str | dt.datetime | dt.date | None = None,
    service_tier: str | None = None,
    batch: bool = False,
    currency: str | None = None,
    fx_file: Path | None = None,
) -> Quote:
    """:func:`tokctl.price` plus ``--at`` text (a bare date is 00:00 in the platform's zone) and conversion.

    The conversion happens only when ``currency`` is given and the usage is priced; a missing rate is an
    FxError.
    """
    usage.check()
    entry = lookup(model, provider)
    tz = entry.platform.tz
    moment = parse_at(at, tz) if isinstance(at, str) else moment_for(at, tz)
    cost = price_entry(usage, entry, moment, service_tier, batch)
    converted = None
    if currency and cost.total is not None:
        converted = convert(cost.total, cost.currency, currency, moment, fx_file)
    return Quote(cost, converted)


def plain(amount: Decimal | None) -> str | None:
    """An exact decimal string without exponent or trailing zeros (``0.0136400`` -> ``0.01364``)."""
    if amount is None:
        return None
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def quote_doc(result: Quote) -> dict[str, Any]:
    """The JSON document of ``tokctl price`` (keys are part of the interface)."""
    cost = result.cost
    row = cost.price
    doc: dict[str, Any] = {
        "provider": cost.provider,
        "model": cost.model,
        "currency": cost.currency,
        "total": plain(cost.total),
        "components": [
            {"kind": c.kind, "tokens": c.tokens, "unit_price": plain(c.unit_price), "cost": plain(c.cost)}
            for c in cost.components
        ],
        "price": None
        if row is None
        else {
            "effective_from": row.effective_from.isoformat(),
            "source": row.source,
            "tier": row.tier,
            "window": row.window,
        },
        "at": cost.at.isoformat(),
    }
    if result.converted is not None:
        c = result.converted
        doc["converted"] = {
            "currency": c.currency,
            "total": plain(c.amount),
            "rate": plain(c.rate),
            "rate_date": c.rate_date.isoformat(),
            "rate_source": c.rate_source,
        }
    return doc
