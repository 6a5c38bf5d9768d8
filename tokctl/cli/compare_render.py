"""Shapes a compare result into a Report, with a bar chart of cost per 1M characters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tokctl.counting.compare import CompareResult, CompareRow
from tokctl.render import Column, Report

BAR_WIDTH = 40


def _accuracy(row: CompareRow) -> str:
    if row.accuracy == "estimate":
        return f"estimate ±{(row.error_band or Decimal(0)) * 100:.0f}%"
    return row.accuracy


def _money(amount: Decimal | None, places: str = "0.000001") -> Decimal | None:
    return None if amount is None else amount.quantize(Decimal(places))


def _row(row: CompareRow) -> dict[str, Any]:
    label = row.model if "/" in row.model or not row.provider else f"{row.provider}/{row.model}"
    out: dict[str, Any] = {
        "label": label,
        "model": row.model,
        "provider": row.provider,
        "tokenizer": row.tokenizer,
        "accuracy": _accuracy(row),
        "tokens": row.tokens,
        "relative_tokens": row.relative_tokens,
        "chars_per_token": row.chars_per_token,
        "input_cost": _money(row.input_cost),
        "output_cost": _money(row.output_cost),
        "total_cost": _money(row.total_cost),
        "currency": row.currency,
        "cost_per_1m_chars": row.cost_per_1m_chars,
        "fits_context": "yes"
        if row.fits_context
        else (None if row.fits_context is None else f"no ({row.windows_needed} windows)"),
    }
    if row.converted:
        out["converted_total"] = row.converted["total_cost"]
        out["converted_per_1m_chars"] = row.converted["cost_per_1m_chars"]
    if row.unpriced:
        out["total_cost"] = "unpriced"
    return out


def compare_report(result: CompareResult) -> Report:
    columns = [
        Column("label", "model"),
        Column("tokenizer", "tokenizer"),
        Column("accuracy", "accuracy"),
        Column("tokens", "tokens", True),
        Column("relative_tokens", "ratio", True),
        Column("input_cost", "input cost", True),
        Column("output_cost", "output cost", True),
        Column("total_cost", "total", True),
        Column("currency", "cur"),
        Column("cost_per_1m_chars", "per 1M chars", True),
        Column("fits_context", "fits"),
    ]
    if result.currency:
        columns += [
            Column("converted_total", f"total {result.currency}", True),
            Column("converted_per_1m_chars", f"per 1M chars {result.currency}", True),
        ]
    rows = [_row(r) for r in result.rows]
    notes = [
        f"{result.chars:,} characters, {result.bytes:,} bytes; prices at {result.at.isoformat()}; "
        f"ratio = tokens / tokens of {result.baseline}"
    ]
    notes += [
        f"rate: 1 {fx['from']} = {fx['rate']} {fx['to']} on {fx['rate_date']} ({fx['source']})" for fx in result.fx
    ]
    notes += [f"{r.model}: unpriced ({r.unpriced})" for r in result.rows if r.unpriced]
    return Report(
        doc=result.as_dict(),
        rows=rows,
        columns=columns,
        title="compare",
        notes=notes,
        extra=lambda console: _chart(console, result),
    )


def _chart(console: Any, result: CompareResult) -> None:
    """Bars of cost per 1M characters, scaled within each currency."""
    values: list[tuple[str, str, Decimal]] = []
    for row in result.rows:
        if result.currency and row.converted and row.converted["cost_per_1m_chars"] is not None:
            values.append((row.model, result.currency, row.converted["cost_per_1m_chars"]))
        elif row.cost_per_1m_chars is not None and not result.currency:
            values.append((row.model, row.currency or "", row.cost_per_1m_chars))
    if not values:
        return
    console.print("cost per 1M characters of input", markup=False)
    width = max(len(name) for name, _, _ in values)
    top: dict[str, Decimal] = {}
    for _, cur, value in values:
        top[cur] = max(top.get(cur, Decimal(0)), value)
    for name, cur, value in values:
        length = int(value / top[cur] * BAR_WIDTH) if top[cur] else 0
        console.print(
            f"{name:<{width}} {'█' * max(length, 1 if value else 0):<{BAR_WIDTH}} {value} {cur}", markup=False
        )
