"""``tokctl reconcile`` from files to a Report: read the bills and the logs, reconcile, shape the output.

JSON: ``{"summary": {...}, "rows": [...]}``. ``summary`` holds ``billed``, ``expected``, ``difference``,
``currency``, ``cells``, ``matched``, ``mismatched`` and ``by_provider`` (the same per provider); when the
cells are in several currencies ``summary`` is a list with one such object per currency, because amounts in
different currencies are never added. Each row: ``date``, ``provider``, ``model``, ``token_class``,
``project``, ``billed_quantity``, ``logged_quantity``, ``billed_cost``, ``expected_cost``, ``difference``,
``currency`` (of the three amounts), ``status``, ``explanation``. Amounts are decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokctl.errors import InputFormatError
from tokctl.reconciliation.engine import Reconciliation, money_value

# Usage columns reconcile reads (fewer columns, less memory on large logs).
USAGE_COLUMNS = (
    "provider", "model", "model_reported", "ts_start", "ts_end", "project", "api_key_id", "service_tier",
    "is_batch", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "cost", "currency", "price_ref", "flags",
)  # fmt: skip


@dataclass
class Outcome:
    result: Reconciliation
    stderr: list[str] = field(default_factory=list)  # accounting lines for the user, not results


def run(
    bills: Iterable[str | Path],
    logs: Iterable[str],
    *,
    bill_format: str | None = None,
    mapping: str | Path | None = None,
    source: str | None = None,
    tolerance: str | None = None,
    by: Any = None,
    tz: str | None = None,
    fx_file: Path | None = None,
    strict: bool = False,
    services: list[str] | None = None,
) -> Outcome:
    """Read the bills and the logs (priced), and reconcile them."""
    from tokctl.bills import read_bill
    from tokctl.reconciliation.engine import reconcile
    from tokctl.usage.read import read_usage_with_accounting

    bill = read_bill(list(bills), bill_format, mapping=mapping, strict=strict, tz=tz)
    if not bill.lines.num_rows:
        where = bill.skipped[0].where if bill.skipped else ", ".join(p for p, _ in bill.files)
        fix = "check that the files are bill or usage exports (see the skipped lines)"
        raise InputFormatError("the bill has no charge lines to reconcile", where=where, fix=fix)
    read = read_usage_with_accounting(list(logs), source, strict, price=True, columns=USAGE_COLUMNS)
    result = reconcile(bill, read.table, tolerance=tolerance, by=by, tz=tz, fx_file=fx_file, services=services)
    stderr = [_bill_line(bill), read.accounting.line()]
    return Outcome(result, [line for line in stderr if line])


def _bill_line(bill: Any) -> str:
    reasons: dict[str, list[str]] = {}
    for skip in bill.skipped:
        reasons.setdefault(skip.reason, []).append(skip.where)
    formats = ", ".join(sorted({fmt for _, fmt in bill.files}))
    text = f"bill: {len(bill.files)} file(s) ({formats}), {bill.lines.num_rows} charge lines"
    if reasons:
        text += ", skipped " + "; ".join(f"{len(w)} {r} (first at {w[0]})" for r, w in sorted(reasons.items()))
    return text


def row(cell: Any) -> dict[str, Any]:
    return {
        "date": cell.date, "provider": cell.provider, "model": cell.model, "token_class": cell.token_class,
        "project": cell.project, "billed_quantity": cell.billed_quantity, "logged_quantity": cell.logged_quantity,
        "billed_cost": money_value(cell.billed_cost), "expected_cost": money_value(cell.expected_cost),
        "difference": money_value(cell.difference), "currency": cell.currency or None, "status": cell.status,
        "explanation": cell.explanation,
    }  # fmt: skip


def _totals(entries: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    total = {"billed": sum((e["billed"] for e in entries), Decimal(0)),
             "expected": sum((e["expected"] for e in entries), Decimal(0))}  # fmt: skip
    return {
        "billed": money_value(total["billed"]), "expected": money_value(total["expected"]),
        "difference": money_value(total["billed"] - total["expected"]), "currency": currency,
        "cells": sum(e["cells"] for e in entries), "matched": sum(e["matched"] for e in entries),
        "mismatched": sum(e["mismatched"] for e in entries),
        "by_provider": [provider_entry(e) for e in entries],
    }  # fmt: skip


def provider_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A summary entry with its amounts at most 12 decimals."""
    return {k: money_value(v) if isinstance(v, Decimal) else v for k, v in entry.items()}


def summary(result: Reconciliation) -> dict[str, Any] | list[dict[str, Any]]:
    """One object when every cell is in one currency, else a list with one object per currency."""
    currencies = sorted({e["currency"] for e in result.summary})
    objects = [_totals([e for e in result.summary if e["currency"] == c], c) for c in currencies]
    if len(objects) == 1:
        return objects[0]
    return objects or _totals([], "")


def document(result: Reconciliation) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": summary(result), "rows": [row(c) for c in result.cells]}
    if result.out_of_scope:
        doc["out_of_scope"] = [{**e, "billed": money_value(e["billed"])} for e in result.out_of_scope]
    return doc


def arrow_table(result: Reconciliation) -> Any:
    """The cells as a typed Arrow table (Parquet output): money decimal128(38, 12), quantities int64."""
    import pyarrow as pa

    from tokctl.schema import money_type

    cells = result.cells
    strings = {k: pa.array([getattr(c, k) for c in cells], pa.string()) for k in
               ("date", "provider", "model", "token_class", "project", "api_key", "currency", "status", "rule",
                "explanation")}  # fmt: skip
    ints = {k: pa.array([getattr(c, k) for c in cells], pa.int64()) for k in
            ("billed_quantity", "logged_quantity", "bill_lines", "records", "unpriced")}  # fmt: skip
    money = {k: pa.array([money_value(getattr(c, k)) for c in cells], money_type()) for k in
             ("billed_cost", "expected_cost", "difference")}  # fmt: skip
    order = ["date", "provider", "model", "token_class", "project", "api_key", "billed_quantity", "logged_quantity",
             "billed_cost", "expected_cost", "difference", "currency", "status", "rule", "explanation", "bill_lines",
             "records", "unpriced"]  # fmt: skip
    columns = {**strings, **ints, **money}
    return pa.table({name: columns[name] for name in order})
