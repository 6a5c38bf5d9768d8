"""Shapes a price quote into a Report for the renderer."""

from __future__ import annotations

from typing import Any

from tokctl.pricing.quote import Quote, plain, quote_doc
from tokctl.render import Column, OutputFormat, Report, info

COLUMNS = [
    Column("kind", "kind"),
    Column("tokens", "tokens", numeric=True),
    Column("unit_price", "per 1M", numeric=True),
    Column("cost", "cost", numeric=True),
    Column("note", "note"),
]


def price_report(result: Quote, fmt: OutputFormat | None) -> Report:
    cost = result.cost
    doc = quote_doc(result)
    rows: list[dict[str, Any]] = [
        {**c, "note": n.note or None} for c, n in zip(doc["components"], cost.components, strict=True)
    ]
    rows.append({"kind": "total", "tokens": None, "unit_price": None, "cost": doc["total"], "note": cost.currency})
    notes = []
    row = cost.price
    if row is not None:
        labels = ", ".join(
            f"{k} {v}" for k, v in (("window", row.window), ("tier", row.tier), ("service tier", row.service_tier)) if v
        )
        notes.append(
            f"price row: effective {row.effective_from.isoformat()}{', ' + labels if labels else ''}; "
            f"confidence {row.confidence}; source {row.source}"
        )
    if result.converted is not None:
        c = result.converted
        notes.append(
            f"= {plain(c.amount)} {c.currency} at {plain(c.rate)} {cost.currency}->{c.currency} of "
            f"{c.rate_date} ({c.rate_source})"
        )
    if cost.alternatives:
        chosen = f"priced on {cost.provider}; also offered on {', '.join(cost.alternatives)} (choose with --provider)"
        notes.append(chosen)
        if fmt not in (None, OutputFormat.table):
            info(chosen)  # stdout holds only the document; say it on stderr
    title = f"{cost.model} on {cost.provider} ({cost.currency}) at {cost.at.isoformat()}"
    return Report(doc=doc, rows=rows, columns=COLUMNS, title=title, notes=notes)
