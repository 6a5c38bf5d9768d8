"""Counting with bpe_openai in two processes (tokctl.tokenize.forked, tokctl.tokenize.segments): the same counts
and per-file reports as one process, and the parent's own count of the child's half whenever the child fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reference_engines import reference
from tokctl.counting import api as counting
from tokctl.counting.api import count_paths
from tokctl.tokenize import fast_bpe, forked, segments
from tokctl.tokenize.engines import clear_engines

needs_fork = pytest.mark.skipif(
    fast_bpe.load_bindings() is None or not os.path.isdir("/proc/self/task"),
    reason="needs bpe_openai, and os.fork with /proc/self/task (Linux)",
)
TOKENIZERS = ["o200k_base", "cl100k_base"]
SMALL_PIECE = 16 << 10  # small test files still make many pieces
TEXT = "".join(
    [
        "Plain English with don't and WE'LL, numbers 1234567 and <|endoftext|> literals.\n",
        "    indented code(x) -> y  # comment\n\n    \n",
        "中文字幕，红楼梦第一回：甄士隐梦幻识通灵。😀👍🏽 e\u0301\n",
        "x = y;\n//comment\n\t\ttabs\n",
        "Zeile mit Umlauten äöü\n",
    ]
)


@pytest.fixture(autouse=True)
def fresh_engines() -> Iterator[None]:
    clear_engines()
    fast_bpe.forget_bindings()
    forked.last_child = None
    yield
    clear_engines()
    fast_bpe.forget_bindings()


def _files(tmp_path: Path) -> list[str]:
    """Several files: one with invalid UTF-8 bytes, a binary one, an empty one, UTF-16 text, a BOM'd UTF-8 one."""
    big = tmp_path / "big.txt"
    big.write_bytes((TEXT * 3000).encode("utf-8").replace(b"Zeile", b"Ze\xffile", 200))
    (tmp_path / "binary.bin").write_bytes(b"\x00\x01\x02" * 1000)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "utf16.txt").write_bytes("\ufeff".encode("utf-16-le") + (TEXT * 200).encode("utf-16-le"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + (TEXT * 500).encode("utf-8"))
    (tmp_path / "tail.txt").write_text(TEXT * 1500, encoding="utf-8")
    return [str(tmp_path / n) for n in ("bom.txt", "big.txt", "binary.bin", "empty.txt", "utf16.txt", "tail.txt")]


_SCRIPT = """
import json, os, sys
from tokctl.counting import api as counting
from tokctl.tokenize import forked
from tokctl.tokenize import segments
counting.FORK_AFTER_BYTES = int(os.environ["TEST_FORK_AFTER"])
segments.MIN_PIECE_BYTES = int(os.environ["TEST_MIN_PIECE"])
failure = os.environ.get("TEST_CHILD_FAILS")
if failure == "garbage":
    counting._segment_to_json = lambda result: ["not", "a", "count"]
elif failure:
    parent, count_segment = os.getpid(), counting._count_segment
    def fails_in_the_child(*args):
        if os.getpid() != parent:
            if failure == "dies":
                os._exit(3)
            raise RuntimeError("the child broke")
        return count_segment(*args)
    counting._count_segment = fails_in_the_child
sys.stdout.write("buffered before the fork\\n")
report = counting.count_paths(json.loads(os.environ["TEST_PATHS"]), tokenizers=["o200k_base", "cl100k_base"])
child = forked.last_child
print(json.dumps({"report": report.as_dict(), "child": child and [child.ok, child.exit_status]}, default=str))
"""


def _in_fresh_process(paths: list[str], *, fork_after: int = 0, child_fails: str = "") -> dict[str, Any]:
    """count_paths in a new interpreter: this test process may hold native threads (Rust pools of engines other
    tests loaded), with which tokctl rightly never forks."""
    env = {**os.environ, "TEST_FORK_AFTER": str(fork_after), "TEST_PATHS": json.dumps(paths)}
    env["TEST_MIN_PIECE"] = str(SMALL_PIECE if fork_after == 0 else segments.MIN_PIECE_BYTES)
    env["TEST_CHILD_FAILS"] = child_fails
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True, env=env).stdout
    first, rest = out.split("\n", 1)
    assert first == "buffered before the fork", "the child flushed the parent's stdout buffer"
    result: dict[str, Any] = json.loads(rest)
    return result


