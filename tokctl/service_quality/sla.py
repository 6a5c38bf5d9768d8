"""SLA expressions: ``ttft_p95<=2s,latency_p99<=30s,error_rate<=1%,output_tps_p50>=30``.

A clause is METRIC OP NUMBER[UNIT], clauses separated by commas. Metrics and their units:

- latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95: a duration, ``s`` or ``ms`` (required);
- output_tps_p50: output tokens per second, a plain number (``tok/s`` or ``/s`` may follow);
- error_rate, error_rate_4xx, error_rate_5xx, error_rate_timeout, error_rate_rate_limited, error_rate_cut,
  error_rate_other, availability: a fraction, ``1%`` or ``0.01``.

OP is one of ``<=``, ``<``, ``>=``, ``>``. A row with no value for the metric (no timed request in the group)
neither passes nor fails: its ``pass`` is null.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokctl.errors import UsageError

_DURATION_METRICS = ("latency_p50", "latency_p95", "latency_p99", "ttft_p50", "ttft_p95")
_RATE_METRICS = ("output_tps_p50",)
_FRACTION_METRICS = (
    "error_rate",
    "error_rate_4xx",
    "error_rate_5xx",
    "error_rate_timeout",
    "error_rate_rate_limited",
    "error_rate_cut",
    "error_rate_other",
    "availability",
)
METRICS = (*_DURATION_METRICS, *_RATE_METRICS, *_FRACTION_METRICS)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
_CLAUSE = re.compile(
    r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>|=<|=>|==|=)\s*([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)\s*([a-z%/]*)\s*$",
    re.IGNORECASE,
)
_FIX = "write e.g. --sla 'ttft_p95<=2s,latency_p99<=30s,error_rate<=1%,output_tps_p50>=30'"


@dataclass(frozen=True)
class Clause:
    text: str  # normalised, e.g. "ttft_p95<=2s"
    metric: str  # the row key it reads, e.g. "ttft_p95_s"
    op: str
    threshold: float  # in the row's unit: seconds, a fraction, tokens per second

    def check(self, value: float | None) -> bool | None:
        return None if value is None else _OPS[self.op](value, self.threshold)


def parse_sla(expression: str) -> list[Clause]:
    """Parse a comma-separated SLA expression; a bad clause is a one-line UsageError saying how to fix it."""
    clauses = [_parse_clause(part) for part in expression.split(",") if part.strip()]
    if not clauses:
        raise UsageError("--sla is empty", fix=_FIX)
    return clauses


def _parse_clause(text: str) -> Clause:
    match = _CLAUSE.match(text)
    if not match:
        raise UsageError(
            f"SLA clause {text.strip()!r} is not METRIC OP NUMBER[UNIT]", fix=f"use <=, <, >= or >; {_FIX}"
        )
    name, op, number, unit = (
        match.group(1).lower(),
        match.group(2),
        float(match.group(3)),
        match.group(4).lower(),
    )
    if op in ("=<", "=>", "=", "=="):
        raise UsageError(f"SLA clause {text.strip()!r}: operator {op!r} is not supported", fix="use <=, <, >= or >")
    if name.endswith("_s") and name[:-2] in _DURATION_METRICS:
        name = name[:-2]
    if name not in METRICS:
        from difflib import get_close_matches

        close = get_close_matches(name, METRICS, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(
            f"SLA clause {text.strip()!r}: unknown metric {name!r}",
            fix=f"{hint}metrics: {', '.join(METRICS)}",
        )
    threshold, metric = _convert(name, number, unit, text.strip())
    return Clause(f"{name}{op}{match.group(3)}{unit}", metric, op, threshold)


def _convert(name: str, number: float, unit: str, text: str) -> tuple[float, str]:
    if name in _DURATION_METRICS:
        if unit not in ("s", "ms"):
            raise UsageError(
                f"SLA clause {text!r}: {name} needs a unit s or ms",
                fix=f"write e.g. {name}<=2s or {name}<=2000ms",
            )
        return (number / 1000 if unit == "ms" else number), f"{name}_s"
    if name in _RATE_METRICS:
        if unit not in ("", "tok/s", "/s"):
            raise UsageError(
                f"SLA clause {text!r}: {name} is in output tokens per second",
                fix=f"write a plain number, e.g. {name}>=30",
            )
        return number, name
    if unit == "%":
        return number / 100, name
    if unit == "" and number <= 1:
        return number, name
    raise UsageError(
        f"SLA clause {text!r}: {name} is a fraction",
        fix=f"write a percentage or a fraction, e.g. {name}<=1% or {name}<=0.01",
    )


def evaluate(rows: list[dict[str, Any]], clauses: list[Clause], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One entry per row and clause: {keys..., clause, value, pass}."""
    results = []
    for row in rows:
        for clause in clauses:
            value = row.get(clause.metric)
            entry = {key: row.get(key) for key in keys}
            entry.update(clause=clause.text, value=value, **{"pass": clause.check(value)})
            results.append(entry)
    return results
