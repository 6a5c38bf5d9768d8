"""Hostile input: spreadsheet formulas in CSV outputs, secrets in logs and bills, code that would evaluate
input, and output paths built from input values.

The CSV writer (tokctl.render, the only one: usage export writes Parquet only) prefixes with ``'`` any text cell
that a spreadsheet would run as a formula; numbers stay numbers. Secrets found in logs or bills (API keys,
bearer tokens, JWTs) become ``redacted:<hash>`` before anything is written. Partition values are
percent-encoded directory names that stay inside the dataset.
"""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tokctl.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad"
FORMULAS = ["=1+1", "+41+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://x","y")']
SECRETS = {
    "openai": "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "anthropic": "sk-ant-api03-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210",
    "bearer": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
    "google": "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "xai": "xai-abcdefghijklmnopqrstuvwxyz0123",
    "huggingface": "hf_abcdefghijklmnopqrstuvwxyz012345",
    "github": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
}


def _run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    return result


def _wrapped(index: int, **fields: Any) -> str:
    record = {
        "timestamp": "2026-11-16T09:14:02Z",
        "provider": "anthropic",
        "request_id": f"req_{index}",
        "request": {"model": "claude-sonnet-4-5"},
        "response": {
            "id": f"msg_{index}",
            "type": "message",
            "model": "claude-sonnet-4-5",
            "usage": {"input_tokens": 10 + index, "output_tokens": 5},
        },
    }
    return json.dumps({**record, **fields}) + "\n"


# ---- spreadsheet formulas -------------------------------------------------------------------------------------


def _assert_inert(text: str) -> None:
    """No cell of a CSV output starts like a formula unless it is a number."""
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # a negative number is data, not a formula; anything else fails here


def test_formulas_in_log_values_are_inert_in_report_csv(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("".join(_wrapped(i, project=f, user=f, tags={"team": f}) for i, f in enumerate(FORMULAS)))
    out = tmp_path / "report.csv"
    _run("usage", "report", str(log), "--by", "project,user,tag:team", "-o", str(out))
    text = out.read_bytes().decode("utf-8")  # no newline translation: a CR inside a cell stays a CR
    _assert_inert(text)
    cells = {cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row}
    assert {"'" + f for f in FORMULAS} <= cells  # kept, behind a quote: nothing is lost


def test_formulas_in_a_bill_are_inert_in_reconcile_csv(tmp_path: Path) -> None:
    out = tmp_path / "reconcile.csv"
    bill, logs = BAD / "bills" / "csv-formula.csv", BAD / "bills" / "_deepseek_logs.jsonl"
    _run("reconcile", "--bill", str(bill), "--logs", str(logs), "-o", str(out))
    text = out.read_text(encoding="utf-8")
    _assert_inert(text)
    assert "'=hyperlink" in text.lower()


def test_formulas_in_file_names_are_inert_in_count_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("=cmd|' &calc'!A0.txt", "+1.txt", "@x.txt"):
        (tmp_path / name).write_text("hello")
    out = tmp_path / "counts.csv"
    _run("count", "=cmd|' &calc'!A0.txt", "+1.txt", "@x.txt", "--by", "file", "-o", str(out))
    _assert_inert(out.read_text(encoding="utf-8"))


def test_negative_amounts_stay_numbers_in_csv(tmp_path: Path) -> None:
    from decimal import Decimal

    from tokctl.render import csv_cell

    assert csv_cell(Decimal("-0.25")) == Decimal("-0.25")
    assert csv_cell(-3) == -3
    assert csv_cell("-3") == "'-3"  # text that looks like a number is still text


# ---- secrets --------------------------------------------------------------------------------------------------


def _secret_logs(tmp_path: Path) -> Path:
    s = SECRETS
    log = tmp_path / "logs.jsonl"
    litellm = {
        "request_id": "chatcmpl-7f2a",
        "call_type": "acompletion",
        "api_key": s["openai"],
        "spend": 0.007,
        "total_tokens": 30,
        "prompt_tokens": 20,
        "completion_tokens": 10,
        "startTime": "2026-11-16T10:02:11.120Z",
        "endTime": "2026-11-16T10:02:13.004Z",
        "model": "gpt-4o-2024-08-06",
        "custom_llm_provider": "openai",
        "user": s["huggingface"],
        "team_id": s["github"],
        "end_user": s["bearer"],
        "request_tags": ["auth:" + s["openai"], s["anthropic"]],
        "status": "success",
        "metadata": {"user_api_key_alias": s["anthropic"], "headers": {"Authorization": s["bearer"]}},
    }
    log.write_text(
        _wrapped(
            1,
            project=s["anthropic"],
            api_key_id=s["openai"],
            user=s["bearer"],
            tags={"authorization": s["bearer"], "key": s["google"], s["xai"]: "x"},
            request_id=s["xai"],
        )
        + json.dumps(litellm)
        + "\n"
    )
    return log


def _assert_no_secret(text: str, where: str) -> None:
    for name, secret in SECRETS.items():
        token = secret.split()[-1]  # a bearer token without its "Bearer"
        assert secret not in text and token not in text, f"the {name} secret reached {where}"


def test_secrets_in_logs_never_reach_exports_or_reports(tmp_path: Path) -> None:
    log = _secret_logs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    runs = [
        ("usage", "export", str(log), "-o", str(out / "usage.parquet")),
        ("usage", "export", str(log), "-o", str(out / "focus.parquet"), "--focus"),
        ("usage", "export", str(log), "-o", str(out / "dataset"), "--partition-by", "project,provider"),
        (
            "usage",
            "report",
            str(log),
            "--by",
            "api_key,user,project,tag:authorization,tag:key",
            "-o",
            str(out / "r.json"),
        ),
        ("usage", "report", str(log), "--by", "api_key,user,project", "-o", str(out / "r.csv")),
        ("usage", "report", str(log), "--by", "project", "-o", str(out / "r.parquet")),
        ("quality", str(log), "--by", "api_key_id,user,project", "-f", "json", "-o", str(out / "q.json")),
    ]
    for args in runs:
        result = _run(*args)
        _assert_no_secret(result.stdout + result.stderr, " ".join(args[:2]) + " output streams")
    for path in sorted(out.rglob("*")):
        _assert_no_secret(str(path.relative_to(out)), "a file name")
        if path.suffix == ".parquet":
            _assert_no_secret(json.dumps(pq.read_table(path).to_pylist(), default=str), path.name)
        elif path.is_file():
            _assert_no_secret(path.read_text(encoding="utf-8"), path.name)
    dataset = ds.dataset(out / "dataset", format="parquet", partitioning="hive").to_table()
    _assert_no_secret(json.dumps(dataset.to_pylist(), default=str), "the partitioned dataset")
    projects = set(pq.read_table(out / "usage.parquet").column("project").to_pylist())
    assert all(p.startswith("redacted:") for p in projects)  # still there, grouped by alias


def test_secrets_in_bills_never_reach_reconcile_outputs(tmp_path: Path) -> None:
    s = SECRETS
    page = json.loads((BAD / "bills" / "cost-ok.json").read_text(encoding="utf-8"))
    page["data"][0]["results"][0]["workspace_id"] = s["anthropic"]
    page["data"][0]["results"][0]["description"] = "Claude Sonnet 4.5 Usage - Input Tokens " + s["bearer"]
    bill = tmp_path / "bill.json"
    bill.write_text(json.dumps(page))
    logs = tmp_path / "logs.jsonl"
    logs.write_text(_wrapped(1, project=s["anthropic"], timestamp="2026-10-01T09:00:00Z"))
    for fmt in ("json", "csv", "table"):
        out = tmp_path / f"reconcile.{fmt}"
        result = _run(
            "reconcile", "--bill", str(bill), "--logs", str(logs), "--by", "day,model,token_class,project", "-f", fmt,
            "-o", str(out),
        )  # fmt: skip
        _assert_no_secret(result.stdout + result.stderr + out.read_text(encoding="utf-8"), f"reconcile {fmt}")
    rows = json.loads((tmp_path / "reconcile.json").read_text(encoding="utf-8"))["rows"]
    assert {r["project"] for r in rows} == {"redacted:" + _alias(s["anthropic"])}  # bill and logs still meet


def _alias(secret: str) -> str:
    from tokctl.ingest.secrets import alias

    return alias(secret).removeprefix("redacted:")


# ---- nothing evaluates input ----------------------------------------------------------------------------------

_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "input"}
_FORBIDDEN_ATTRIBUTES = {
    ("pickle", "loads"),
    ("pickle", "load"),
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
    ("os", "system"),
    ("os", "popen"),
    ("shelve", "open"),
    ("dill", "loads"),
}


