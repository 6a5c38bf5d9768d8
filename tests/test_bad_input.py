"""The bad-input corpus (tests/data/bad/cases.toml): every case through the CLI, with the documented outcome.

For each case: the documented exit code; stderr holds the expected fragment (for exit 2, in the one and only
``error:`` line, which names the file and line where there is one); no traceback; no output file left behind
when the exit code says nothing was produced (and none of tokctl's temporaries either); and when the command
reads usage logs, its accounting adds up (records read = parsed + skipped) and matches the case.

Large inputs are generated here rather than committed: a 200 MB single line (``TOKCTL_BAD_LINE_MB`` makes it
smaller for a quick local run), 2^63 token counts, JSON nested 100,000 deep, gzip files cut short.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tomllib
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tokctl.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "bad"
CASES: list[dict[str, Any]] = tomllib.loads((DATA / "cases.toml").read_text(encoding="utf-8"))["case"]
LINE_MB = int(os.environ.get("TOKCTL_BAD_LINE_MB", "200"))
ACCOUNTING = re.compile(r"usage: (\d+) records read = (\d+) parsed \+ (\d+) skipped")


# ---- inputs built at test time ---------------------------------------------------------------------------------


def _chat_record(index: int, **usage: Any) -> str:
    counts = {"prompt_tokens": 100, "completion_tokens": 20, **usage}
    record = {"id": f"chatcmpl-{index}", "object": "chat.completion", "created": 1794819720 + index}
    return json.dumps({**record, "model": "gpt-4o-2024-08-06", "usage": counts}) + "\n"


def _write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def text_200mb_line(tmp: Path) -> Path:
    path = tmp / "one-line.txt"
    with open(path, "w", encoding="utf-8") as fh:
        block = "lorem ipsum dolor sit amet " * 40_000  # ~1 MB, no newline anywhere
        for _ in range(LINE_MB):
            fh.write(block[: 1 << 20])
    return path


def log_200mb_line(tmp: Path) -> Path:
    path = tmp / "one-line.jsonl"
    with open(path, "wb") as fh:
        fh.write(b'{"note": "')
        for _ in range(LINE_MB):
            fh.write(b"x" * (1 << 20))
        fh.write(b'"}\n')
        fh.write(_chat_record(2).encode())
    return path


def chat_nested(tmp: Path) -> Path:
    return _write(tmp / "nested.json", "[" * 100_000 + "]" * 100_000)


def log_nested(tmp: Path) -> Path:
    return _write(tmp / "nested.jsonl", '{"usage": ' + "[" * 100_000 + "]" * 100_000 + "}\n" + _chat_record(2))


def bill_nested(tmp: Path) -> Path:
    return _write(tmp / "nested.json", '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}")


def log_tokens_2_pow_63(tmp: Path) -> Path:
    return _write(tmp / "huge.jsonl", _chat_record(1, prompt_tokens=2**63) + _chat_record(2))


def log_tokens_10_pow_30(tmp: Path) -> Path:
    return _write(tmp / "huge.jsonl", _chat_record(1, completion_tokens=10**30) + _chat_record(2))


def log_tokens_sum_past_int64(tmp: Path) -> Path:
    lines = (_chat_record(i, prompt_tokens=2**53 - 1) for i in range(1025))
    return _write(tmp / "many.jsonl", "".join(lines))


def log_cost_1e30(tmp: Path) -> Path:
    spend = (DATA / "logs" / "cost-text.jsonl").read_text(encoding="utf-8").splitlines()
    return _write(tmp / "spend.jsonl", spend[0].replace('"seven cents"', "1e30") + "\n" + spend[1] + "\n")


def log_gzip_cut_short(tmp: Path) -> Path:
    """100 whole records, then the stream stops in the middle of the 101st."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = compressor.compress("".join(_chat_record(i) for i in range(100)).encode())
    head += compressor.flush(zlib.Z_SYNC_FLUSH)
    tail = compressor.compress(_chat_record(100).encode()) + compressor.flush()
    return _write(tmp / "cut.jsonl.gz", head + tail[: len(tail) // 3])


def bill_tokens_2_pow_63(tmp: Path) -> Path:
    text = (DATA / "bills" / "tokens-text.json").read_text(encoding="utf-8")
    return _write(tmp / "usage.json", text.replace('"ten"', str(2**63)))


def bill_gzip_cut_short(tmp: Path) -> Path:
    text = (DATA / "bills" / "csv-ok.csv").read_text(encoding="utf-8")
    data = gzip.compress((text * 200).encode())
    return _write(tmp / "bill.csv.gz", data[: len(data) // 2])


def bill_csv_big_field(tmp: Path) -> Path:
    header = (DATA / "bills" / "csv-ok.csv").read_text(encoding="utf-8").splitlines()[0]
    return _write(tmp / "bill.csv", header + "\n2026-10-01," + "x" * (17 << 20) + ",输出,5,tokens,0.01,CNY\n")


GENERATORS: dict[str, Callable[[Path], Path]] = {
    f.__name__: f
    for f in (
        text_200mb_line,
        log_200mb_line,
        chat_nested,
        log_nested,
        bill_nested,
        log_tokens_2_pow_63,
        log_tokens_10_pow_30,
        log_tokens_sum_past_int64,
        log_cost_1e30,
        log_gzip_cut_short,
        bill_tokens_2_pow_63,
        bill_gzip_cut_short,
        bill_csv_big_field,
    )
}


# ---- running a case -------------------------------------------------------------------------------------------


def _prepare(case: dict[str, Any], tmp: Path) -> tuple[list[str], dict[str, str], Path]:
    inputs = tmp / "in"
    inputs.mkdir()
    source = GENERATORS[case["generate"]](inputs) if "generate" in case else DATA / case["file"]
    out = tmp / "out" / case.get("out", "out.json")
    out.parent.mkdir()
    subst = {"{file}": str(source), "{data}": str(DATA), "{out}": str(out)}

    def fill(text: str) -> str:
        for key, value in subst.items():
            text = text.replace(key, value)
        return text

    return [fill(a) for a in case["args"]], {"message": fill(case["message"])}, out


def _check(case: dict[str, Any], code: int, stdout: str, stderr: str, message: str, out: Path) -> None:
    assert code == case["exit"], f"exit {code}, expected {case['exit']}; stderr: {stderr}"
    assert "Traceback" not in stdout + stderr
    assert "internal error" not in stderr
    assert message in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    if case["exit"] == 2:
        assert len(errors) == 1, stderr
        assert message in errors[0] or not message.startswith("error:")
        assert not os.path.lexists(out), "exit 2 must leave no output"
    else:
        assert errors == [], stderr
        assert out.exists(), "a finished command writes its -o file"
    assert sorted(p.name for p in out.parent.iterdir()) == ([out.name] if out.exists() else []), "no temporaries"
    found = ACCOUNTING.search(stderr)
    if found:
        records, parsed, skipped = map(int, found.groups())
        assert records == parsed + skipped
        if "accounting" in case:
            assert [records, parsed, skipped] == case["accounting"]
        if out.suffix == ".json" and case["args"][:2] == ["usage", "report"]:
            doc = json.loads(out.read_text(encoding="utf-8"))["accounting"]
            assert [doc["records"], doc["parsed"], doc["skipped"]] == [records, parsed, skipped]
    else:
        assert "accounting" not in case, "the case expects an accounting line on stderr"


# Inputs generated at 200 MB: seconds each, so their cases are marked slow (.ci/run still runs them).
_LARGE = {"text_200mb_line", "log_200mb_line"}


def _params(cases: list[dict[str, Any]]) -> list[Any]:
    """A case whose fix has not landed is a strict xfail: it fails the suite once it starts to pass."""
    return [pytest.param(c, id=c["id"], marks=_marks(c)) for c in cases]


def _marks(case: dict[str, Any]) -> list[Any]:
    marks = [pytest.mark.xfail(reason=case["pending"], strict=True)] if "pending" in case else []
    return marks + ([pytest.mark.slow] if case.get("generate") in _LARGE else [])


@pytest.mark.parametrize("case", _params(CASES))
def test_bad_input(case: dict[str, Any], tmp_path: Path) -> None:
    args, expected, out = _prepare(case, tmp_path)
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    _check(case, result.exit_code, result.stdout, result.stderr, expected["message"], out)


SUBPROCESS = [c for c in CASES if c.get("subprocess")]


@pytest.mark.parametrize("case", _params(SUBPROCESS))
def test_bad_input_in_a_real_process(case: dict[str, Any], tmp_path: Path) -> None:
    args, expected, out = _prepare(case, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TOKCTL_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tokctl", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    _check(case, proc.returncode, proc.stdout, proc.stderr, expected["message"], out)


def test_the_corpus_is_large_and_covers_every_kind_of_input() -> None:
    assert len(CASES) >= 60
    assert len({c["id"] for c in CASES}) == len(CASES)
    kinds = {c["id"].split("-")[0] for c in CASES}
    assert {"count", "chat", "log", "bill"} <= kinds
    committed = {c["file"] for c in CASES if "file" in c}
    for name in committed:
        assert (DATA / name).exists(), name
    assert {c["generate"] for c in CASES if "generate" in c} == set(GENERATORS)
    assert len(SUBPROCESS) >= 5
