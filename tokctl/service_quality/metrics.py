"""Service quality from a usage table: requests, errors by class, latency, time to first token, throughput.

Definitions (documented for users in docs/quality.md):

- A request is one usage record. It is an error when its status is set and is not a success (``success``,
  ``ok``, ``completed``) or a client cancel (``canceled``), or when its HTTP status is 400 or more.
- Each error falls in exactly one class, first match wins: ``rate_limited`` (HTTP 429, status rate_limited,
  an error type naming a rate limit or quota), ``timeout`` (status timeout, HTTP 408 or 504, an error type
  naming a timeout), ``cut`` (status cut: a stream that ended before its last event), ``5xx`` (HTTP 500-599,
  or a server error type such as api_error / overloaded_error without a status code), ``4xx`` (the other
  HTTP 400-499, or a client error type), ``other`` (an error with no code or known type).
- availability = 1 - (5xx + timeout + cut) / requests: the share of requests the service did not fail on
  its side. Rate limits and other 4xx are the caller's quota or request, so they lower the error rate but
  not the availability. Client cancels count as requests and never as errors.
- latency = ts_end - ts_start; TTFT = ts_first_token - ts_start; output_tps = output_tokens /
  (ts_end - ts_first_token). All three are measured on successful requests only (a fast 429 is not a fast
  answer), and only where the record carries the timestamps: a record without timing is counted in
  ``requests`` and ``errors`` and left out of the percentiles, never filled in. ``accounting`` says how many.
- Windows are aligned to the UTC epoch (``1h`` windows start on the hour UTC, ``1d`` at 00:00 UTC) and a
  record falls in the window of its ts_start (its ts_end when the start is unknown).
- Percentiles: exact up to quantiles.EXACT_LIMIT values per group, a sketch with a stated relative
  error beyond (see tokctl/service_quality/quantiles.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tokctl.errors import UsageError
from tokctl.service_quality.quantiles import EXACT_LIMIT, SKETCH_RELATIVE_ERROR, group_percentiles
from tokctl.service_quality.sla import Clause, evaluate, parse_sla

ERROR_CLASSES = ("4xx", "5xx", "timeout", "rate_limited", "cut", "other")
SERVER_SIDE_CLASSES = ("5xx", "timeout", "cut")
SUCCESS_STATUSES = ("success", "ok", "completed", "succeeded")
CANCEL_STATUSES = ("canceled", "cancelled")
DEFAULT_BY = ("provider", "model")
GROUPABLE = (
    "provider",
    "model",
    "model_reported",
    "source_format",
    "project",
    "api_key_id",
    "user",
    "service_tier",
    "source_file",
)
PERCENTILES = {"latency": (0.5, 0.95, 0.99), "ttft": (0.5, 0.95), "output_tps": (0.5,)}
TIMING_COLUMNS = ("ts_start", "ts_end", "ts_first_token", "status", "http_status", "error_type", "output_tokens")
METRIC_KEYS = (
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "ttft_p50_s",
    "ttft_p95_s",
    "output_tps_p50",
)

_RATE_LIMIT_TYPES = r"rate.?limit|too.?many.?requests|quota|throttl"
_TIMEOUT_TYPES = r"time.?out|timed.?out|deadline"
_SERVER_TYPES = (
    r"^(api_error|server_error|internal|internal_error|overloaded|overloaded_error|service_unavailable|"
    r"unavailable)$"
)
_CLIENT_TYPES = (
    r"^(invalid_request|invalid_request_error|authentication_error|permission_error|not_found_error|"
    r"request_too_large|context_length_exceeded|bad_request|invalid_argument|permission_denied)$"
)
_WINDOW = re.compile(r"^(\d{1,9})(s|m|min|h|d|w)$")
_WINDOW_UNITS = {"s": "second", "m": "minute", "min": "minute", "h": "hour", "d": "day", "w": "week"}


@dataclass(frozen=True)
class Window:
    multiple: int
    unit: str  # a pyarrow.compute.floor_temporal unit
    text: str


def parse_window(text: str) -> Window:
    """``1h``, ``15m``, ``1d``, ``1w``, ``30s`` -> a Window aligned to the UTC epoch."""
    match = _WINDOW.match(text.strip().lower())
    # Past 100,000 units a window is longer than any log (and past int64 microseconds for weeks).
    if not match or not 0 < int(match.group(1)) <= 100_000:
        raise UsageError(
            f"window {text!r} is not a duration",
            fix="write a whole number from 1 to 100000 and a unit s, m, h, d or w, e.g. --window 1h",
        )
    return Window(int(match.group(1)), _WINDOW_UNITS[match.group(2)], text.strip().lower())


@dataclass
class QualityResult:
    by: tuple[str, ...]
    window: Window | None
    rows: list[dict[str, Any]]
    sla: list[dict[str, Any]]
    accounting: dict[str, Any]
    clauses: list[Clause] = field(default_factory=list)
    read_line: str | None = None  # the readers' accounting line, for stderr

    @property
    def sla_failed(self) -> bool:
        return any(entry["pass"] is False for entry in self.sla)

    def doc(self) -> dict[str, Any]:
        """The stable JSON document: {rows, sla, accounting}."""
        return {"rows": self.rows, "sla": self.sla, "accounting": self.accounting}


def measure_quality(
    table: Any,
    *,
    by: tuple[str, ...] | list[str] = DEFAULT_BY,
    window: str | None = None,
    sla: str | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> QualityResult:
    """Quality per group (and window) of a canonical usage table, with the SLA clauses checked per row."""
    import numpy as np

    by = _check_by(table, by)
    clauses = parse_sla(sla) if sla else []
    win = parse_window(window) if window else None
    n = table.num_rows
    group_ids, groups = _group_ids(table, by, win)
    n_groups = len(groups)
    klass = classify_errors(table)
    success = klass == ""
    rows = [dict(g) for g in groups]
    requests = np.bincount(group_ids, minlength=n_groups)
    class_counts = {c: np.bincount(group_ids, weights=(klass == c), minlength=n_groups) for c in ERROR_CLASSES}
    metrics = timing_metrics(table)
    percentiles = {}
    successful = int(np.count_nonzero(success))
    accounting: dict[str, Any] = {"records": n, "successful": successful}
    for name, qs in PERCENTILES.items():
        values = np.where(success, metrics[name], np.nan)
        percentiles[name] = group_percentiles(group_ids, values, n_groups, qs, exact_limit=exact_limit)
        timed = int(np.count_nonzero(~np.isnan(values)))
        accounting[f"{name}_samples"] = timed
        accounting[f"without_{name}"] = successful - timed
    accounting["percentiles"] = (
        f"exact up to {exact_limit:,} values per group, then a log-bucket sketch "
        f"within {SKETCH_RELATIVE_ERROR:.1%} relative error"
    )
    accounting["sketched_rows"] = 0
    for g, row in enumerate(rows):
        total = int(requests[g])
        errors = int(sum(class_counts[c][g] for c in ERROR_CLASSES))
        server = int(sum(class_counts[c][g] for c in SERVER_SIDE_CLASSES))
        row["requests"] = total
        row["errors"] = errors
        row["error_rate"] = errors / total
        for c in ERROR_CLASSES:
            row[f"error_rate_{c}"] = float(class_counts[c][g]) / total
        # interpolation leaves float noise below the data's microsecond resolution
        row["latency_p50_s"], row["latency_p95_s"], row["latency_p99_s"] = _rounded(percentiles["latency"], g)
        row["ttft_p50_s"], row["ttft_p95_s"] = _rounded(percentiles["ttft"], g)
        (row["output_tps_p50"],) = _rounded(percentiles["output_tps"], g)
        row["availability"] = 1 - server / total
        if any(p.sketched[g] for p in percentiles.values()):
            accounting["sketched_rows"] += 1
    keys = (*by, "window_start") if win else by
    rows.sort(key=lambda row: tuple((row[k] is None, row[k] if row[k] is not None else "") for k in keys))
    return QualityResult(by, win, rows, evaluate(rows, clauses, keys), accounting, clauses)


def _rounded(percentiles: Any, group: int) -> list[float | None]:
    return [None if v is None else round(v, 6) for v in percentiles.values[group]]


def _check_by(table: Any, by: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    from tokctl.errors import UnknownNameError

    keys = tuple(k.strip() for k in by if k.strip())
    for key in keys:
        if key not in GROUPABLE or (table is not None and key not in table.column_names):
            raise UnknownNameError(key, GROUPABLE, fix=f"group by any of {', '.join(GROUPABLE)} (comma-separated)")
    if len(set(keys)) != len(keys):
        raise UsageError(f"--by {','.join(keys)} names a column twice", fix="name each column once")
    return keys


def _group_ids(table: Any, by: tuple[str, ...], win: Window | None) -> tuple[Any, list[dict[str, Any]]]:
    """One int id per row and, per id, the group's key values (window_start included when windowed)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = []
    labels: list[list[Any]] = []
    for key in by:
        column = table.column(key).cast(pa.string())
        encoded = pc.dictionary_encode(column).combine_chunks()
        dictionary = encoded.dictionary.to_pylist()
        # null -> index len(dictionary): a group of its own, shown as null
        codes.append(encoded.indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False))
        labels.append([*dictionary, None])
    if win is not None:
        start = pc.coalesce(table.column("ts_start"), table.column("ts_end"))
        floored = pc.floor_temporal(start, multiple=win.multiple, unit=win.unit, week_starts_monday=True)
        micros = floored.cast(pa.int64()).fill_null(np.iinfo(np.int64).max).to_numpy(zero_copy_only=False)
        codes.append(micros)
    if not codes or table.num_rows == 0:
        ids = np.zeros(table.num_rows, dtype=np.int64)
        return ids, ([{}] if table.num_rows and not codes else [])
    unique, inverse = _combine(codes)
    groups = []
    for combo in unique:
        group: dict[str, Any] = {key: labels[i][combo[i]] for i, key in enumerate(by)}
        if win is not None:
            group["window_start"] = _micros_to_datetime(combo[-1])
        groups.append(group)
    return inverse.reshape(-1), groups


