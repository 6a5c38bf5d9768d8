"""Shapes count results into a Report for the renderer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tokctl.counting.api import Count, CountReport
from tokctl.render import Column, Report, Section, warn


def accuracy_label(count: Count) -> str:
    if count.accuracy != "estimate":
        return count.accuracy
    band = f" ±{(count.error_band or Decimal(0)) * 100:.0f}%"
    return ("estimate (calibrated)" if count.calibration else "estimate") + band


def _row(count: Count, chars: int, path: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if path is not None:
        row["path"] = path
    row.update(
        {
            "model": count.model or "-",
            "provider": count.provider,
            "tokenizer": count.tokenizer,
            "accuracy": accuracy_label(count),
            "tokens": count.tokens,
            "chars": chars,
            "chars_per_token": round(chars / count.tokens, 2) if count.tokens else None,
        }
    )
    return row


_COLUMNS = [
    Column("model", "model"),
    Column("provider", "provider"),
    Column("tokenizer", "tokenizer"),
    Column("accuracy", "accuracy"),
    Column("tokens", "tokens", numeric=True),
    Column("chars", "chars", numeric=True),
    Column("chars_per_token", "chars/token", numeric=True),
]


def count_report(result: CountReport, by: str) -> Report:
    for f in result.files:
        if f.invalid_bytes:
            warn(f"{f.path}: {f.invalid_bytes} invalid {f.encoding} byte(s) replaced with U+FFFD")
    for s in result.skipped:
        warn(f"{s.path}: skipped: {s.reason}")
    notes = sorted({c.note for c in result.totals if c.note})
    if by == "file":
        rows = [_row(c, f.chars, f.path) for f in result.files for c in f.counts]
        columns = [Column("path", "path"), *_COLUMNS]
    else:
        rows = [_row(c, result.chars) for c in result.totals]
        columns = _COLUMNS
    sections = []
    if result.skipped:
        sections.append(
            Section(
                "skipped",
                [Column("path", "path"), Column("reason", "reason")],
                [{"path": s.path, "reason": s.reason} for s in result.skipped],
            )
        )
    files = len(result.files)
    title = f"{files} file{'s' if files != 1 else ''}, {result.bytes:,} bytes"
    estimate_notes = [_estimate_note(c) for c in result.totals if c.accuracy == "estimate"]
    return Report(
        doc=result.as_dict(),
        rows=rows,
        columns=columns,
        title=title,
        notes=notes + [f"estimate: {n}" for n in dict.fromkeys(estimate_notes)],
        sections=sections,
    )


def exit_code(result: CountReport) -> int:
    """0: everything counted; 1: some inputs skipped; 2: nothing could be counted."""
    if not result.files:
        return 2
    return 1 if result.skipped else 0


def chat_report(result: Any) -> Report:
    rows = [r.as_row() for r in result.rows]
    columns = [
        Column("model", "model"),
        Column("tokenizer", "tokenizer"),
        Column("accuracy", "accuracy"),
        Column("messages", "messages", numeric=True),
        Column("content_tokens", "content tokens", numeric=True),
        Column("overhead_tokens", "overhead", numeric=True),
        Column("tools_tokens", "tools", numeric=True),
        Column("tokens", "prompt tokens", numeric=True),
        Column("rule", "chat rule"),
    ]
    return Report(doc=result.as_dict(), rows=rows, columns=columns, title=f"chat: {result.path}")


def _estimate_note(count: Count) -> str:
    from tokctl.registry.tokenizers import get_tokenizer

    if count.calibration:
        return f"{count.tokenizer}: {count.basis}"
    tok = get_tokenizer(count.tokenizer)
    factors = ", ".join(f"{k} x{v}" for k, v in tok.factor.items())
    return (
        f"{tok.id} = {tok.base} count x per-script factor ({factors}), ±{(tok.error_band or 0) * 100:.0f}%; "
        f"basis: tokenizers_registry/tokenizers/{tok.path.name} (or --format json)"
    )
