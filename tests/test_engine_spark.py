"""The Spark engine gives the single-machine answer: the same table (every column, every row) and the same
accounting, over logs of every vendor shape with duplicates across files, bad lines, unpriced records and CNY
rows. Spark runs in local[2] mode on 127.0.0.1; the tests skip only where Java is absent."""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

import tokctl
from bench.gen_logs import generate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "logs"

pytestmark = pytest.mark.spark


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """As conftest's, but Spark's driver talks to its JVM over 127.0.0.1: loopback stays open."""
    connect = socket.socket.connect
    create = socket.create_connection

    def loopback_only(address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise RuntimeError(f"tests never use the network ({address!r})")

    def guarded_connect(self: socket.socket, address: object) -> None:
        loopback_only(address)
        connect(self, address)  # type: ignore[arg-type]

    def guarded_create(address: object, *args: object, **kwargs: object) -> socket.socket:
        loopback_only(address)
        return create(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "create_connection", guarded_create)


@pytest.fixture(scope="module")
def spark():
    if _java() is None:
        pytest.skip("Java is not installed: the Spark engine needs Java 17+ (apt install openjdk-17-jre-headless)")
    from tokctl.engines import spark as engine

    session = engine.session(
        "local[2]",
        conf={"spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2"},
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example log shape, generated vendor logs, and the cases that test the accounting."""
    root = tmp_path_factory.mktemp("logs")
    shutil.copytree(EXAMPLES, root / "examples")  # the CSV's column mapping sidecar comes along
    generated = generate(root / "generated", 3_000)
    (generated / "DONE").unlink()
    again = (EXAMPLES / "openai_chat.jsonl").read_bytes()
    (root / "zz_duplicates_of_openai_chat.jsonl").write_bytes(again)  # every record a duplicate across files
    lines = (generated / "deepseek_requests.jsonl").read_bytes().splitlines(keepends=True)
    (root / "deepseek_again.jsonl.gz").write_bytes(gzip.compress(b"".join(lines[:40])))  # CNY, compressed, dups
    unknown = orjson.loads((EXAMPLES / "openai_chat.jsonl").read_bytes().splitlines()[0])
    unknown["id"], unknown["model"] = "chatcmpl-unknown-model-1", "gpt-nobody-knows"
    bad = [b'{"id": "chatcmpl-cut', b"not json at all", orjson.dumps(unknown), b"[]", b'{"object": "list"}']
    (root / "bad_lines.jsonl").write_bytes(b"\n".join(bad) + b"\n")
    (root / "empty.jsonl").write_bytes(b"")
    return root


def _inputs(logs: Path) -> list[str]:
    return [str(logs), str(logs / "missing.jsonl")]


def _spark_read(spark, paths: list[str], **options):
    from tokctl.engines import spark as engine

    counts = engine.SparkAccounting(spark)
    usage = engine.price(engine.read_usage(spark, paths, accounting=counts, **options), accounting=counts)
    return engine.to_arrow(usage), counts.result()


def _same_tables(spark_table, local_table) -> None:
    assert spark_table.schema == local_table.schema
    assert spark_table.num_rows == local_table.num_rows
    ours, theirs = spark_table.sort_by("record_id"), local_table.sort_by("record_id")
    for name in local_table.column_names:
        assert ours.column(name).to_pylist() == theirs.column(name).to_pylist(), name


def test_spark_gives_the_single_machine_table_and_accounting(spark, logs: Path) -> None:
    local = tokctl.read_usage_with_accounting(_inputs(logs), price=True)
    table, accounting = _spark_read(spark, _inputs(logs))
    _same_tables(table, local.table)
    assert accounting.to_dict() == local.accounting.to_dict()
    assert accounting.line() == local.accounting.line()
    assert accounting.files == local.accounting.files
    # The input holds what the comparison must cover.
    counts = local.accounting
    assert counts.duplicates > 40 and counts.unpriced >= 2
    assert "bad_json" in counts.reasons and {"missing_file", "empty_file"} <= set(counts.inputs)
    currencies = set(table.column("currency").to_pylist())
    assert {"USD", "CNY", None} <= currencies
    flags = [f for row in table.column("flags").to_pylist() for f in row or ()]
    assert "dedup_collapsed" in flags and any(f.startswith("unpriced:") for f in flags)
    formats = set(table.column("source_format").to_pylist())
    assert len(formats) >= 15


def test_files_cut_into_ranges_read_the_same(spark, logs: Path) -> None:
    """A large plain JSON-lines file is read as several tasks: the same rows, the same accounting."""
    paths = [str(logs / "generated")]
    local = tokctl.read_usage_with_accounting(paths, price=True)
    table, accounting = _spark_read(spark, paths, split_bytes=64 * 1024)
    _same_tables(table, local.table)
    assert accounting.to_dict() == local.accounting.to_dict()


def test_the_last_duplicate_in_reading_order_wins(spark, tmp_path: Path) -> None:
    """Two files hold the same record with different counts: the later file's row is kept, flagged."""
    first = orjson.loads((EXAMPLES / "openai_chat.jsonl").read_bytes().splitlines()[0])
    second = {**first, "usage": {**first["usage"], "completion_tokens": first["usage"]["completion_tokens"] + 7}}
    (tmp_path / "a.jsonl").write_bytes(orjson.dumps(first) + b"\n" + orjson.dumps(first) + b"\n")
    (tmp_path / "b.jsonl").write_bytes(orjson.dumps(second) + b"\n")
    table, accounting = _spark_read(spark, [str(tmp_path)])
    assert table.num_rows == 1 and accounting.duplicates == 2
    row = table.to_pylist()[0]
    assert row["source_file"].endswith("b.jsonl")
    assert row["output_tokens"] == first["usage"]["completion_tokens"] + 7
    assert row["flags"][-1] == "dedup_collapsed"


def test_the_registry_travels_with_the_job(spark, tmp_path: Path, isolated_user_dirs: Path) -> None:
    """A price override in the driver's config file prices the rows on the workers (which never read it)."""
    config = Path(os.environ["TOKCTL_CONFIG"])
    config.write_text(
        '[[overrides]]\nplatform = "deepseek-cn"\neffective_from = 2020-01-01\nmultiplier = 0.5\nsource = "MSA"\n',
        encoding="utf-8",
    )
    paths = [str(EXAMPLES / "deepseek_requests.jsonl")]
    local = tokctl.read_usage_with_accounting(paths, price=True)
    table, _ = _spark_read(spark, paths)
    _same_tables(table, local.table)
    config.unlink()
    plain = tokctl.read_usage_with_accounting(paths, price=True).table
    assert table.column("cost").to_pylist() != plain.column("cost").to_pylist()


def test_count_and_usage_never_import_pyspark() -> None:
    """Without --engine spark, neither `tokctl count` nor `tokctl usage` loads pyspark."""
    root = Path(__file__).resolve().parents[1]
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from tokctl.cli import app\n"
        "runner = CliRunner()\n"
        "for args in (['count', sys.argv[1]], ['usage', 'report', sys.argv[2]], "
        "['usage', 'export', sys.argv[2], '-o', sys.argv[3]]):\n"
        "    result = runner.invoke(app, args)\n"
        "    assert result.exit_code == 0, (args, result.output)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))\n"
    )
    out = Path(os.environ["TOKCTL_CONFIG"]).parent / "usage.parquet"
    done = subprocess.run(
        [sys.executable, "-c", probe, str(root / "README.md"), str(EXAMPLES / "openai_chat.jsonl"), str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_cli_export_and_report_with_the_spark_engine(spark, logs: Path, tmp_path: Path) -> None:
    """`usage export|report --engine spark` write and print what the single-machine commands do."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from tokctl.cli import app

    runner = CliRunner()
    paths = [str(logs / "examples"), str(logs / "bad_lines.jsonl")]
    for engine in ("local", "spark"):
        out = tmp_path / f"{engine}.parquet"
        done = runner.invoke(app, ["usage", "export", *paths, "-o", str(out), "--engine", engine])
        assert done.exit_code == 0, done.output
    ours = ds.dataset(tmp_path / "spark.parquet").to_table().sort_by("record_id")
    theirs = pq.read_table(tmp_path / "local.parquet").sort_by("record_id")
    assert ours.num_rows == theirs.num_rows
    for name in theirs.column_names:
        assert ours.column(name).to_pylist() == theirs.column(name).to_pylist(), name
    assert all(p.suffix == ".parquet" for p in (tmp_path / "spark.parquet").rglob("*") if p.is_file())
    reports = [
        runner.invoke(app, ["usage", "report", *paths, "--by", "day,model,project", "--format", "json", *extra])
        for extra in ([], ["--engine", "spark", "--master", "local[2]"])
    ]
    assert [r.exit_code for r in reports] == [0, 0], reports[1].output
    assert orjson.loads(reports[0].stdout) == orjson.loads(reports[1].stdout)


def test_cli_refuses_an_unknown_engine_and_master_without_spark() -> None:
    from typer.testing import CliRunner

    from tokctl.cli import app

    runner = CliRunner()
    typo = runner.invoke(app, ["usage", "report", str(EXAMPLES), "--engine", "sprak"])
    assert typo.exit_code != 0 and "did you mean spark" in typo.output
    alone = runner.invoke(app, ["usage", "report", str(EXAMPLES), "--master", "local[2]"])
    assert alone.exit_code != 0 and "--master needs --engine spark" in alone.output
