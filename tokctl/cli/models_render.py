"""Shapes model listings and a model's price history into Reports for the renderer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tokctl.pricing.quote import plain
from tokctl.registry.providers import PRICE_KEYS, TIER_BASIS, WEEKDAYS
from tokctl.render import Column, Report, Section

LIST_COLUMNS = [
    Column("id", "model"),
    Column("provider", "provider"),
    Column("tokenizer", "tokenizer"),
    Column("accuracy", "accuracy"),
    Column("context_window", "context", numeric=True),
    Column("input", "input/1M", numeric=True),
    Column("output", "output/1M", numeric=True),
    Column("currency", "currency"),
    Column("price_rules", "price rules"),
]


def models_report(rows: list[dict[str, Any]]) -> Report:
    notes = []
    if any(r["price_rules"] for r in rows):
        notes.append(
            "input/output: the base price now (the default time window, below the first prompt tier); "
            "'tokctl models show MODEL' gives every rule"
        )
    if any(r["input"] is None for r in rows):
        notes.append("-: no price covers today (retired, not yet priced, or count-only)")
    return Report(doc={"models": rows}, rows=rows, columns=LIST_COLUMNS, title=f"{len(rows)} models", notes=notes)


PRICE_KINDS = PRICE_KEYS
PERIOD_COLUMNS = [
    Column("from", "from"),
    Column("to", "to"),
    Column("applies", "applies"),
    Column("input", "input", numeric=True),
    Column("cache_read", "cache read", numeric=True),
    Column("cache_write", "cache write", numeric=True),
    Column("cache_write_1h", "write 1h", numeric=True),
    Column("cache_write_12h", "write 12h", numeric=True),
    Column("output", "output", numeric=True),
    Column("reasoning", "reasoning", numeric=True),
    Column("confidence", "confidence"),
]
_HOLIDAYS = {"exclude": ", not on holidays", "only": ", holidays only", None: ""}


def _days(days: list[str]) -> str:
    """mon,tue,wed,thu,fri -> mon-fri (a contiguous run of the week), else the list."""
    index = [WEEKDAYS.index(d) for d in days]
    if len(index) > 2 and index == list(range(index[0], index[-1] + 1)):
        return f"{days[0]}-{days[-1]}"
    return ",".join(days)


def _scaled(prices: dict[str, str], multiplier: str) -> dict[str, str]:
    return {k: plain(Decimal(v) * Decimal(multiplier)) or "" for k, v in prices.items()}


def _period_rows(period: dict[str, Any]) -> list[dict[str, Any]]:
    """The base prices, then one row per rule (window, tier, batch, service tier) with its own prices."""
    base = period["prices"]
    label = f"{period['default_window']} (base)" if period["default_window"] else "base"
    rows = [{"from": period["from"], "to": period["to"], "applies": label, **base, "confidence": period["confidence"]}]
    for w in period["windows"]:
        when = f"{w['name']}: {_days(w['days'])} {','.join(w['hours'])}{_HOLIDAYS[w['holidays']]}"
        prices = _scaled(base, w["multiplier"]) if w["multiplier"] else w["prices"]
        rows.append({"applies": when, **prices})
    basis = period["tier_basis"] or []
    counted = "" if set(basis) == set(TIER_BASIS) else f" ({'+'.join(basis)})"
    for t in period["tiers"]:
        prices = (
            t["prices"]
            if t["reprices"] == "all"
            else {**base, **{k: v for k, v in t["prices"].items() if k not in ("output", "reasoning")}}
        )
        scope = "" if t["reprices"] == "all" else ", input only"
        rows.append({"applies": f"prompt{counted} {t['bound']}{scope}", **prices})
    batch = period["batch"]
    if batch:
        multiplier = batch["multiplier"]
        rows.append(
            {
                "applies": f"batch x{multiplier}" if multiplier else "batch",
                **(_scaled(base, multiplier) if multiplier else batch["prices"]),
            }
        )
    for name, tier in period["service_tiers"].items():
        multiplier = tier["multiplier"]
        rows.append(
            {
                "applies": f"{name} x{multiplier}" if multiplier else name,
                **(_scaled(base, multiplier) if multiplier else tier["prices"]),
            }
        )
    # every row names its period, so csv and jsonl rows stand alone
    return [{**row, "from": period["from"], "to": period["to"], "confidence": period["confidence"]} for row in rows]


SOURCE_COLUMNS = [
    Column("from", "from"),
    Column("checked", "checked"),
    Column("source", "source"),
    Column("notes", "notes"),
]


def model_report(doc: dict[str, Any]) -> Report:
    rows = [row for period in doc["prices"] for row in _period_rows(period)]
    facts = [{"field": k, "value": v} for k, v in doc.items() if k != "prices" and v not in (None, [], "")]
    sources = [
        {"from": p["from"], "checked": p["checked"], "source": p["source"], "notes": p["notes"]} for p in doc["prices"]
    ]
    notes = [
        f"{doc['currency']} per 1M tokens; times in the platform's zone ({doc['timezone']}); "
        "a rule's row gives the prices it bills (multipliers applied to the base)"
    ]
    if not rows:
        notes.append("no price: this model is count-only or not priced yet")
    return Report(
        doc=doc,
        rows=rows,
        columns=PERIOD_COLUMNS,
        title=f"{doc['provider']}/{doc['id']}: price history",
        notes=notes,
        sections=[
            Section("model", [Column("field", "field"), Column("value", "value")], facts),
            Section("sources", SOURCE_COLUMNS, sources),
        ],
    )
