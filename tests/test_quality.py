"""tokctl.service_quality (metrics, quantiles, sla) on usage tables with known timings.

Expected percentiles come from numpy.percentile and statistics.quantiles (both independent of tokctl's
vectorised interpolation); expected error classes and availability are worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokctl.errors import TokctlError, UsageError
from tokctl.schema import usage_schema
from tokctl.service_quality.metrics import classify_errors, measure_quality, parse_window
from tokctl.service_quality.quantiles import SKETCH_RELATIVE_ERROR, LogBucketSketch, group_percentiles
from tokctl.service_quality.sla import parse_sla

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def record(i: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "record_id": f"r{i}",
        "source_format": "test",
        "token_basis": "reported",
        "provider": "openai",
        "model": "gpt-4o",
        "status": "success",
    }
    base.update(fields)
    return base


def table(records: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(records, schema=usage_schema())


def timed(i: int, start: dt.datetime, latency: float, ttft: float | None, output: int | None, **f: object) -> dict:
    first = None if ttft is None else start + dt.timedelta(seconds=ttft)
    return record(
        i,
        ts_start=start,
        ts_end=start + dt.timedelta(seconds=latency),
        ts_first_token=first,
        output_tokens=output,
        **f,
    )


def generated(seed: int = 7, n: int = 400) -> tuple[pa.Table, dict[str, dict[str, list[float]]]]:
    """Two models with lognormal latencies at millisecond resolution; returns the table and the truth."""
    rng = random.Random(seed)
    records, truth = (
        [],
        {"gpt-4o": {"lat": [], "ttft": [], "tps": []}, "gpt-4o-mini": {"lat": [], "ttft": [], "tps": []}},
    )
    for i in range(n):
        model = "gpt-4o" if i % 3 else "gpt-4o-mini"
        start = T0 + dt.timedelta(seconds=37 * i)
        ttft_ms = int(rng.lognormvariate(-1.0, 0.5) * 1000) + 1
        gen_ms = int(rng.lognormvariate(1.0, 0.6) * 1000) + 1
        output = rng.randint(20, 800)
        records.append(timed(i, start, (ttft_ms + gen_ms) / 1000, ttft_ms / 1000, output, model=model))
        truth[model]["lat"].append((ttft_ms + gen_ms) / 1000)
        truth[model]["ttft"].append(ttft_ms / 1000)
        truth[model]["tps"].append(output / (gen_ms / 1000))
    return table(records), truth


def test_percentiles_match_numpy_and_statistics() -> None:
    data, truth = generated()
    result = measure_quality(data)
    assert [(r["provider"], r["model"]) for r in result.rows] == [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
    ]
    for row in result.rows:
        lat, ttft, tps = (truth[row["model"]][k] for k in ("lat", "ttft", "tps"))
        assert row["requests"] == len(lat)
        for q, key in ((50, "latency_p50_s"), (95, "latency_p95_s"), (99, "latency_p99_s")):
            assert row[key] == pytest.approx(float(np.percentile(lat, q)), abs=1e-6)
        # statistics.quantiles(method="inclusive") is the same definition, computed another way
        cuts = statistics.quantiles(ttft, n=20, method="inclusive")
        assert row["ttft_p50_s"] == pytest.approx(cuts[9], abs=1e-6)
        assert row["ttft_p95_s"] == pytest.approx(cuts[18], abs=1e-6)
        assert row["output_tps_p50"] == pytest.approx(statistics.median(tps), abs=1e-6)
        assert row["errors"] == 0 and row["error_rate"] == 0 and row["availability"] == 1


def test_windows_split_by_utc_hour() -> None:
    data, _ = generated(n=300)  # 37 s apart: 300 records span a little over 3 hours from 09:00
    result = measure_quality(data, by=["model"], window="1h")
    starts = sorted({r["window_start"] for r in result.rows})
    assert starts == [T0 + dt.timedelta(hours=h) for h in range(4)]
    assert sum(r["requests"] for r in result.rows) == 300
    first_hour = [r for r in result.rows if r["window_start"] == T0]
    assert sum(r["requests"] for r in first_hour) == math.ceil(3600 / 37)
    latencies = data.column("ts_end").to_pylist()
    starts_col = data.column("ts_start").to_pylist()
    models = data.column("model").to_pylist()
    expected = [
        (e - s).total_seconds()
        for e, s, m in zip(latencies, starts_col, models, strict=True)
        if s < T0 + dt.timedelta(hours=1) and m == "gpt-4o"
    ]
    row = next(r for r in first_hour if r["model"] == "gpt-4o")
    assert row["latency_p95_s"] == pytest.approx(float(np.percentile(expected, 95)))


def test_error_classes_and_availability() -> None:
    start = T0
    records = [
        timed(0, start, 1.0, 0.2, 10),
        record(1, status="error", http_status=429),
        record(2, status="rate_limited"),
        record(3, status="error", http_status=503),
        record(4, status="error", http_status=529, error_type="overloaded_error"),
        record(5, status="timeout"),
        record(6, status="error", http_status=504),
        record(7, status="cut", ts_start=start, ts_end=start + dt.timedelta(seconds=9)),
        record(8, status="error", http_status=400, error_type="invalid_request_error"),
        record(9, status="error", error_type="api_error"),
        record(10, status="error"),
        record(11, status="canceled"),
        record(12, status=None, http_status=None),  # nothing reported: not an error
        record(13, status=None, http_status=500),
        record(14, status="error", error_type="500"),  # OpenTelemetry error.type: the status code as text
    ]
    klass = list(classify_errors(table(records)))
    expected = ["", "rate_limited", "rate_limited", "5xx", "5xx", "timeout", "timeout", "cut", "4xx", "5xx"]
    assert klass == [*expected, "other", "", "", "5xx", "5xx"]
    (row,) = measure_quality(table(records)).rows
    assert row["requests"] == 15 and row["errors"] == 12
    assert row["error_rate"] == pytest.approx(12 / 15)
    assert row["error_rate_5xx"] == pytest.approx(5 / 15)
    assert row["error_rate_rate_limited"] == pytest.approx(2 / 15)
    # server side: five 5xx, two timeouts, one cut stream
    assert row["availability"] == pytest.approx(1 - 8 / 15)
    # only the one successful timed record is measured; the cut stream's 9 s is not a latency
    assert row["latency_p99_s"] == 1.0


def test_records_without_timing_are_counted_not_measured() -> None:
    records = [timed(0, T0, 2.0, None, 50), record(1), record(2, ts_start=T0)]
    result = measure_quality(table(records))
    (row,) = result.rows
    assert row["requests"] == 3
    assert row["latency_p50_s"] == 2.0 and row["ttft_p50_s"] is None and row["output_tps_p50"] is None
    acc = result.accounting
    assert (acc["latency_samples"], acc["without_latency"], acc["without_ttft"]) == (1, 2, 3)


def test_negative_durations_are_left_out() -> None:
    records = [record(0, ts_start=T0, ts_end=T0 - dt.timedelta(seconds=1)), timed(1, T0, 3.0, 1.0, 20)]
    (row,) = measure_quality(table(records)).rows
    assert row["latency_p50_s"] == 3.0
    assert row["output_tps_p50"] == pytest.approx(10.0)


def test_empty_table_and_no_grouping() -> None:
    assert measure_quality(table([])).rows == []
    data, _ = generated(n=30)
    (row,) = measure_quality(data, by=[]).rows
    assert row["requests"] == 30 and "model" not in row


def test_null_model_is_its_own_group() -> None:
    records = [timed(0, T0, 1.0, 0.5, 10), timed(1, T0, 2.0, 0.5, 10, model=None)]
    rows = measure_quality(table(records)).rows
    assert [r["model"] for r in rows] == ["gpt-4o", None]


def test_unknown_group_column_is_an_error() -> None:
    with pytest.raises(TokctlError, match="did you mean model"):
        measure_quality(table([record(0)]), by=["modle"])


@pytest.mark.parametrize("text", ["1x", "0h", "h", "-1h", "1.5h"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(UsageError, match="--window 1h"):
        parse_window(text)


def test_sketch_beyond_the_exact_limit_is_within_its_bound() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(0.5, 1.2, size=50_000)
    values[:40] = 0.0
    ids = np.zeros(len(values), dtype=np.int64)
    result = group_percentiles(ids, values, 1, (0.5, 0.95, 0.99), exact_limit=10_000)
    assert result.sketched == [True]
    ordered = np.sort(values)
    for q, estimate in zip((0.5, 0.95, 0.99), result.values[0], strict=True):
        lower = ordered[math.floor(q * (len(values) - 1))]
        assert abs(estimate - lower) <= SKETCH_RELATIVE_ERROR * lower + 1e-12
    assert LogBucketSketch.of(values).quantile(0.0) == 0.0


def test_quality_uses_the_sketch_above_the_limit() -> None:
    data, _ = generated(n=90)
    exact = measure_quality(data).rows
    sketched = measure_quality(data, exact_limit=10)
    assert sketched.accounting["sketched_rows"] == 2
    for a, b in zip(exact, sketched.rows, strict=True):
        assert b["latency_p50_s"] == pytest.approx(a["latency_p50_s"], rel=0.05)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.floats(0, 1e4, allow_nan=False)), min_size=1, max_size=200))
def test_exact_percentiles_equal_numpy_for_any_groups(pairs: list[tuple[int, float]]) -> None:
    ids = np.array([g for g, _ in pairs])
    values = np.array([v for _, v in pairs])
    result = group_percentiles(ids, values, 5, (0.0, 0.5, 0.95, 1.0))
    for g in range(5):
        members = values[ids == g]
        if len(members) == 0:
            assert result.values[g] == [None] * 4
            continue
        expected = np.percentile(members, [0, 50, 95, 100])
        assert result.values[g] == pytest.approx(list(expected), rel=1e-9, abs=1e-9)


# --- SLA ---------------------------------------------------------------------------------------------------


def test_sla_parses_units() -> None:
    clauses = parse_sla("ttft_p95<=2s, latency_p99 <= 30000ms,error_rate<=1%,output_tps_p50>=30,availability>0.999")
    assert [(c.metric, c.op, c.threshold) for c in clauses] == [
        ("ttft_p95_s", "<=", 2.0),
        ("latency_p99_s", "<=", 30.0),
        ("error_rate", "<=", 0.01),
        ("output_tps_p50", ">=", 30.0),
        ("availability", ">", 0.999),
    ]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("ttft_p95<=2", "needs a unit s or ms"),
        ("error_rate<=5", "is a fraction"),
        ("latency_p42<=1s", "unknown metric"),
        ("ttft_p95 2s", "is not METRIC OP NUMBER"),
        ("ttft_p95=2s", "is not supported"),
        ("output_tps_p50>=30s", "tokens per second"),
        (",", "empty"),
    ],
)
def test_bad_sla_expressions(expr: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        parse_sla(expr)
    assert "\n" not in info.value.one_line() and info.value.fix


def test_sla_pass_fail_and_unknown_per_group() -> None:
    records = [timed(0, T0, 1.0, 0.5, 10), timed(1, T0, 40.0, None, 10, model="gpt-4o-mini")]
    result = measure_quality(table(records), sla="latency_p99<=30s,ttft_p95<=1s")
    verdicts = {(e["model"], e["clause"]): e["pass"] for e in result.sla}
    assert verdicts == {
        ("gpt-4o", "latency_p99<=30s"): True,
        ("gpt-4o", "ttft_p95<=1s"): True,
        ("gpt-4o-mini", "latency_p99<=30s"): False,
        ("gpt-4o-mini", "ttft_p95<=1s"): None,
    }
    assert result.sla_failed
    assert set(result.sla[0]) == {"provider", "model", "clause", "value", "pass"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(-(2**40), 2**40), st.integers(0, 2)), min_size=1, max_size=80))
def test_group_ids_match_distinct_key_tuples(keys: list[tuple[int, int, int]]) -> None:
    from tokctl.service_quality.metrics import _combine

    combos, inverse = _combine([np.array(column) for column in zip(*keys, strict=True)])
    assert sorted(map(tuple, combos)) == sorted(set(keys))
    for row, key in enumerate(keys):
        assert tuple(combos[inverse[row]]) == key
