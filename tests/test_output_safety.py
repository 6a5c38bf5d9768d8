"""What ``-o`` may replace (issue 19, hostile-input class 1: data loss through ``-o``).

``-o`` writes only a regular file or a tokctl dataset. A symlink to a regular file is written through (the
link stays, its target gets the new contents, as dotfile managers expect); a replaced file keeps its mode and
owner; a new file honours the umask. A directory that is not a tokctl dataset (a directory of the user's own
Parquet files, an empty directory), a FIFO, a device or a socket is refused with exit 2 and one error line.
A run that read nothing replaces nothing, and a failed run leaves no directory it created behind.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tokctl import atomic
from tokctl.cli.app import app
from tokctl.errors import OutputError

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "examples" / "logs" / "openai_chat.jsonl"

COMMANDS = {
    "export": ["usage", "export", str(LOG), "--format", "parquet", "-o"],
    "export-partitioned": ["usage", "export", str(LOG), "--partition-by", "provider", "-o"],
    "report": ["usage", "report", str(LOG), "-o"],
    "count": ["count", str(LOG), "-o"],
}


def _run(args: list[str]) -> object:
    result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output
    return result


def _one_error(result: object) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # type: ignore[attr-defined]
    assert len(errors) == 1, result.stderr  # type: ignore[attr-defined]
    return errors[0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_directory_of_the_users_own_parquet_files_is_refused(command: str, tmp_path: Path) -> None:
    victim = tmp_path / "mine"
    victim.mkdir()
    pq.write_table(pa.table({"a": [1, 2]}), victim / "sales.parquet")
    result = _run([*COMMANDS[command], str(victim)])
    assert result.exit_code == 2, result.output
    assert "not a tokctl dataset" in _one_error(result)
    assert pq.read_table(victim / "sales.parquet").num_rows == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_empty_directory_is_refused(command: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run([*COMMANDS[command], str(empty)])
    assert result.exit_code == 2, result.output
    assert "empty directory" in _one_error(result)
    assert empty.is_dir() and list(empty.iterdir()) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_fifo_is_refused_and_stays_a_fifo(command: str, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = _run([*COMMANDS[command], str(fifo)])
    assert result.exit_code == 2, result.output
    assert "is a FIFO" in _one_error(result)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def _device_or_socket(path: Path) -> str:
    """A character device made here (never /dev/null itself: a failing test would replace it), or, where
    mknod needs privileges this process lacks, a socket: both are files that are not regular."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return "character device"
    except PermissionError:
        import socket

        socket.socket(socket.AF_UNIX).bind(str(path))
        return "socket"


def test_a_device_or_socket_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "null"
    kind = _device_or_socket(target)
    with pytest.raises(OutputError, match=kind):
        atomic.write_bytes_atomic(target, b"x")
    assert not stat.S_ISREG(os.lstat(target).st_mode)
    link = tmp_path / "stdout"
    link.symlink_to(target)  # -o /dev/stdout style: a link to something that is not a regular file
    with pytest.raises(OutputError, match=kind):
        atomic.write_bytes_atomic(link, b"x")
    assert link.is_symlink()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_symlink_to_a_regular_file_is_written_through(command: str, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "out.data"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "out.data"
    link.symlink_to(real)
    result = _run([*COMMANDS[command], str(link)])
    if command == "export-partitioned":  # a dataset is a directory: a link to a file cannot hold it
        assert result.exit_code == 2, result.output
        assert real.read_text() == "old"
        return
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() != b"old"


def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "nowhere" / "x.json")
    result = _run([*COMMANDS["report"], str(link)])
    assert result.exit_code == 2, result.output
    assert "symlink" in _one_error(result)
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("command", ["export", "report", "count"])
def test_a_replaced_file_keeps_its_mode(command: str, tmp_path: Path) -> None:
    target = tmp_path / "out.data"
    target.write_text("old")
    target.chmod(0o640)
    result = _run([*COMMANDS[command], str(target)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_replaced_file_keeps_its_group(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    groups = [g for g in os.getgroups() if g != target.stat().st_gid]
    if groups:  # a second group to move the file to (root has every group); else the owner's own stays
        os.chown(target, -1, groups[0])
    before = target.stat()
    atomic.write_bytes_atomic(target, b"new")
    after = target.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert target.read_bytes() == b"new"


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_output_honours_the_umask(command: str, umask: int, tmp_path: Path) -> None:
    target = tmp_path / "new.data"
    old = os.umask(umask)
    try:
        result = _run([*COMMANDS[command], str(target)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    expected = (0o777 if target.is_dir() else 0o666) & ~umask
    assert stat.S_IMODE(target.stat().st_mode) == expected
    for inside in target.rglob("*"):
        assert stat.S_IMODE(inside.stat().st_mode) == (0o777 if inside.is_dir() else 0o666) & ~umask


@pytest.mark.parametrize(
    "inputs", ["no-such-file.jsonl", "logs/*.nothing", "empty-dir"], ids=["missing", "glob", "empty-dir"]
)
def test_an_export_that_read_nothing_replaces_nothing(inputs: str, tmp_path: Path) -> None:
    (tmp_path / "empty-dir").mkdir()
    good = tmp_path / "good.parquet"
    assert _run(["usage", "export", str(LOG), "-o", str(good)]).exit_code == 0
    before = good.read_bytes()
    result = _run(["usage", "export", str(tmp_path / inputs), "-o", str(good)])
    assert result.exit_code == 2, result.output
    assert str(tmp_path) in _one_error(result)  # the error names the input that gave nothing
    assert good.read_bytes() == before


def test_a_failed_run_leaves_no_new_directories(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "out.parquet"
    result = _run(["usage", "export", str(tmp_path / "missing.jsonl"), "-o", str(deep)])
    assert result.exit_code == 2, result.output
    assert list(tmp_path.iterdir()) == []
    bad_log = tmp_path / "bad.jsonl"
    bad_log.write_text("not json\n")
    result = _run(["usage", "export", str(bad_log), "--strict", "-o", str(deep)])
    assert result.exit_code == 2, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_a_tokctl_dataset_is_still_replaced(tmp_path: Path) -> None:
    target = tmp_path / "usage"
    assert _run([*COMMANDS["export-partitioned"], str(target)]).exit_code == 0
    assert _run([*COMMANDS["export"], str(target)]).exit_code == 0
    assert target.is_file() and pq.read_table(target).num_rows == 3