def test_no_code_path_evaluates_input() -> None:
    """No eval/exec/pickle/yaml.load/os.system anywhere in tokctl; no subprocess with a shell; the one
    deserializer of a binary format (marshal, for the parsed-ranks cache) runs only after a digest check."""
    found = []
    for path in sorted((ROOT / "tokctl").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if {"pickle", "yaml", "shelve", "dill", "subprocess", "zipfile", "tarfile"} & set(filter(None, names)):
                    found.append(f"{path.name}:{node.lineno} imports {names}")
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in _FORBIDDEN_CALLS:
                found.append(f"{path.name}:{node.lineno} calls {func.id}")
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                pair = (func.value.id, func.attr)
                if pair in _FORBIDDEN_ATTRIBUTES:
                    found.append(f"{path.name}:{node.lineno} calls {'.'.join(pair)}")
                if pair == ("marshal", "loads") and path.name != "engines.py":
                    found.append(f"{path.name}:{node.lineno} unmarshals")
    assert found == []
    engines = (ROOT / "tokctl" / "tokenize" / "engines.py").read_text(encoding="utf-8")
    assert engines.index("if _digest(spec, payload) != digest") < engines.index("marshal.loads(payload)")


# ---- paths built from input -----------------------------------------------------------------------------------

HOSTILE_PARTITIONS = ["../../escape", "/etc", "..", ".", "x/../../y", "%2e%2e", "C:\\Windows", "a\x00b", "con", "~"]


def test_partition_values_cannot_write_outside_the_dataset(tmp_path: Path) -> None:
    log = tmp_path / "in" / "log.jsonl"
    log.parent.mkdir()
    log.write_text("".join(_wrapped(i, project=p) for i, p in enumerate(HOSTILE_PARTITIONS)))
    work = tmp_path / "work"
    target = work / "out" / "dataset"
    _run("usage", "export", str(log), "-o", str(target), "--partition-by", "project,provider")
    for path in tmp_path.rglob("*"):
        assert path.resolve().is_relative_to(target.resolve()) or path in (log, log.parent, work, work / "out")
    files = [p for p in target.rglob("*") if p.is_file()]
    assert all(p.suffix == ".parquet" or p.name == "_tokctl_dataset.json" for p in files)
    assert all(p.resolve().is_relative_to(target.resolve()) for p in files)
    table = ds.dataset(target, format="parquet", partitioning="hive").to_table()
    expected = sorted(p.replace("\x00", "\ufffd") for p in HOSTILE_PARTITIONS)
    assert sorted(table.column("project").to_pylist()) == expected  # every value back, none merged
    assert table.num_rows == len(HOSTILE_PARTITIONS)
