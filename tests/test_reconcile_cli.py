"""tokctl reconcile on the command line: exit codes, the JSON document, Parquet output, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from tokctl.cli.app import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "reconcile"
DATA = Path(__file__).parent / "data" / "bills"
runner = CliRunner()
ROW_KEYS = ["date", "provider", "model", "token_class", "project", "billed_quantity", "logged_quantity",
            "billed_cost", "expected_cost", "difference", "currency", "status", "explanation"]  # fmt: skip
SUMMARY_KEYS = ["billed", "expected", "difference", "currency", "cells", "matched", "mismatched", "by_provider"]


def invoke(*args: str):
    return runner.invoke(app, ["reconcile", *args])


def anthropic_only(tmp_path: Path) -> list[str]:
    bills = tmp_path / "bills"
    bills.mkdir()
    for page in EXAMPLE.joinpath("bills").glob("anthropic-*.json"):
        shutil.copy(page, bills)
    return ["--bill", str(bills), "--logs", str(EXAMPLE / "logs" / "anthropic-2026-10.jsonl")]


def test_json_document_and_exit_1_on_mismatches(tmp_path):
    result = invoke(*anthropic_only(tmp_path), "--format", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["summary", "rows"]
    assert list(doc["summary"]) == SUMMARY_KEYS  # one currency: an object
    assert doc["summary"]["currency"] == "USD"
    assert doc["summary"]["cells"] == len(doc["rows"]) == doc["summary"]["matched"] + doc["summary"]["mismatched"]
    assert all(list(row) == ROW_KEYS for row in doc["rows"])
    none = [r for r in doc["rows"] if r["explanation"] == "no rule explains it"]
    assert [(r["date"], r["status"]) for r in none] == [
        ("2026-10-25", "missing_from_logs"),
        ("2026-10-28", "over_billed"),
    ]


def test_summary_is_a_list_when_there_are_several_currencies():
    result = invoke("--bill", str(EXAMPLE / "bills"), "--logs", str(EXAMPLE / "logs"), "-f", "json")
    summary = json.loads(result.stdout)["summary"]
    assert [s["currency"] for s in summary] == ["CNY", "USD"]
    assert [[p["provider"] for p in s["by_provider"]] for s in summary] == [
        ["deepseek-cn"],
        ["anthropic", "deepseek-cn"],
    ]


def test_fail_over_lets_small_mismatches_pass(tmp_path):
    args = anthropic_only(tmp_path)
    assert invoke(*args, "--fail-over", "100", "-f", "json").exit_code == 0
    assert invoke(*args, "--fail-over", "0.5", "-f", "json").exit_code == 1


def test_exit_0_when_every_cell_matches(tmp_path):
    log = {"timestamp": "2026-10-08T10:00:00Z", "project": "w1", "provider": "anthropic",
           "request": {"model": "claude-sonnet-5-5"}, "response": {"id": "msg_1", "type": "message",
           "model": "claude-sonnet-5-5", "usage": {"input_tokens": 600000, "output_tokens": 100000}}}  # fmt: skip
    (tmp_path / "log.jsonl").write_text(json.dumps(log) + "\n")
    results = [
        {"amount": cents, "currency": "USD", "model": "claude-sonnet-5-5", "token_type": kind, "workspace_id": "w1"}
        for kind, cents in (("uncached_input_tokens", "120"), ("output_tokens", "100.4"))
    ]
    page = {"data": [{"starting_at": "2026-10-08T00:00:00Z", "ending_at": "2026-10-09T00:00:00Z",
                      "results": results}], "has_more": False}  # fmt: skip
    (tmp_path / "cost.json").write_text(json.dumps(page))
    args = ["--bill", str(tmp_path / "cost.json"), "--logs", str(tmp_path / "log.jsonl"), "-f", "json"]
    result = invoke(*args)  # $1.20 input exact; output $1.004 for $1.00 expected: 0.4% < 0.5%
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["difference"] == "0.004"
    assert invoke(*args, "--tolerance", "0.001").exit_code == 1


def test_parquet_output_has_typed_money(tmp_path):
    out = tmp_path / "cells.parquet"
    result = invoke(*anthropic_only(tmp_path), "-o", str(out))
    assert result.exit_code == 1
    table = pq.read_table(out)
    assert str(table.schema.field("billed_cost").type) == "decimal128(38, 12)"
    assert "rule" in table.column_names and table.num_rows > 600


def test_table_output_shows_the_explanations(tmp_path):
    result = invoke(*anthropic_only(tmp_path))
    assert "no rule explains it" in result.stdout
    assert "exact matches" in result.stdout
    assert "bill: 4 file(s)" in result.stderr


def test_bad_bill_is_exit_2_with_one_line(tmp_path):
    args = ["--logs", str(EXAMPLE / "logs" / "anthropic-2026-10.jsonl")]
    result = invoke("--bill", str(DATA / "anthropic_cost_report.json"), "--bill",
                    str(DATA / "anthropic_cost_report_overlap.json"), *args)  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "pages overlap" in result.stderr
    missing = invoke("--bill", str(tmp_path / "nope.json"), *args)
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    bad_tolerance = invoke("--bill", str(DATA / "anthropic_cost_report.json"), *args, "--tolerance", "lots")
    assert bad_tolerance.exit_code == 2 and "--tolerance" in bad_tolerance.stderr
    bad_format = invoke("--bill", str(DATA / "anthropic_cost_report.json"), *args, "--bill-format", "fokus")
    assert bad_format.exit_code == 2 and "did you mean focus" in bad_format.stderr
