"""``tokctl usage report`` and ``tokctl usage export`` through the CLI: exact JSON, the accounting line on
stderr, strict exit codes, atomic Parquet (single file, partitioned dataset, FOCUS rows)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
from typer.testing import CliRunner

import tokctl
from tests.usage_helpers import EXAMPLES
from tokctl.cli.app import app

runner = CliRunner()
DEEPSEEK = str(EXAMPLES / "deepseek_requests.jsonl")


def invoke(*args: str):
    return runner.invoke(app, ["usage", *args])


def test_report_json_is_exactly_the_documented_shape() -> None:
    result = invoke("report", DEEPSEEK, "--by", "day", "--tz", "Asia/Shanghai", "-f", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["rows", "totals", "accounting"]
    sums = {
        "input_tokens": 1830,
        "cache_read_tokens": 1536,
        "cache_write_tokens": 0,
        "output_tokens": 256,
        "reasoning_tokens": 0,
    }
    double = {k: 2 * v for k, v in sums.items()}
    assert doc["rows"] == [
        {"day": "2026-11-17", "requests": 2, **double, "cost": "0.0150282", "currency": "CNY"},
        {"day": "2026-11-21", "requests": 1, **sums, "cost": "0.0050094", "currency": "CNY"},
    ]
    assert doc["totals"] == [
        {"requests": 3, **{k: 3 * v for k, v in sums.items()}, "cost": "0.0200376", "currency": "CNY"}
    ]
    accounting = doc["accounting"]
    assert {k: accounting[k] for k in ("records", "parsed", "skipped", "duplicates", "unpriced")} == {
        "records": 3,
        "parsed": 3,
        "skipped": 0,
        "duplicates": 0,
        "unpriced": 0,
    }
    assert result.stderr.strip() == "usage: 3 records read = 3 parsed + 0 skipped; 0 duplicates collapsed; 0 unpriced"


def test_report_table_lists_unpriced_and_the_accounting_adds_up(tmp_path: Path) -> None:
    result = invoke("report", str(EXAMPLES), "--by", "provider,model")
    assert result.exit_code == 0, result.output
    assert "Totals per currency" in result.stdout and "Unpriced (no cost computed), by model" in result.stdout
    line = result.stderr.strip().splitlines()[-1]
    read, parsed, skipped = (int(line.split(word)[0].split()[-1]) for word in (" records", " parsed", " skipped"))
    assert read == parsed + skipped and read > 50


def test_report_parquet_keeps_exact_costs(tmp_path: Path) -> None:
    out = tmp_path / "report.parquet"
    result = invoke("report", DEEPSEEK, "--by", "day", "-o", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert str(table.schema.field("cost").type) == "decimal128(38, 12)"
    assert table.column("cost").to_pylist() == [Decimal("0.0150282"), Decimal("0.0050094")]


def test_strict_fails_with_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = '{"id": "y", "object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 1}}\n'
    bad.write_text(
        '{"id": "x", "object": "chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": -1}}\n' + good
    )
    result = invoke("report", str(bad), "--strict")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}:1: negative_count: usage.prompt_tokens is negative; fix or remove that record, "
        "or leave out --strict to count it and go on"
    ]
    assert result.stdout == ""
    lenient = invoke("report", str(bad), "-f", "json")
    assert lenient.exit_code == 0 and json.loads(lenient.stdout)["accounting"]["skipped"] == 1


def test_export_parquet_round_trips_the_priced_table(tmp_path: Path) -> None:
    out = tmp_path / "usage.parquet"
    result = invoke("export", str(EXAMPLES / "anthropic_requests.jsonl"), DEEPSEEK, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "6 records read = 6 parsed + 0 skipped" in result.stderr
    written = pq.read_table(out)
    expected = tokctl.read_usage([str(EXAMPLES / "anthropic_requests.jsonl"), DEEPSEEK], price=True)
    assert written.schema.equals(tokctl.usage_schema(), check_metadata=False)
    assert written.to_pylist() == expected.to_pylist()
    assert [p.name for p in tmp_path.iterdir()] == ["usage.parquet"]  # no staging left behind


def test_export_partitioned_dataset(tmp_path: Path) -> None:
    out = tmp_path / "usage"
    result = invoke(
        "export",
        DEEPSEEK,
        str(EXAMPLES / "gemini_responses.jsonl"),
        "-o",
        str(out),
        "--partition-by",
        "usage_date,provider",
    )
    assert result.exit_code == 0, result.output
    parts = sorted(str(p.relative_to(out).parent) for p in out.rglob("*.parquet"))
    assert parts == [
        "usage_date=2026-11-16/provider=google",
        "usage_date=2026-11-17/provider=deepseek-cn",
        "usage_date=2026-11-21/provider=deepseek-cn",
    ]
    table = ds.dataset(out, partitioning="hive").to_table()
    assert table.num_rows == 5 and sorted(set(table.column("provider").to_pylist())) == ["deepseek-cn", "google"]
    # Exporting again replaces the dataset in one rename.
    again = invoke("export", DEEPSEEK, "-o", str(out), "--partition-by", "provider")
    assert again.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["_tokctl_dataset.json", "provider=deepseek-cn"]


def test_focus_rows_split_each_record_cost_by_token_class(tmp_path: Path) -> None:
    out = tmp_path / "focus.parquet"
    sources = [str(EXAMPLES / n) for n in ("anthropic_requests.jsonl", "gemini_responses.jsonl")] + [DEEPSEEK]
    result = invoke("export", *sources, "-o", str(out), "--focus")
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    usage = {r["record_id"]: r for r in tokctl.read_usage(sources, price=True).to_pylist()}
    by_record: dict[str, list] = {}
    for row in rows:
        by_record.setdefault(row["x_RecordId"], []).append(row)
    for record_id, classes in by_record.items():
        assert sum(c["BilledCost"] for c in classes) == usage[record_id]["cost"]
        assert (
            sum(c["ConsumedQuantity"] for c in classes)
            == usage[record_id]["input_tokens"] + usage[record_id]["output_tokens"]
        )
    sonnet = {
        c["x_TokenClass"]: c for c in by_record[next(k for k, v in usage.items() if v["model"] == "claude-sonnet-4-5")]
    }
    assert sorted(sonnet) == ["cache_read", "cache_write", "input", "output"]
    assert (sonnet["cache_read"]["ConsumedQuantity"], sonnet["cache_read"]["ListUnitPrice"]) == (48210, Decimal("0.3"))
    assert sonnet["cache_read"]["BilledCost"] == Decimal("0.014463")
    assert {r["ChargeCategory"] for r in rows} == {"Usage"} and {r["ConsumedUnit"] for r in rows} == {"Tokens"}
    gemini = [r for r in rows if r["x_Model"] == "gemini-2.5-flash"]
    assert {r["x_TokenClass"]: r["ConsumedQuantity"] for r in gemini} == {
        "input": 1114,
        "cache_read": 4096,
        "output": 640,
        "reasoning": 1300,
    }


def test_help_documents_the_commands() -> None:
    result = runner.invoke(app, ["usage", "--help"])
    assert result.exit_code == 0 and "report" in result.stdout and "export" in result.stdout
    result = runner.invoke(app, ["usage", "report", "--help"])
    assert "--by" in result.stdout and "--currency" in result.stdout