def _combine(codes: list[Any]) -> tuple[list[list[int]], Any]:
    """The distinct combinations of the code columns and each row's combination index.

    Columns are packed one at a time into a dense int64 rank (rank so far x distinct values + the column's
    rank, re-ranked), which never overflows; a 1-D unique is ten times faster than numpy's row-wise unique.
    """
    import numpy as np

    columns = [np.asarray(c, dtype=np.int64) for c in codes]
    packed = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        distinct, rank = np.unique(column, return_inverse=True)
        _, packed = np.unique(packed * len(distinct) + rank.reshape(-1), return_inverse=True)
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    combos = [[int(column[row]) for column in columns] for row in first.tolist()]
    return combos, inverse.reshape(-1)


def _micros_to_datetime(micros: int) -> Any:
    import datetime as dt

    import numpy as np

    if micros == np.iinfo(np.int64).max:
        return None
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)


def classify_errors(table: Any) -> Any:
    """Per row: "" for a non-error, else its error class (see the module docstring)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows

    def text(name: str) -> Any:
        if name not in table.column_names:
            return pa.nulls(n, pa.string())
        return pc.utf8_lower(table.column(name).cast(pa.string()))

    def flag(array: Any) -> Any:
        return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)

    status, error_type = text("status"), text("error_type")
    http = (
        table.column("http_status").cast(pa.int32()) if "http_status" in table.column_names else pa.nulls(n, pa.int32())
    )
    http_np = http.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int32)
    # OpenTelemetry's error.type is the HTTP status code as text when the error was an HTTP one
    coded = pc.if_else(pc.match_substring_regex(error_type, r"^[1-5]\d\d$"), error_type, None)
    coded_np = coded.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
    http_np = np.where(http_np == 0, coded_np, http_np)
    has_status = flag(pc.is_valid(status))
    ok_status = flag(pc.is_in(status, value_set=pa.array(SUCCESS_STATUSES)))
    canceled = flag(pc.is_in(status, value_set=pa.array(CANCEL_STATUSES)))
    has_type = flag(pc.is_valid(error_type))
    error = (has_status & ~ok_status & ~canceled) | (http_np >= 400) | (~has_status & (http_np == 0) & has_type)

    def type_matches(pattern: str) -> Any:
        return flag(pc.match_substring_regex(error_type, pattern))

    rate_limited = (http_np == 429) | flag(pc.equal(status, "rate_limited")) | type_matches(_RATE_LIMIT_TYPES)
    timeout = flag(pc.equal(status, "timeout")) | np.isin(http_np, (408, 504)) | type_matches(_TIMEOUT_TYPES)
    cut = flag(pc.equal(status, "cut"))
    server = (http_np >= 500) | ((http_np == 0) & type_matches(_SERVER_TYPES))
    client = ((http_np >= 400) & (http_np < 500)) | ((http_np == 0) & type_matches(_CLIENT_TYPES))
    klass = np.full(n, "", dtype=object)
    assigned = ~error
    for name, mask in (
        ("rate_limited", rate_limited),
        ("timeout", timeout),
        ("cut", cut),
        ("5xx", server),
        ("4xx", client),
        ("other", np.ones(n, dtype=bool)),
    ):
        take = mask & ~assigned
        klass[take] = name
        assigned |= take
    return klass


def timing_metrics(table: Any) -> dict[str, Any]:
    """Per row, as float arrays with NaN where unknown: latency and ttft in seconds, output tokens/s."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def seconds(later: str, earlier: str) -> Any:
        delta = pc.subtract(table.column(later), table.column(earlier)).cast(pa.int64())
        values = delta.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False) / 1e6
        # a clock that ran backwards is not a latency: leave it out rather than report a negative
        return np.where(values < 0, np.nan, values)

    latency = seconds("ts_end", "ts_start")
    ttft = seconds("ts_first_token", "ts_start")
    generating = seconds("ts_end", "ts_first_token")
    output = table.column("output_tokens").cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        tps = np.where((generating > 0) & (output > 0), output / generating, np.nan)
    return {"latency": latency, "ttft": ttft, "output_tps": tps}


def quality(
    paths: list[str] | str,
    *,
    source: str | None = None,
    by: tuple[str, ...] | list[str] = DEFAULT_BY,
    window: str | None = None,
    sla: str | None = None,
) -> QualityResult:
    """Read usage logs and measure quality per group (and window); see :func:`measure_quality`.

    >>> result = quality(["spendlogs.jsonl"], window="1h", sla="ttft_p95<=2s")  # doctest: +SKIP
    >>> result.sla_failed  # doctest: +SKIP
    False
    """
    from tokctl.ingest.read import read_table

    # Bad arguments fail before any file is read.
    if sla:
        parse_sla(sla)
    if window:
        parse_window(window)
    keys = _check_by(None, by)
    read = read_table([paths] if isinstance(paths, str) else list(paths), source, columns=[*keys, *TIMING_COLUMNS])
    result = measure_quality(read.table, by=keys, window=window, sla=sla)
    result.accounting["read"] = read.accounting.to_dict()
    result.read_line = read.accounting.line()
    return result
