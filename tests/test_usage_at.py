"""``--at`` prices the records that carry no timestamp; records with one keep their own moment."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from tokctl.cli import app

LOGS = Path(__file__).resolve().parents[1] / "examples" / "logs"


def _report(*extra: str) -> dict:
    result = CliRunner().invoke(
        app,
        ["usage", "report", str(LOGS / "anthropic_batch_results.jsonl"), "--by", "model", "--format", "json", *extra],
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_records_without_timestamp_are_unpriced_unless_at_is_given() -> None:
    plain = _report()
    assert plain["accounting"]["unpriced"] == 1
    priced = _report("--at", "2026-11-16T00:00:00Z")
    assert priced["accounting"]["unpriced"] == 0
    [haiku] = [r for r in priced["rows"] if r["model"] == "claude-haiku-4-5"]
    # claude-haiku-4-5 on anthropic: input 1 USD / 1M, output 5 USD / 1M, batch x0.5 (registry); the record is a
    # batch result with 412 input and 6 output tokens: (412 x 1 + 6 x 5) / 1M x 0.5 = 0.000221
    assert Decimal(haiku["cost"]) == Decimal("0.000221")


def test_records_with_a_timestamp_keep_their_own_moment() -> None:
    path = str(LOGS / "deepseek_requests.jsonl")
    args = ["usage", "report", path, "--by", "model", "--format", "json"]
    own = json.loads(CliRunner().invoke(app, args).stdout)
    forced = json.loads(CliRunner().invoke(app, [*args, "--at", "2026-01-01T00:00:00Z"]).stdout)
    assert own["rows"] == forced["rows"]


def test_bad_at_is_a_one_line_error() -> None:
    result = CliRunner().invoke(app, ["usage", "report", str(LOGS), "--at", "nonsense"])
    assert result.exit_code == 2
    assert "--at 'nonsense' is not an ISO 8601 date" in result.stderr