def _one_process(paths: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    with monkeypatch.context() as patch:
        patch.setenv(forked.DISABLE_ENV, "0")
        report: dict[str, Any] = json.loads(
            json.dumps(count_paths(paths, tokenizers=TOKENIZERS).as_dict(), default=str)
        )
        return report


@needs_fork
def test_several_files_give_the_same_report_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _files(tmp_path)
    sizes = segments.file_sizes(paths)
    assert sizes is not None
    monkeypatch.setattr(segments, "MIN_PIECE_BYTES", SMALL_PIECE)
    pieces = segments.pieces(paths, sizes)
    assert len(pieces) > 20
    assert len([p for p in pieces if p[0].index == 1]) > 10, "big.txt is cut into many pieces"
    result = _in_fresh_process(paths)
    assert result["child"] == [True, 0]
    report = result["report"]
    assert report == _one_process(paths, monkeypatch)
    by_path = {Path(f["path"]).name: f for f in report["files"]}
    assert by_path["big.txt"]["invalid_bytes"] == 200
    assert by_path["utf16.txt"]["encoding"] == "utf-16-le"
    assert [Path(s["path"]).name for s in report["skipped"]] == ["binary.bin"]
    text = (tmp_path / "big.txt").read_bytes().decode("utf-8", "replace")
    got = {c["tokenizer"]: c["tokens"] for c in by_path["big.txt"]["counts"]}
    assert got == {t: reference(t)(text) for t in TOKENIZERS}


@needs_fork
def test_the_whole_corpus_in_two_processes_matches_golden(corpus: Path) -> None:
    golden = json.loads((corpus / "golden_counts.json").read_text())
    parts = ["en", "code", "zh"]
    result = _in_fresh_process([str(corpus / f"{p}.txt") for p in parts], fork_after=counting.FORK_AFTER_BYTES)
    assert result["child"] == [True, 0]
    for part, file in zip(parts, result["report"]["files"], strict=True):
        assert {c["tokenizer"]: c["tokens"] for c in file["counts"]} == {
            t: golden[f"tiktoken {t} encode_ordinary"][part] for t in TOKENIZERS
        }, part
    assert {c["tokenizer"]: c["tokens"] for c in result["report"]["totals"]} == {
        t: sum(golden[f"tiktoken {t} encode_ordinary"][p] for p in parts) for t in TOKENIZERS
    }


@needs_fork
@pytest.mark.parametrize(("failure", "status"), [("raises", 1), ("dies", 3), ("garbage", 0)])
def test_a_failed_child_leaves_its_half_to_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str, status: int
) -> None:
    paths = _files(tmp_path)
    result = _in_fresh_process(paths, child_fails=failure)
    assert result["child"] == [False, status]
    assert result["report"] == _one_process(paths, monkeypatch)


@needs_fork
def test_small_inputs_and_processes_with_threads_do_not_fork(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork(*args: object) -> object:
        raise AssertionError("forked")

    monkeypatch.setattr(forked, "run_shared", no_fork)
    path = tmp_path / "small.txt"
    path.write_text(TEXT * 100, encoding="utf-8")
    small = count_paths([str(path)], tokenizers=TOKENIZERS)
    assert small.totals[0].tokens == reference("o200k_base")(TEXT * 100)

    monkeypatch.setattr(counting, "FORK_AFTER_BYTES", 0)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.available()
        assert count_paths([str(path)], tokenizers=TOKENIZERS).as_dict() == small.as_dict()
    finally:
        stop.set()
        thread.join()


def test_cuts_fall_after_a_newline_before_a_letter_and_only_in_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b";\n//c\n  y\n" * 50 + b"\nword\n" + b";\n//c\n" * 50)
    data = path.read_bytes()
    offsets = segments.cuts(str(path), len(data), 300)
    assert offsets and all(data[o - 1 : o + 4] == b"\nword" for o in offsets)
    assert segments.pieces([str(path)], [len(data)], 2) == [[segments.Segment(0, str(path))]], "pieces >= 256 KB"
    utf16 = tmp_path / "b.txt"
    utf16.write_bytes("\ufeff".encode("utf-16-le") + ("line\nword\n" * 100000).encode("utf-16-le"))
    size = utf16.stat().st_size
    assert segments.cuts(str(utf16), size, 1000) == []
    # A file with no cut point stays whole: one piece, so one process counts it.
    assert segments.pieces([str(utf16)], [size]) == [[segments.Segment(0, str(utf16))]]
