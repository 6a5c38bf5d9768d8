"""Billed token counts against a local recount of the same request and response.

For every usage record whose log carries the request messages and the response text (tokctl/count_audit/log_content.py),
the input is recounted with the model's tokenizer and chat rules (tokctl.counting.chat.count_chat) and the visible
output with the tokenizer (output_tokens minus reasoning_tokens: reasoning is billed but not shown). Per model
and direction the drift (billed - local) / local is summarised (mean, standard deviation, range) and the
records beyond the tolerance are listed with file:line.

The tolerance is ``--tolerance`` for exact counts; for an estimate tokenizer it is at least the estimate's
error band (or its calibrated interval), so an estimate is flagged only where it is wrong beyond its own claim.

``calibrate=True`` fits, per estimate tokenizer, billed output tokens / base-tokenizer tokens of the response
text (tokctl.registry.calibration.fit_factor) and saves it to the user config. The output is used because it carries
no chat template: the ratio is the tokenizers' alone, which is what a count of a document needs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tokctl.count_audit.log_content import Content, contents_at
from tokctl.errors import TokctlError, UsageError

DEFAULT_TOLERANCE = 0.02
_FRACTION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


def parse_tolerance(text: str | float) -> float:
    """``2%`` or ``0.02`` -> 0.02."""
    if isinstance(text, int | float):
        value = float(text)
    else:
        match = _FRACTION.match(text)
        if not match:
            raise UsageError(f"tolerance {text!r} is not a fraction", fix="write e.g. --tolerance 2% or 0.02")
        value = float(match.group(1)) / (100 if match.group(2) else 1)
    if not 0 <= value < 1:
        raise UsageError(f"tolerance {text!r} is not between 0 and 100%", fix="write e.g. --tolerance 2%")
    return value


@dataclass
class Measure:
    """One record, one direction: billed against local."""

    file: str
    line: int
    record: str | None  # response or request id: tells apart the records of one line (an OTLP export)
    provider: str | None
    model: str
    direction: str  # input | output
    billed: int
    local: int
    tokenizer: str
    accuracy: str

    @property
    def drift(self) -> float:
        return 0.0 if self.billed == self.local else (self.billed - self.local) / self.local


@dataclass
class AuditResult:
    tolerance: float
    records: int
    models: list[dict[str, Any]]
    beyond: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    calibrations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    read_line: str | None = None  # the readers' accounting line, for stderr

    def doc(self) -> dict[str, Any]:
        return {
            "tolerance": self.tolerance,
            "records": self.records,
            "models": self.models,
            "beyond_tolerance": self.beyond,
            "skipped": self.skipped,
            "calibrations": self.calibrations,
        }


@dataclass
class _Work:
    measures: list[Measure] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # estimate tokenizer id -> [(billed visible output, base tokens, source file)]
    samples: dict[str, list[tuple[int, int, str]]] = field(default_factory=lambda: defaultdict(list))
    bands: dict[tuple[str | None, str], float] = field(default_factory=dict)
    outputs: list[tuple[dict[str, Any], list[str], Any]] = field(default_factory=list)  # (row, texts, target)


def audit(
    paths: list[str] | str,
    *,
    model: str | None = None,
    tolerance: str | float = DEFAULT_TOLERANCE,
    source: str | None = None,
    calibrate: bool = False,
) -> AuditResult:
    """Recount what the logs carry and compare with the billed counts; optionally calibrate estimates.

    >>> result = audit(["examples/audit/requests.jsonl"], tolerance="2%")  # doctest: +SKIP
    >>> [(b["location"], b["direction"]) for b in result.beyond]  # doctest: +SKIP
    """
    from tokctl.ingest.read import read_table

    limit = parse_tolerance(tolerance)
    read = read_table([paths] if isinstance(paths, str) else list(paths), source, columns=_COLUMNS)
    result = audit_table(read.table, model=model, tolerance=limit, calibrate=calibrate)
    result.read_line = read.accounting.line()
    return result


def calibrate(paths: list[str] | str, *, model: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
    """Fit and save the calibration of every estimate tokenizer the logs allow; returns what was saved."""
    return audit(paths, model=model, source=source, calibrate=True).calibrations


def audit_table(
    table: Any, *, model: str | None = None, tolerance: float = DEFAULT_TOLERANCE, calibrate: bool = False
) -> AuditResult:
    rows = _rows(table, model)
    work = _Work()
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["source_file"] is None or row["source_line"] is None:
            work.skipped["no source file:line in the record"].append("-")
        else:
            by_file[row["source_file"]].append(row)
    for path, file_rows in by_file.items():
        try:
            found = contents_at(path, [r["source_line"] for r in file_rows])
        except OSError as exc:
            for r in file_rows:
                work.skipped[f"cannot re-open the source file ({exc.strerror})"].append(_where(r))
            continue
        for row in file_rows:
            _measure(row, _pick(found.get(row["source_line"], []), row), work)
    _count_outputs(work)
    result = _summarise(work, tolerance, len(rows))
    if calibrate:
        result.calibrations, notes = _calibrate(work)
        result.notes.extend(notes)
    return result


_COLUMNS = (
    "source_file",
    "source_line",
    "provider",
    "model",
    "model_reported",
    "request_id",
    "response_id",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def _rows(table: Any, model: str | None) -> list[dict[str, Any]]:
    import pyarrow as pa

    present = [c for c in _COLUMNS if c in table.column_names]
    rows = table.select(present).cast(pa.schema([pa.field(c, _plain(table.schema.field(c).type)) for c in present]))
    records = rows.to_pylist()
    if model is None:
        return records
    from tokctl.registry.catalog import resolve_model

    wanted = {model.lower(), resolve_model(model).model.id.lower()}
    return [
        r
        for r in records
        if str(r.get("model") or "").lower() in wanted or str(r.get("model_reported") or "").lower() in wanted
    ]


def _plain(arrow_type: Any) -> Any:
    import pyarrow as pa

    return pa.string() if pa.types.is_dictionary(arrow_type) else arrow_type


def _where(row: dict[str, Any]) -> str:
    return f"{row['source_file']}:{row['source_line']}"


def _pick(candidates: list[Content], row: dict[str, Any]) -> Content | None:
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    ids = {str(row[k]) for k in ("response_id", "request_id") if row.get(k)}
    matching = [c for c in candidates if c.ids & ids]
    return matching[0] if len(matching) == 1 else None


def _measure(row: dict[str, Any], content: Content | None, work: _Work) -> None:
    where = _where(row)
    if content is None:
        work.skipped["the record's content could not be found at its file:line"].append(where)
        return
    if not row.get("model"):
        work.skipped["model not in the registry"].append(where)
        return
    try:
        target = _target(row["model"], row.get("provider"))
    except TokctlError as exc:
        work.skipped[f"cannot count for {row['model']}: {exc.what}"].append(where)
        return
    _measure_input(row, content, target, work)
    _measure_output(row, content, target, work)


def _target(model: str, provider: str | None) -> Any:
    from tokctl.counting.api import resolve_targets

    return resolve_targets([model], [], provider)[0]


def _measure_input(row: dict[str, Any], content: Content, target: Any, work: _Work) -> None:
    from tokctl.counting.chat import count_chat

    where = _where(row)
    if content.messages is None:
        work.skipped[f"input: {content.input_note}"].append(where)
        return
    if row.get("input_tokens") is None:
        work.skipped["input: no billed input tokens"].append(where)
        return
    counted = count_chat(content.messages, model=row["model"], tools=content.tools, provider=row.get("provider"))
    _add(work, row, "input", row["input_tokens"], counted.tokens, target, counted.accuracy)


def _measure_output(row: dict[str, Any], content: Content, target: Any, work: _Work) -> None:
    where = _where(row)
    if content.output_texts is None:
        work.skipped[f"output: {content.output_note}"].append(where)
        return
    if row.get("output_tokens") is None:
        work.skipped["output: no billed output tokens"].append(where)
        return
    # counted later, all the texts of one tokenizer in one call
    work.outputs.append((row, [t for t in content.output_texts if t], target))


def _count_outputs(work: _Work) -> None:
    """Count every pending output per tokenizer in one call (a call per record costs a thread pool each)."""
    from tokctl.counting.api import Target, count_texts
    from tokctl.registry.tokenizers import get_tokenizer

    by_target: dict[tuple[str | None, str], list[tuple[dict[str, Any], list[str], Any]]] = defaultdict(list)
    for pending in work.outputs:
        by_target[(pending[0].get("provider"), pending[0]["model"])].append(pending)
    for pendings in by_target.values():
        target = pendings[0][2]
        flat = [text for _, texts, _ in pendings for text in texts]
        counts: Iterator[int] = iter(count_texts(flat, target) if flat else [])
        base_counts: Iterator[int] = iter([])
        if target.tokenizer.is_estimate and flat:
            base_counts = iter(count_texts(flat, Target(None, None, get_tokenizer(target.tokenizer.base))))
        accuracy = "estimate" if target.tokenizer.is_estimate else "exact"
        for row, texts, _ in pendings:
            billed = row["output_tokens"] - (row.get("reasoning_tokens") or 0)
            _add(work, row, "output", billed, sum(next(counts) for _ in texts), target, accuracy)
            if target.tokenizer.is_estimate and texts:
                base = sum(next(base_counts) for _ in texts)
                if base > 0:
                    work.samples[target.tokenizer.id].append((billed, base, row["source_file"]))
    work.outputs.clear()


def _add(work: _Work, row: dict[str, Any], direction: str, billed: int, local: int, target: Any, accuracy: str) -> None:
    if local == 0 and billed != 0:
        work.skipped[f"{direction}: no text to recount"].append(_where(row))
        return
    key = (row.get("provider"), row["model"])
    if key not in work.bands:
        work.bands[key] = _estimate_band(target)
    work.measures.append(
        Measure(
            row["source_file"],
            row["source_line"],
            row.get("response_id") or row.get("request_id"),
            row.get("provider"),
            row["model"],
            direction,
            billed,
            local,
            target.tokenizer.id,
            accuracy,
        )
    )


def _estimate_band(target: Any) -> float:
    """The error an estimate claims for itself: its calibrated interval if any, else its manifest band."""
    if not target.tokenizer.is_estimate:
        return 0.0
    from tokctl.registry.calibration import load_calibrations

    calibration = load_calibrations().get(target.tokenizer.id)
    if calibration is not None:
        return float(calibration.relative_half_width)
    return float(target.tokenizer.error_band or 0)


def _summarise(work: _Work, tolerance: float, records: int) -> AuditResult:
    groups: dict[tuple[str | None, str, str], list[Measure]] = defaultdict(list)
    for m in work.measures:
        groups[(m.provider, m.model, m.direction)].append(m)
    models: list[dict[str, Any]] = []
    beyond: list[dict[str, Any]] = []
    for (provider, model, direction), measures in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), *kv[0][1:])):
        limit = max(tolerance, work.bands[(provider, model)])
        drifts = [m.drift for m in measures]
        flagged = [m for m in measures if abs(m.drift) > limit + 1e-12]
        models.append(
            {
                "provider": provider,
                "model": model,
                "direction": direction,
                "tokenizer": measures[0].tokenizer,
                "accuracy": "exact" if all(m.accuracy == "exact" for m in measures) else "estimate",
                "records": len(measures),
                "billed_tokens": sum(m.billed for m in measures),
                "local_tokens": sum(m.local for m in measures),
                "mean_drift": statistics.fmean(drifts),
                "stdev_drift": statistics.stdev(drifts) if len(drifts) > 1 else 0.0,
                "min_drift": min(drifts),
                "max_drift": max(drifts),
                "tolerance": limit,
                "beyond_tolerance": len(flagged),
            }
        )
        beyond.extend(
            {
                "location": f"{m.file}:{m.line}",
                "record": m.record,
                "provider": provider,
                "model": model,
                "direction": direction,
                "billed": m.billed,
                "local": m.local,
                "drift": m.drift,
            }
            for m in flagged
        )
    beyond.sort(key=lambda b: (b["location"].rsplit(":", 1)[0], int(b["location"].rsplit(":", 1)[1]), b["direction"]))
    skipped = [
        {"reason": reason, "count": len(where), "first": where[0]}
        for reason, where in sorted(work.skipped.items(), key=lambda kv: -len(kv[1]))
    ]
    return AuditResult(tolerance, records, models, beyond, skipped)


def _calibrate(work: _Work) -> tuple[list[dict[str, Any]], list[str]]:
    from tokctl.registry.calibration import MIN_SAMPLES, Calibration, fit_factor, save_calibrations

    fitted, notes = [], []
    for tokenizer, samples in sorted(work.samples.items()):
        if len(samples) < MIN_SAMPLES:
            notes.append(f"{tokenizer}: {len(samples)} records with response text, {MIN_SAMPLES} needed to calibrate")
            continue
        factor, low, high = fit_factor([s[0] for s in samples], [s[1] for s in samples])
        sources = tuple(sorted({os.path.abspath(s[2]) for s in samples}))
        fitted.append(Calibration(tokenizer, factor, low, high, len(samples), dt.date.today(), sources))
    if not fitted:
        if not work.samples:
            notes.append("no record of an estimate tokenizer carries response text: nothing to calibrate")
        return [], notes
    path = save_calibrations(fitted)
    notes.append(f"saved {len(fitted)} calibration(s) to {path}")
    return [_calibration_row(c) for c in fitted], notes


def _calibration_row(c: Any) -> dict[str, Any]:
    row = c.as_dict()
    row["interval"] = f"±{c.relative_half_width * 100:.2f}%"
    row["factor"], row["ci_low"], row["ci_high"] = (Decimal(row[k]) for k in ("factor", "ci_low", "ci_high"))
    return row
