"""Input identity (issue 19, hostile-input class 3): a file is read once whatever it is called, and an input
that gives no record is a skipped input with its reason, never a skipped record.

Files are known by (device, inode): relative, absolute and ``./`` names, a symlink beside its target and a glob
through a symlink loop all count one file once. In a directory only regular files are opened; a FIFO (which
would block the read forever), a dangling symlink and a directory cycle are reported.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

import tokctl

CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1794819720, "model": "gpt-4o-2024-08-06"}


def _log(path: Path, n: int = 3) -> Path:
    lines = [json.dumps({**CHAT, "id": f"chatcmpl-{i}", "usage": {"prompt_tokens": 10, "completion_tokens": 1}})
             for i in range(n)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(paths: list[str]) -> tokctl.ingest.accounting.Accounting:  # type: ignore[name-defined]
    return tokctl.read_usage_with_accounting(paths).accounting


def test_the_same_file_named_three_ways_counts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _log(tmp_path / "a.jsonl")
    monkeypatch.chdir(tmp_path)
    acc = _read(["a.jsonl", str(tmp_path / "a.jsonl"), "./a.jsonl"])
    assert (acc.records, acc.parsed, acc.skipped) == (3, 3, 0)
    assert acc.inputs["same_file"].count == 2


def test_a_symlink_beside_its_target_counts_once(tmp_path: Path) -> None:
    _log(tmp_path / "a.jsonl")
    (tmp_path / "b.jsonl").symlink_to(tmp_path / "a.jsonl")
    acc = _read([str(tmp_path)])
    assert (acc.records, acc.parsed) == (3, 3)
    assert acc.inputs["same_file"].count == 1


def test_a_symlink_loop_is_reported_and_read_once(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    _log(logs / "a.jsonl")
    (logs / "loop").symlink_to(logs)
    acc = _read([str(logs)])
    assert (acc.records, acc.parsed) == (3, 3)
    assert "symlink_cycle" in acc.inputs
    glob_acc = _read([str(logs / "**" / "*.jsonl")])
    assert (glob_acc.records, glob_acc.parsed) == (3, 3)


def test_a_fifo_and_a_dangling_symlink_in_a_log_directory_are_reported_never_opened(tmp_path: Path) -> None:
    _log(tmp_path / "a.jsonl")
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    done: list[object] = []
    reader = threading.Thread(target=lambda: done.append(_read([str(tmp_path)])), daemon=True)
    reader.start()
    reader.join(30)
    assert done, "the read blocked on the FIFO"
    acc = done[0]
    assert (acc.records, acc.parsed) == (3, 3)  # type: ignore[attr-defined]
    assert acc.inputs["not_a_regular_file"].first.startswith(str(tmp_path / "pipe.jsonl"))  # type: ignore[attr-defined]
    assert "dangling_symlink" in acc.inputs  # type: ignore[attr-defined]


def test_an_unreadable_file_is_a_skipped_input_not_a_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokctl.ingest import pipeline

    def denied(path: Path) -> bool:  # what opening a file without read permission does (root is never refused)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pipeline, "is_plain_json_lines", denied)
    path = _log(tmp_path / "secret.jsonl")
    acc = _read([str(path)])
    assert (acc.records, acc.skipped) == (0, 0)
    assert acc.inputs["unreadable"].count == 1
    assert "1 input(s) skipped [unreadable 1" in acc.line()


def test_a_missing_file_is_a_skipped_input_not_a_record(tmp_path: Path) -> None:
    acc = _read([str(tmp_path / "nope.jsonl")])
    assert (acc.records, acc.skipped) == (0, 0)
    assert "1 input(s) skipped [missing_file 1" in acc.line()
    assert acc.to_dict()["inputs_skipped"]["missing_file"]["count"] == 1
