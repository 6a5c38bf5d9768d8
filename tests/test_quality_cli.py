"""``tokctl quality`` on the bundled examples: percentiles against numpy over timings read straight from the
raw files (json + datetime, no tokctl), SLA verdicts and exit codes, output shapes."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tokctl.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "quality"
SPENDLOGS = EXAMPLES / "litellm_spendlogs.jsonl"
SPANS = EXAMPLES / "otel_spans.json"
MODEL_GROUPS = {"gpt-4o": "gpt-4o", "gpt-4o-mini": "gpt-4o-mini", "claude-sonnet-4-5": "claude-sonnet-4-5"}
ROW_KEYS = {
    "requests",
    "errors",
    "error_rate",
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "ttft_p50_s",
    "ttft_p95_s",
    "output_tps_p50",
    "availability",
}

runner = CliRunner()


def seconds(later: str, earlier: str) -> float:
    parse = dt.datetime.fromisoformat
    return (parse(later) - parse(earlier)).total_seconds()


def spendlog_truth() -> dict[str, dict[str, list[float]]]:
    """Per model group: latency, TTFT and output speed of the successful requests, from the raw lines."""
    truth: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for line in SPENDLOGS.read_text(encoding="utf-8").splitlines():
        log = json.loads(line)
        if log["status"] != "success":
            continue
        model = truth[MODEL_GROUPS[log["model_group"]]]
        model["latency"].append(seconds(log["endTime"], log["startTime"]))
        model["ttft"].append(seconds(log["completionStartTime"], log["startTime"]))
        model["tps"].append(log["completion_tokens"] / seconds(log["endTime"], log["completionStartTime"]))
    return truth


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["quality", *args])
    return result.exit_code, result.stdout


def test_percentiles_on_the_litellm_example_match_numpy() -> None:
    code, out = run(str(SPENDLOGS), "--format", "json")
    assert code == 0
    rows = {row["model"]: row for row in json.loads(out)["rows"]}
    truth = spendlog_truth()
    assert set(rows) == set(truth)
    for model, values in truth.items():
        row = rows[model]
        for q in (50, 95, 99):
            assert row[f"latency_p{q}_s"] == pytest.approx(np.percentile(values["latency"], q), abs=1e-6)
        for q in (50, 95):
            assert row[f"ttft_p{q}_s"] == pytest.approx(np.percentile(values["ttft"], q), abs=1e-6)
        assert row["output_tps_p50"] == pytest.approx(np.percentile(values["tps"], 50), abs=1e-6)


def test_otel_spans_example_counts_untimed_records_and_errors() -> None:
    code, out = run(str(SPANS), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    (row,) = doc["rows"]
    spans = json.loads(SPANS.read_text(encoding="utf-8"))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    ok = [s for s in spans if not s["status"]]
    latencies = [(int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])) / 1e9 for s in ok]
    assert (row["provider"], row["model"], row["requests"], row["errors"]) == ("deepseek", "deepseek-chat", 60, 2)
    assert row["error_rate"] == pytest.approx(2 / 60)
    assert row["availability"] == pytest.approx(58 / 60)  # a timeout and a 500: both on the server's side
    assert row["latency_p99_s"] == pytest.approx(np.percentile(latencies, 99), abs=1e-6)
    assert row["ttft_p50_s"] is None and row["output_tps_p50"] is None  # not streamed: nothing to measure
    assert doc["accounting"]["without_ttft"] == 58


def test_json_shape_with_and_without_windows() -> None:
    _, out = run(str(SPANS), "--format", "json", "--sla", "latency_p99<=30s")
    doc = json.loads(out)
    assert set(doc) == {"rows", "sla", "accounting"}
    assert set(doc["rows"][0]) >= ROW_KEYS and "window_start" not in doc["rows"][0]
    assert doc["sla"] == [
        {
            "provider": "deepseek",
            "model": "deepseek-chat",
            "clause": "latency_p99<=30s",
            "value": doc["rows"][0]["latency_p99_s"],
            "pass": True,
        }
    ]
    _, out = run(str(SPANS), "--format", "json", "--window", "1h", "--by", "model", "--sla", "error_rate<=1%")
    doc = json.loads(out)
    starts = [row["window_start"] for row in doc["rows"]]
    assert starts == [f"2026-01-14T{h:02d}:00:00+00:00" for h in range(8, 14)]
    assert sum(row["requests"] for row in doc["rows"]) == 60
    assert {entry["window_start"] for entry in doc["sla"]} == set(starts)
    failing = {entry["window_start"] for entry in doc["sla"] if not entry["pass"]}
    assert len(failing) == 2  # the hours holding the two failed spans


def test_sla_exit_codes() -> None:
    code, _ = run(str(SPENDLOGS), "--sla", "latency_p99<=60s,error_rate<=10%")
    assert code == 0
    code, out = run(str(SPENDLOGS), "--sla", "ttft_p95<=2s")  # Claude's slow hour pushes its p95 past 2 s
    assert code == 1
    assert "SLA: 1 of 3 checks failed" in out


def test_bad_sla_is_one_line_and_reads_nothing() -> None:
    result = runner.invoke(app, ["quality", "no-such-file.jsonl", "--sla", "ttft_p95<=2"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "2000ms" in lines[0]
    assert "Traceback" not in result.output


def test_table_has_the_latency_chart_and_csv_has_the_rows(tmp_path: Path) -> None:
    code, out = run(str(SPENDLOGS), "--window", "1h", "--by", "model")
    assert code == 0
    assert "latency per window" in out and "claude-sonnet-4-5 2026-01-14 11:00" in out
    target = tmp_path / "q.csv"
    code, _ = run(str(SPENDLOGS), "-o", str(target))
    header, *rows = target.read_text(encoding="utf-8").splitlines()
    assert header.startswith("provider,model,requests,errors,error_rate,latency_p50_s")
    assert len(rows) == 3


def test_litellm_failures_are_counted_by_class() -> None:
    logs = [json.loads(line) for line in SPENDLOGS.read_text(encoding="utf-8").splitlines()]
    classes = {"429": "rate_limited", "408": "timeout", "500": "5xx", "529": "5xx", "400": "4xx"}
    expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for log in logs:
        model = expected[MODEL_GROUPS[log["model_group"]]]
        model["requests"] += 1
        if log["status"] == "failure":
            model[classes[log["metadata"]["error_information"]["error_code"]]] += 1
    _, out = run(str(SPENDLOGS), "--format", "json")
    for row in json.loads(out)["rows"]:
        counts = expected[row["model"]]
        assert row["requests"] == counts["requests"]
        for klass in ("rate_limited", "timeout", "5xx", "4xx"):
            assert row[f"error_rate_{klass}"] == pytest.approx(counts[klass] / counts["requests"])
        server = counts["5xx"] + counts["timeout"]
        assert row["availability"] == pytest.approx(1 - server / counts["requests"])
