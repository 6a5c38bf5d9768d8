"""``usage ingest --into``: each record once across runs, unchanged files skipped unread, one atomic commit a
run (kill -9 at random moments leaves the previous or the new dataset), reprice rewrites the cost columns."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.gen_logs import generate
from tests.usage_helpers import EXAMPLES
from tokctl.errors import OutputError
from tokctl.usage import ingest_into as ingest_module
from tokctl.usage import store
from tokctl.usage.ingest_into import ingest_into
from tokctl.usage.report import report_usage
from tokctl.usage.reprice import reprice
from tokctl.usage.sources import read_usage_any

ROOT = Path(__file__).resolve().parents[1]


def rows(dataset: Path) -> list[dict[str, Any]]:
    """The dataset's records, in record_id order (the layout of part files is not part of the answer)."""
    table = read_usage_any([str(dataset)]).table
    return sorted(table.to_pylist(), key=lambda r: r["record_id"])


def _files(dataset: Path) -> dict[str, bytes]:
    return {str(p.relative_to(dataset)): p.read_bytes() for p in sorted(dataset.rglob("*")) if p.is_file()}


def _logs(tmp_path: Path) -> list[Path]:
    logs = tmp_path / "logs"
    shutil.copytree(EXAMPLES, logs)
    return sorted(p for p in logs.iterdir() if p.is_file())


def test_ingest_equals_the_logs_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    logs, dataset = _logs(tmp_path), tmp_path / "ds"
    first = ingest_into(logs, dataset)
    assert first.committed and first.added == 39 and store.is_dataset(dataset)
    raw, _ = report_usage([str(p) for p in logs], ["day", "provider", "model"])
    stored, _ = report_usage([str(dataset)], ["day", "provider", "model"])
    assert (stored.rows, stored.totals) == (raw.rows, raw.totals)
    before = _files(dataset)
    again = ingest_into(logs, dataset)
    assert not again.committed and again.read_files == [] and len(again.unchanged_files) == len(logs)
    assert _files(dataset) == before


def test_shuffled_file_order_gives_the_same_dataset(tmp_path: Path) -> None:
    logs = _logs(tmp_path)
    ingest_into(logs, tmp_path / "a")
    shuffled = logs[:]
    random.Random(7).shuffle(shuffled)
    ingest_into(shuffled, tmp_path / "b")
    assert rows(tmp_path / "a") == rows(tmp_path / "b")
    # Across runs, in two different orders: the same records with the same tokens and costs.
    half = len(logs) // 2
    ingest_into(logs[:half], tmp_path / "c")
    ingest_into(logs, tmp_path / "c")
    ingest_into(shuffled[half:], tmp_path / "d")
    ingest_into(shuffled, tmp_path / "d")

    assert answer(tmp_path / "c") == answer(tmp_path / "d") == answer(tmp_path / "a")


def test_a_new_file_adds_only_its_new_records(tmp_path: Path) -> None:
    logs, dataset = _logs(tmp_path), tmp_path / "ds"
    ingest_into(logs[:5], dataset)
    copy = tmp_path / "logs" / "copy-of-first.jsonl"
    shutil.copy(logs[0], copy)  # every record of it is already there
    result = ingest_into([*logs, copy], dataset)
    assert result.read_files == sorted(str(p) for p in [*logs[5:], copy])
    assert result.already_there > 0
    # The same records as one run over every file; a record already stored keeps its first source_file.
    ingest_into([*logs, copy], tmp_path / "one-run")
    assert answer(dataset) == answer(tmp_path / "one-run")


def answer(dataset: Path) -> list[tuple[Any, ...]]:
    return [(r["record_id"], r["input_tokens"], r["output_tokens"], r["cost"]) for r in rows(dataset)]


def test_an_appended_file_is_read_again_and_adds_only_the_new_lines(tmp_path: Path) -> None:
    log, dataset = tmp_path / "day.jsonl", tmp_path / "ds"
    lines = (EXAMPLES / "openai_chat.jsonl").read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:2]))
    assert ingest_into([log], dataset).added == 2
    log.write_text("".join(lines))
    result = ingest_into([log], dataset)
    assert result.read_files == [str(log)] and result.already_there == 2
    assert len(rows(dataset)) == 2 + result.added


