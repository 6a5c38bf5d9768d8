"""Calibrations of estimate tokenizers, fitted from the user's billed counts by ``tokctl audit --calibrate``.

They live in the user config file (tokctl.paths.config_path(), TOML), one table per tokenizer id, beside
whatever else the file holds (``[[overrides]]`` ...), which is kept as written:

    [calibration."claude-estimate"]
    factor = "1.1712"          # billed tokens / base-tokenizer tokens (pooled over the records)
    ci_low = "1.1650"          # 95% bootstrap interval of the factor
    ci_high = "1.1771"
    samples = 120              # records the fit used
    fitted_at = 2026-11-27     # ISO date
    source = ["logs/spend.jsonl"]

An estimate tokenizer with a calibration counts base tokens x factor and shows the count as calibrated, with
the interval and the sample size (tokctl/tokenize/estimate.py).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tokctl.errors import InputFormatError

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
MIN_SAMPLES = 10
_QUANTUM = Decimal("0.0001")
_KEYS = ("factor", "ci_low", "ci_high", "samples", "fitted_at", "source")


@dataclass(frozen=True)
class Calibration:
    tokenizer: str
    factor: Decimal
    ci_low: Decimal
    ci_high: Decimal
    samples: int
    fitted_at: dt.date
    source: tuple[str, ...]

    @property
    def relative_half_width(self) -> Decimal:
        """The interval as a +/- fraction of the factor (the larger side)."""
        return (max(self.factor - self.ci_low, self.ci_high - self.factor) / self.factor).quantize(_QUANTUM)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "factor": self.factor,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "samples": self.samples,
            "fitted_at": self.fitted_at.isoformat(),
            "source": list(self.source),
        }


def load_calibrations(path: Path | None = None) -> dict[str, Calibration]:
    """Every calibration in the user config file, by tokenizer id; {} when the file or the table is absent.

    Cached on the file's modification time, so estimate counting can call it for every count.
    """
    from tokctl.paths import config_path

    path = Path(path) if path is not None else config_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    return dict(_load_cached(str(path), stat.st_mtime_ns, stat.st_size))


_CACHE: dict[tuple[str, int, int], dict[str, Calibration]] = {}


def _load_cached(path: str, mtime_ns: int, size: int) -> dict[str, Calibration]:
    key = (path, mtime_ns, size)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _parse(_read_toml(Path(path)).get("calibration", {}), path)
    return _CACHE[key]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputFormatError(
            f"config file is not valid TOML ({why})",
            where=str(path),
            fix="fix the line named, or move the file away to start afresh",
        ) from None


def _parse(table: Any, where: str) -> dict[str, Calibration]:
    if not isinstance(table, dict):
        raise InputFormatError(
            "[calibration] must be a table",
            where=where,
            fix='write [calibration."<tokenizer-id>"] tables (tokctl audit --calibrate does)',
        )
    return {
        tokenizer: _parse_one(tokenizer, raw, f"{where} [calibration.{tokenizer!r}]")
        for tokenizer, raw in table.items()
    }


def _parse_one(tokenizer: str, raw: Any, where: str) -> Calibration:
    fix = f"run 'tokctl audit LOG --calibrate' again, or delete the [calibration.\"{tokenizer}\"] table"
    if not isinstance(raw, dict) or set(raw) != set(_KEYS):
        keys = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise InputFormatError(f"a calibration needs exactly {', '.join(_KEYS)}; found {keys}", where=where, fix=fix)
    try:
        factor, low, high = (Decimal(str(raw[k])) for k in ("factor", "ci_low", "ci_high"))
    except InvalidOperation:
        raise InputFormatError("factor, ci_low and ci_high must be decimal strings", where=where, fix=fix) from None
    fitted = raw["fitted_at"]
    try:
        fitted_at = fitted if isinstance(fitted, dt.date) else dt.date.fromisoformat(str(fitted))
    except ValueError:
        raise InputFormatError(f"fitted_at {fitted!r} is not an ISO date", where=where, fix=fix) from None
    samples, source = raw["samples"], raw["source"]
    if not (isinstance(samples, int) and samples > 0) or not (low <= factor <= high) or factor <= 0:
        raise InputFormatError(
            "samples must be a positive integer and 0 < ci_low <= factor <= ci_high", where=where, fix=fix
        )
    if not isinstance(source, list) or not all(isinstance(s, str) for s in source):
        raise InputFormatError("source must be a list of paths", where=where, fix=fix)
    return Calibration(tokenizer, factor, low, high, samples, fitted_at, tuple(source))


def fit_factor(
    billed: Any,
    base: Any,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[Decimal, Decimal, Decimal]:
    """The factor sum(billed) / sum(base) and its bootstrap percentile interval over records.

    A pooled ratio weights each record by its length, which is what a count of a long document needs; the
    bootstrap resamples whole records, so it needs no assumption about how the per-record ratios spread.
    The seed is fixed: the same data gives the same interval.
    """
    import numpy as np

    billed = np.asarray(billed, dtype=np.float64)
    base = np.asarray(base, dtype=np.float64)
    n = len(billed)
    factor = billed.sum() / base.sum()
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    ratios = billed[picks].sum(axis=1) / base[picks].sum(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    low, high = min(low, factor), max(high, factor)
    return tuple(Decimal(repr(float(v))).quantize(_QUANTUM) for v in (factor, low, high))  # type: ignore[return-value]


def save_calibrations(calibrations: list[Calibration], path: Path | None = None) -> Path:
    """Write (or replace) these calibrations in the config file, keeping everything else in it as written."""
    from tokctl.atomic import write_atomic
    from tokctl.paths import config_path

    path = Path(path) if path is not None else config_path()
    before = _read_toml(path) if path.exists() else {}
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for calibration in calibrations:
        text = _drop_table(text, calibration.tokenizer)
    text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + "\n".join(_table(c) for c in calibrations)
    try:
        after = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        after = None
    expected = {k: v for k, v in before.items() if k != "calibration"}
    if after is None or {k: v for k, v in after.items() if k != "calibration"} != expected:
        raise InputFormatError(
            "cannot add the calibration without changing the rest of the config file",
            where=str(path),
            fix='move any calibration entries into [calibration."<tokenizer-id>"] tables of their own, then run again',
        )

    def write(fh: Any) -> None:
        fh.write(text)

    write_atomic(path, write)
    _CACHE.clear()
    return path


def _header(tokenizer: str) -> re.Pattern[str]:
    name = re.escape(tokenizer)
    return re.compile(rf"^\s*\[\s*calibration\s*\.\s*(\"{name}\"|'{name}'|{name})\s*\]\s*(#.*)?$")


def _drop_table(text: str, tokenizer: str) -> str:
    """Remove the [calibration."<tokenizer>"] table: its header line up to the next table header."""
    header = _header(tokenizer)
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        if header.match(line):
            skipping = True
            continue
        if skipping and line.lstrip().startswith("["):
            skipping = False
        if not skipping:
            kept.append(line)
    return "".join(kept)


def _table(c: Calibration) -> str:
    sources = ", ".join(_toml_string(s) for s in c.source)
    return (
        f"[calibration.{_toml_string(c.tokenizer)}]\n"
        f'factor = "{c.factor}"\nci_low = "{c.ci_low}"\nci_high = "{c.ci_high}"\n'
        f"samples = {c.samples}\nfitted_at = {c.fitted_at.isoformat()}\nsource = [{sources}]\n"
    )


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(ch if ch >= " " and ch != "\x7f" else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'
