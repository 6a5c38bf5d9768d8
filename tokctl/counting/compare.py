"""The same content across vendors: tokens, money, and cost per million characters.

A token is not the same unit everywhere, so the fair measure is the cost of the same characters. Each distinct
tokenizer runs once over the content, however many models share it. Amounts stay in each platform's currency;
a conversion is added only when asked, with its dated rate.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import tokenizers_registry
from tokctl.counting.api import Count, Tally, Target, TargetCounter, count_paths, finish_count, resolve_targets
from tokctl.errors import RegistryError, UnknownNameError, UsageError
from tokctl.tokenize import textio

MILLION = Decimal(1_000_000)
INPUT_KINDS = ("input", "cache_read", "cache_write", "cache_write_1h")


class UnknownPresetError(UnknownNameError):
    kind = "preset"


@dataclass
class CompareRow:
    model: str
    provider: str | None
    tokenizer: str
    accuracy: str
    error_band: Decimal | None
    tokens: int
    chars: int
    output_tokens: int
    requests: int
    input_cost: Decimal | None
    output_cost: Decimal | None
    currency: str | None
    context_window: int | None
    relative_tokens: float | None = None
    unpriced: str | None = None
    price_ref: str | None = None
    converted: dict[str, Any] | None = None

    @property
    def total_cost(self) -> Decimal | None:
        if self.input_cost is None or self.output_cost is None:
            return None
        return self.input_cost + self.output_cost

    @property
    def chars_per_token(self) -> float | None:
        return round(self.chars / self.tokens, 3) if self.tokens else None

    @property
    def cost_per_1m_chars(self) -> Decimal | None:
        """Input cost of one request per million characters of content."""
        if self.input_cost is None or not self.chars:
            return None
        per_request = self.input_cost / self.requests
        return (per_request * MILLION / self.chars).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)

    @property
    def fits_context(self) -> bool | None:
        if self.context_window is None:
            return None
        return self.tokens + self.output_tokens <= self.context_window

    @property
    def windows_needed(self) -> int | None:
        if self.context_window is None:
            return None
        return max(1, math.ceil(self.tokens / self.context_window))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "provider": self.provider,
            "tokenizer": self.tokenizer,
            "accuracy": self.accuracy,
            "tokens": self.tokens,
            "chars": self.chars,
            "chars_per_token": self.chars_per_token,
            "relative_tokens": self.relative_tokens,
            "output_tokens": self.output_tokens,
            "requests": self.requests,
            "input_cost": self.input_cost,
            "output_cost": self.output_cost,
            "total_cost": self.total_cost,
            "currency": self.currency,
            "cost_per_1m_chars": self.cost_per_1m_chars,
            "fits_context": self.fits_context,
            "context_window": self.context_window,
            "windows_needed": self.windows_needed,
            "price_ref": self.price_ref,
        }
        if self.accuracy == "estimate":
            out["error_band"] = self.error_band
        if self.unpriced:
            out["unpriced"] = self.unpriced
        if self.converted:
            out["converted"] = self.converted
        return out


@dataclass
class CompareResult:
    rows: list[CompareRow]
    baseline: str
    chars: int
    bytes: int
    at: dt.datetime
    fx: list[dict[str, Any]] = field(default_factory=list)
    currency: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.as_dict() for r in self.rows],
            "baseline": self.baseline,
            "chars": self.chars,
            "bytes": self.bytes,
            "at": self.at,
            "currency": self.currency,
            "fx": self.fx,
        }


@functools.cache
def presets() -> dict[str, dict[str, Any]]:
    path = tokenizers_registry.PRESETS
    if not path.is_file():
        return {}
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    found = raw.get("presets", {})
    for name, preset in found.items():
        if not isinstance(preset.get("models"), list) or not preset["models"]:
            raise RegistryError(f"preset {name!r} has no models list", where=str(path), fix="add models = [...]")
    return dict(found)


def preset_models(name: str) -> list[str]:
    known = presets()
    if name not in known:
        raise UnknownPresetError(name, known, fix="see tokenizers_registry/presets.toml")
    return list(known[name]["models"])


def _count(content: str | Sequence[str], targets: list[Target]) -> tuple[dict[tuple[Any, ...], Count], int, int]:
    """Counts per target; each distinct tokenizer runs once (the counter dedups engines)."""
    if isinstance(content, str):
        counter = TargetCounter(targets)
        tally = Tally(bytes=len(content.encode("utf-8")))
        chunks = list(textio.chunk_text(iter([content]), allow_space_cut=counter.allow_space_cut))
        for part in counter.count_batch(chunks):
            tally.merge(part)
        tally.bytes = len(content.encode("utf-8"))
        counts = [finish_count(t, tally) for t in targets]
        chars, nbytes = tally.chars, tally.bytes
    else:
        report = count_paths(list(content), [t.model for t in targets if t.model], [])
        if report.skipped and not report.files:
            raise UsageError(f"nothing to compare: {report.skipped[0].path}: {report.skipped[0].reason}")
        counts, chars, nbytes = report.totals, report.chars, report.bytes
    return {(c.model, c.provider): c for c in counts}, chars, nbytes


def _ratio(value: Decimal | float | str) -> Decimal:
    """A finite, non-negative ratio of output to input tokens, at most 10^6 (a million output tokens per input
    token is already beyond any model)."""
    try:
        ratio = Decimal(str(value).strip())
    except InvalidOperation:
        raise UsageError(f"--output-ratio {value!r} is not a number", fix="write e.g. --output-ratio 0.25") from None
    if not ratio.is_finite() or ratio < 0 or ratio > 1_000_000:
        raise UsageError(
            f"--output-ratio {value!r} must be a number from 0 to 1000000", fix="write e.g. --output-ratio 0.25"
        )
    return ratio


def _output_tokens(tokens: int, output_tokens: int | None, output_ratio: Decimal | None) -> int:
    if output_tokens is not None:
        return output_tokens
    if output_ratio is not None:
        return int((Decimal(tokens) * output_ratio).to_integral_value(rounding=ROUND_HALF_UP))
    return 0


def compare(
    content: str | Sequence[str | Path],
    models: Sequence[str] = (),
    *,
    preset: str | None = None,
    output_tokens: int | None = None,
    output_ratio: Decimal | float | str | None = None,
    requests: int = 1,
    currency: str | None = None,
    at: dt.datetime | None = None,
    baseline: str | None = None,
    batch: bool = False,
    service_tier: str | None = None,
    fx_file: Path | None = None,
) -> CompareResult:
    """Compare ``content`` (a string, or paths) across models: tokens, cost, and cost per 1M characters.

    >>> r = compare("hello world", ["gpt-4o", "deepseek-v4-pro"], output_tokens=100)   # doctest: +SKIP
    >>> [(row.model, row.tokens, row.currency) for row in r.rows]                    # doctest: +SKIP
    """
    from tokctl.pricing import Usage, price

    if output_tokens is not None and output_ratio is not None:
        raise UsageError("give --output-tokens or --output-ratio, not both")
    if requests < 1:
        raise UsageError(f"--requests must be at least 1, not {requests}")
    ratio = _ratio(output_ratio) if output_ratio is not None else None
    names = list(models) + (preset_models(preset) if preset else [])
    if not names:
        raise UsageError("no models to compare", fix="give -m MODEL (repeatable) or --preset NAME")
    targets = [t for t in resolve_targets(names) if t.model]
    moment = at or dt.datetime.now(dt.UTC)
    if isinstance(content, str):
        counts, chars, nbytes = _count(content, targets)
    else:
        counts, chars, nbytes = _count([str(p) for p in content], targets)
    rows = []
    for target in targets:
        count = counts[(target.model, target.provider)]
        out = _output_tokens(count.tokens, output_tokens, ratio)
        cost = price(
            Usage(input_tokens=count.tokens, output_tokens=out),
            target.model or "",
            target.provider,
            at=moment,
            service_tier=service_tier,
            batch=batch,
        )
        from tokctl.registry.catalog import resolve_model

        window = resolve_model(target.model or "", target.provider).model.context_window
        row = CompareRow(
            target.model or "",
            target.provider,
            count.tokenizer,
            count.accuracy,
            count.error_band,
            count.tokens,
            chars,
            out,
            requests,
            None,
            None,
            cost.currency,
            window,
        )
        if cost.priced:
            row.input_cost = sum((c.cost for c in cost.components if c.kind in INPUT_KINDS), Decimal(0)) * requests
            row.output_cost = sum((c.cost for c in cost.components if c.kind not in INPUT_KINDS), Decimal(0)) * requests
            row.price_ref = cost.price.ref if cost.price else None
        else:
            row.unpriced = f"{cost.unpriced}: {cost.reason}"
        rows.append(row)
    base_name = baseline or rows[0].model
    base = next((r for r in rows if r.model == base_name), None)
    if base is None:
        raise UsageError(f"--baseline {base_name!r} is not one of the compared models")
    for row in rows:
        row.relative_tokens = round(row.tokens / base.tokens, 4) if base.tokens else None
    fx = _convert(rows, currency, moment, fx_file) if currency else []
    rows.sort(key=functools.partial(_sort_key, currency=currency))
    return CompareResult(rows, base_name, chars, nbytes, moment, fx, currency.upper() if currency else None)


def _convert(rows: list[CompareRow], currency: str, at: dt.datetime, fx_file: Path | None) -> list[dict[str, Any]]:
    from tokctl.registry.fx import convert

    used: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row.total_cost is None or row.currency is None:
            continue
        total = convert(row.total_cost, row.currency, currency, at, fx_file)
        per_chars = row.cost_per_1m_chars
        row.converted = {
            "currency": total.currency,
            "total_cost": total.amount.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP),
            "cost_per_1m_chars": None
            if per_chars is None
            else (per_chars * total.rate).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP),
            "rate": total.rate,
            "rate_date": total.rate_date,
        }
        if row.currency == total.currency:
            continue
        used[(row.currency, total.currency)] = {
            "from": row.currency,
            "to": total.currency,
            "rate": total.rate,
            "rate_date": total.rate_date,
            "source": total.rate_source,
        }
    return list(used.values())


def _sort_key(row: CompareRow, currency: str | None) -> tuple[Any, ...]:
    if row.total_cost is None:
        return (2, "", Decimal(0), row.model)
    if currency and row.converted:
        return (0, "", row.converted["total_cost"], row.model)
    return (1 if currency else 0, row.currency or "", row.total_cost, row.model)