def test_identity_holds_size_mtime_and_both_ends(tmp_path: Path) -> None:
    log = tmp_path / "x.jsonl"
    log.write_bytes(b"a" * 200_000)
    identity = ingest_module.file_identity(log)
    assert identity["size"] == 200_000 and len(identity["head_sha256"]) == 64
    log.write_bytes(b"a" * 199_999 + b"b")
    os.utime(log, ns=(identity["mtime_ns"], identity["mtime_ns"]))
    assert ingest_module.file_identity(log)["tail_sha256"] != identity["tail_sha256"]


def test_a_failed_run_leaves_the_previous_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs, dataset = _logs(tmp_path), tmp_path / "ds"
    ingest_into(logs[:3], dataset)
    before = _files(dataset)
    monkeypatch.setattr(ingest_module, "PART_ROWS", 1)  # a part file per row: many chances to fail

    calls = []

    def boom() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_into(logs, dataset, _after_part=boom)
    assert _files(dataset) == before


def test_ingest_refuses_a_directory_that_is_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a tokctl dataset"):
        ingest_into([EXAMPLES / "openai_chat.jsonl"], tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_reprice_rewrites_the_cost_columns_only(tmp_path: Path) -> None:
    logs, dataset = _logs(tmp_path), tmp_path / "ds"
    ingest_into(logs, dataset)
    expected = rows(dataset)
    manifest = json.loads((dataset / store.MANIFEST_NAME).read_text())
    for part in manifest["parts"]:  # what an old price table would have left: other costs
        path = dataset / part["path"]
        table = pq.read_table(path)
        index = table.schema.get_field_index("cost")
        wrong = [None if c is None else c + Decimal(1) for c in table.column("cost").to_pylist()]
        pq.write_table(
            table.set_column(index, table.schema.field("cost"), pa.array(wrong, table.schema.field("cost").type)), path
        )
    assert rows(dataset) != expected
    result = reprice(dataset)
    assert result.rows == len(expected) and result.changed == sum(r["cost"] is not None for r in expected)
    assert rows(dataset) == expected
    assert sorted(p.name for p in dataset.rglob("*.parquet")) == sorted(
        Path(p["path"]).name for p in json.loads((dataset / store.MANIFEST_NAME).read_text())["parts"]
    )


# ---- kill -9 ---------------------------------------------------------------------------------------------------


def _ingest_process(logs: list[Path], dataset: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [
        sys.executable,
        "-m",
        "tokctl",
        "usage",
        "ingest",
        *map(str, logs),
        "--into",
        str(dataset),
        "--workers",
        "1",
    ]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _answer(dataset: Path) -> tuple[Any, ...]:
    table = read_usage_any([str(dataset)], columns=["record_id", "cost"]).table
    ids = sorted(table.column("record_id").to_pylist())
    return len(ids), hash(tuple(ids)), sum(c for c in table.column("cost").to_pylist() if c is not None)


def test_kill_9_at_random_moments_leaves_the_previous_or_the_new_dataset(tmp_path: Path) -> None:
    logs_dir = generate(tmp_path / "gen", 6_000)
    logs = sorted(p for p in logs_dir.glob("*.jsonl"))
    seed = tmp_path / "seed"
    ingest_into(logs[:2], seed)
    previous = _answer(seed)
    full = tmp_path / "full"
    shutil.copytree(seed, full)
    started = time.perf_counter()
    run = _ingest_process(logs, full)
    assert run.wait(timeout=300) == 0, run.stderr.read() if run.stderr else ""
    duration = time.perf_counter() - started
    new = _answer(full)
    assert new != previous
    rng = random.Random(15)
    outcomes = set()
    for attempt in range(5):
        dataset = tmp_path / f"try-{attempt}"
        shutil.copytree(seed, dataset)
        process = _ingest_process(logs, dataset)
        time.sleep(rng.uniform(0.4, 1.05) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        now = _answer(dataset)
        assert now in (previous, new), f"attempt {attempt}: a dataset that is neither the old nor the new one"
        outcomes.add(now == new)
        # The next run finishes the job and removes what the killed one left.
        ingest_into(logs, dataset)
        assert _answer(dataset) == new
        listed = {p["path"] for p in json.loads((dataset / store.MANIFEST_NAME).read_text())["parts"]}
        assert {str(p.relative_to(dataset)) for p in dataset.rglob("*.parquet")} == listed
        assert not [p for p in dataset.iterdir() if p.name.startswith(".")]
    assert False in outcomes  # at least one kill landed before the commit
    print(f"full run {duration:.2f} s; kills that found the new dataset: {outcomes}")
