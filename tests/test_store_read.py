"""Reading tokctl's own Parquet (files, exported datasets): the same answers as the raw logs, without parsing
them again; exit codes that tell the truth; export formats; schema versions."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.test_usage_properties import records
from tests.usage_helpers import EXAMPLES
from tokctl.cli.app import app
from tokctl.errors import InputFormatError, UsageError
from tokctl.usage import store
from tokctl.usage.export import export_usage
from tokctl.usage.report import report_usage

EVERY_BY = ["day", "week", "month", "provider", "model", "project", "api_key", "user", "tag:team"]
RECONCILE = Path(__file__).resolve().parents[1] / "examples" / "reconcile"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def _summary(paths: list[str], by: list[str], **kwargs: object) -> dict[str, object]:
    summary, _ = report_usage(paths, by, **kwargs)  # type: ignore[arg-type]
    return {"rows": summary.rows, "totals": summary.totals, "unpriced": summary.unpriced}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records(), min_size=1, max_size=40), st.sampled_from(EVERY_BY), st.sampled_from(EVERY_BY))
def test_report_from_the_store_equals_the_report_from_the_logs(lines: list[str], first: str, second: str) -> None:
    by = [first] if first == second else [first, second]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.jsonl"
        log.write_text("\n".join(lines) + "\n")
        try:
            raw = _summary([str(log)], by, tz="Asia/Shanghai")
        except Exception as exc:  # nothing readable: the store is never written either
            assert type(exc).__name__ == "InputNotFoundError"
            return
        file, dataset = Path(tmp) / "u.parquet", Path(tmp) / "ds"
        export_usage([log], file)
        export_usage([log], dataset, partition_by="usage_date,provider")
        assert _summary([str(file)], by, tz="Asia/Shanghai") == raw  # to the cent and the token
        assert _summary([str(dataset)], by, tz="Asia/Shanghai") == raw
        window = {"since": "2026-03-01", "until": "2026-09-01", "tz": "Asia/Shanghai"}
        assert _summary([str(dataset)], by, **window) == _summary([str(log)], by, **window)


def test_report_of_an_export_reads_parquet_not_text(tmp_path: Path) -> None:
    out = tmp_path / "u.parquet"
    assert invoke("usage", "export", str(EXAMPLES), "-o", str(out)).exit_code == 0
    raw = invoke("usage", "report", str(EXAMPLES), "--by", "model", "-f", "json")
    stored = invoke("usage", "report", str(out), "--by", "model", "-f", "json")
    assert stored.exit_code == 0, stored.output
    assert "stored records read from 1 Parquet file(s)" in stored.stderr and "not_json" not in stored.stderr
    assert json.loads(stored.stdout)["rows"] == json.loads(raw.stdout)["rows"]
    assert json.loads(stored.stdout)["totals"] == json.loads(raw.stdout)["totals"]


def test_provider_filter_prunes_partitions_and_matches_the_logs(tmp_path: Path) -> None:
    dataset = tmp_path / "ds"
    assert export_usage([EXAMPLES], dataset, partition_by="provider").parsed > 0
    for inputs in ([str(EXAMPLES)], [str(dataset)]):
        summary, _ = report_usage(inputs, ["model"], provider=["openai,google"])
        assert {r["model"] for r in summary.rows} >= {"gpt-4o", "gemini-2.5-flash"}
        assert not {r["model"] for r in summary.rows} & {"claude-sonnet-4-5", "deepseek-v4-pro"}
    assert _summary([str(dataset)], ["model"], provider=["openai"]) == _summary(
        [str(EXAMPLES)], ["model"], provider=["openai"]
    )


def test_store_window_keeps_partitions_it_needs() -> None:
    import datetime as dt

    window = store.Window(dt.datetime(2026, 1, 14, 16, tzinfo=dt.UTC), dt.datetime(2026, 1, 15, 16, tzinfo=dt.UTC))
    assert [window.keeps_partition(d, "openai") for d in ("2026-01-13", "2026-01-14", "2026-01-15", "2026-01-16")] == [
        False,
        True,
        True,
        False,
    ]
    assert not window.keeps_partition(None, "openai")
    assert not store.Window(providers=frozenset({"google"})).keeps_partition("2026-01-14", "openai")


# ---- exit codes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["usage", "report", "{missing}"],
        ["usage", "export", "{missing}", "-o", "{out}"],
        ["quality", "{missing}"],
        ["audit", "{missing}"],
        ["reconcile", "--bill", str(RECONCILE / "bills"), "--logs", "{missing}"],
    ],
    ids=["report", "export", "quality", "audit", "reconcile"],
)
def test_a_path_that_does_not_exist_is_exit_2(args: list[str], tmp_path: Path) -> None:
    missing, out = tmp_path / "nonexistent.jsonl", tmp_path / "out.parquet"
    result = invoke(*[a.replace("{missing}", str(missing)).replace("{out}", str(out)) for a in args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {missing}: no such file or directory; check the path (globs are expanded by tokctl "
                      "when quoted)"]  # fmt: skip
    assert not out.exists()


@pytest.mark.parametrize("command", [["usage", "report"], ["quality"], ["audit"], ["usage", "export"]])
def test_nothing_readable_is_exit_2_and_writes_nothing(command: list[str], tmp_path: Path) -> None:
    log = tmp_path / "notes.jsonl"
    log.write_text("just some text\n")
    out = tmp_path / "u.parquet"
    result = invoke(*command, str(log), *(["-o", str(out)] if command[-1] == "export" else []))
    assert result.exit_code == 2, result.output
    assert "no usage record could be read from" in result.stderr and "not_json 1" in result.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["notes.jsonl"]


def test_skipped_records_keep_exit_0_and_say_so(tmp_path: Path) -> None:
    log = tmp_path / "mixed.jsonl"
    shutil.copy(EXAMPLES / "deepseek_requests.jsonl", log)
    with open(log, "a") as fh:
        fh.write("not json\n")
    result = invoke("usage", "report", str(log))
    assert result.exit_code == 0 and "not_json 1" in result.stderr
    assert invoke("usage", "report", str(log), "--strict").exit_code == 2


def test_logs_and_a_dataset_together_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "u.parquet"
    export_usage([EXAMPLES], out)
    result = invoke("usage", "report", str(out), str(EXAMPLES / "deepseek_requests.jsonl"))
    assert result.exit_code == 2 and "is a tokctl dataset and the other inputs are logs" in result.stderr


# ---- export formats ----------------------------------------------------------------------------------------------


def test_export_format_follows_the_suffix(tmp_path: Path) -> None:
    log = str(EXAMPLES / "deepseek_requests.jsonl")
    parquet = tmp_path / "u.parquet"
    export_usage([log], parquet)
    table = pq.read_table(parquet)
    export_usage([log], tmp_path / "u.csv")
    with open(tmp_path / "u.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["record_id"] for r in rows] == table.column("record_id").to_pylist()
    assert [Decimal(r["cost"]) for r in rows] == table.column("cost").to_pylist()
    assert (tmp_path / "u.csv").read_bytes()[:4] != b"PAR1"
    export_usage([parquet], tmp_path / "u.jsonl")  # re-export from the store
    lines = [json.loads(line) for line in (tmp_path / "u.jsonl").read_text().splitlines()]
    assert [Decimal(r["cost"]) for r in lines] == table.column("cost").to_pylist()
    assert [r["input_tokens"] for r in lines] == table.column("input_tokens").to_pylist()


def test_export_refuses_a_format_its_suffix_contradicts(tmp_path: Path) -> None:
    log = str(EXAMPLES / "deepseek_requests.jsonl")
    with pytest.raises(UsageError, match=r"--format csv but .* ends in \.parquet"):
        export_usage([log], tmp_path / "u.parquet", fmt="csv")
    with pytest.raises(UsageError, match="cannot tell the format"):
        export_usage([log], tmp_path / "u.txt")
    result = invoke("usage", "export", log, "-o", str(tmp_path / "u.data"), "--format", "jsonl")
    assert result.exit_code == 0 and json.loads((tmp_path / "u.data").read_text().splitlines()[0])["record_id"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.data"]


def test_focus_from_the_store_equals_focus_from_the_logs(tmp_path: Path) -> None:
    stored = tmp_path / "u.parquet"
    export_usage([EXAMPLES], stored)
    export_usage([EXAMPLES], tmp_path / "raw.focus.parquet", focus=True)
    export_usage([stored], tmp_path / "stored.focus.parquet", focus=True)
    assert pq.read_table(tmp_path / "stored.focus.parquet").equals(pq.read_table(tmp_path / "raw.focus.parquet"))


# ---- schema versions ---------------------------------------------------------------------------------------------


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "u.parquet"
    export_usage([EXAMPLES / "deepseek_requests.jsonl"], out)
    table = pq.read_table(out)
    newer = table.replace_schema_metadata({store.VERSION_KEY: str(store.SCHEMA_VERSION + 1).encode()})
    pq.write_table(newer, out)
    with pytest.raises(InputFormatError, match=r"newer than this tokctl reads.*upgrade tokctl"):
        report_usage([str(out)], ["day"])
    result = invoke("usage", "report", str(out))
    assert result.exit_code == 2 and "upgrade tokctl" in result.stderr


def test_an_older_dataset_reads_with_its_missing_columns_null(tmp_path: Path) -> None:
    out = tmp_path / "u.parquet"
    export_usage([EXAMPLES / "deepseek_requests.jsonl"], out)
    table = pq.read_table(out)
    older = table.drop_columns(["reasoning_tokens", "total_tokens_reported"]).replace_schema_metadata({})
    pq.write_table(older, out)
    summary, acc = report_usage([str(out)], ["model"])
    assert [r["reasoning_tokens"] for r in summary.rows] == [0] * len(summary.rows)
    assert acc.missing == ["reasoning_tokens"] and "written by an older tokctl: reasoning_tokens" in acc.line()
    assert store.stored_kind(out) == "file"


def test_is_dataset_is_the_manifest_marker(tmp_path: Path) -> None:
    dataset = tmp_path / "ds"
    export_usage([EXAMPLES / "deepseek_requests.jsonl"], dataset, partition_by="provider")
    assert store.is_dataset(dataset)
    assert not store.is_dataset(tmp_path) and not store.is_dataset(tmp_path / "nothing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / store.MANIFEST_NAME).write_text('{"format": "something-else"}')
    assert not store.is_dataset(tmp_path / "other")
    doc = json.loads((dataset / store.MANIFEST_NAME).read_text())
    assert doc["format"] == "tokctl-usage" and doc["schema_version"] == store.SCHEMA_VERSION


def test_conform_fills_missing_columns_with_null() -> None:
    batch = pa.RecordBatch.from_pydict({"record_id": ["a"], "provider": ["openai"]})
    out = store.conform(batch, ["record_id", "provider", "cost"])
    assert out.column("cost").to_pylist() == [None] and pa.types.is_dictionary(out.schema.field("provider").type)


@pytest.mark.parametrize(
    "command",
    [
        ["reconcile", "--bill", str(RECONCILE / "bills"), "--logs", "{logs}", "-f", "json"],
        ["quality", "{logs}", "-f", "json"],
        ["audit", "{logs}", "-f", "json"],
    ],
    ids=["reconcile", "quality", "audit"],
)
def test_reconcile_quality_and_audit_read_the_store(command: list[str], tmp_path: Path) -> None:
    logs = {
        "reconcile": RECONCILE / "logs",
        "quality": EXAMPLES.parent / "quality",
        "audit": EXAMPLES.parent / "audit",
    }[command[0]]
    stored = tmp_path / "ds"
    assert invoke("usage", "export", str(logs), "-o", str(stored), "--partition-by", "usage_date").exit_code == 0
    raw = invoke(*[str(logs) if a == "{logs}" else a for a in command])
    again = invoke(*[str(stored) if a == "{logs}" else a for a in command])
    assert again.exit_code == raw.exit_code, again.output
    assert "stored records read" in again.stderr

    def answer(doc: dict) -> dict:
        doc.pop("accounting", None)
        return doc

    assert answer(json.loads(again.stdout)) == answer(json.loads(raw.stdout))
