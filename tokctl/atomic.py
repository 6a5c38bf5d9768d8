"""Atomic writes: a temporary file (or staging directory) beside the target, fsync, then one rename.

A write that fails or is interrupted leaves the previous file intact. The temporary file is hidden
(``.NAME.XXXX.tmp``) and locked (``flock``) while its writer lives; a process killed outright (SIGKILL,
power loss) cannot remove it, so the next write to the same target removes every such leftover whose
writer is gone, and puts back a previous output that a kill caught in the middle of its two-rename swap.

A directory is only ever replaced when it holds nothing but a dataset tokctl writes (``*.parquet`` files
under ``key=value`` directories): an ``-o`` that names a directory of other files is refused, never emptied.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from tokctl.errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, no sweeping of leftovers
    fcntl = None  # type: ignore[assignment]

# A leftover younger than this is never swept: it may belong to a writer that has not taken its lock yet.
STALE_SECONDS = 10.0


def _cannot_write(target: Path, exc: OSError) -> OutputError:
    return OutputError(
        f"cannot write {target}: {exc.strerror or exc}",
        fix="check the output path, its permissions and the free space; the previous file, if any, is intact",
    )


def _lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` without waiting; False when another process holds it."""
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _abandoned(path: Path) -> bool:
    """True when no live process holds the lock of ``path`` (its writer was killed)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return _lock(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def sweep_leftovers(target: str | os.PathLike[str]) -> list[Path]:
    """Remove what killed writers of ``target`` left beside it; returns what was removed or restored."""
    target = Path(target)
    if fcntl is None:  # pragma: no cover
        return []
    found = []
    now = time.time()
    mine = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.(?:tmp|old)")
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*"):
        if not mine.fullmatch(leftover.name):
            continue
        try:
            young = now - leftover.lstat().st_mtime < STALE_SECONDS
        except OSError:
            continue
        if young or not _abandoned(leftover):
            continue
        previous = leftover / "old"
        if leftover.suffix == ".old" and not os.path.lexists(target) and os.path.lexists(previous):
            os.replace(previous, target)  # killed between its two renames: the previous output comes back
        _remove(leftover)
        found.append(leftover)
    return found


def _prepare(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        check_replaceable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            f"cannot write {target}: a part of its directory path is a file", fix="check the output path"
        ) from None
    except OSError as exc:
        raise _cannot_write(target, exc) from None


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a locked temporary path next to ``target``; on success it replaces ``target``."""
    target = Path(target)
    _prepare(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    _lock(fd)
    tmp = Path(tmp_name)
    try:
        sweep_leftovers(target)
        yield tmp
        try:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if target.is_dir() and not target.is_symlink():
                _swap(tmp, target)
            else:
                os.replace(tmp, target)
        except OSError as exc:
            raise _cannot_write(target, exc) from None
    finally:
        if tmp.exists():
            tmp.unlink()
        os.close(fd)


@contextlib.contextmanager
def staging_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A locked temporary directory beside ``target`` (same file system, so results move in by rename);
    removed afterwards, whatever happens."""
    target = Path(target)
    _prepare(target)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    fd = os.open(staging, os.O_RDONLY)
    _lock(fd)
    try:
        sweep_leftovers(target)
        yield staging
    finally:
        os.close(fd)
        shutil.rmtree(staging, ignore_errors=True)


def move_into_place(result: Path, target: Path) -> None:
    """Put ``result`` (a file or a dataset directory) at ``target`` by rename; the previous target, if any,
    is moved aside first and removed after (a directory only when it is a tokctl dataset)."""
    try:
        if not os.path.lexists(target):
            os.replace(result, target)
        elif target.is_dir() and not target.is_symlink():
            check_replaceable(target)
            _swap(result, target)
        elif result.is_dir():
            _swap(result, target)
        else:
            os.replace(result, target)
    except OSError as exc:
        raise _cannot_write(target, exc) from None


def _swap(result: Path, target: Path) -> None:
    """Two renames (the old target aside, the result in); the aside directory is locked, so a kill between
    them is repaired by the next write (sweep_leftovers puts the old target back)."""
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    fd = os.open(aside, os.O_RDONLY)
    _lock(fd)
    old = aside / "old"
    try:
        os.replace(target, old)
        try:
            os.replace(result, target)
        except OSError:
            os.replace(old, target)
            raise
    finally:
        os.close(fd)
        shutil.rmtree(aside, ignore_errors=True)


# The marker of a tokctl dataset (tokctl.usage.store.MANIFEST_NAME; core modules do not import usage/).
_DATASET_MANIFEST = "_tokctl_dataset.json"


def check_replaceable(directory: Path) -> None:
    """Refuse to replace a directory unless it only holds a dataset tokctl writes (or nothing)."""
    for root, dirs, files in os.walk(directory):
        inside = Path(root).relative_to(directory)
        for name in dirs:
            if "=" not in name:
                _refuse(directory, inside / name)
        for name in files:
            if not name.endswith(".parquet") and name != _DATASET_MANIFEST:
                _refuse(directory, inside / name)


def _refuse(directory: Path, foreign: Path) -> None:
    raise OutputError(
        f"{directory} is a directory that holds more than a tokctl dataset (e.g. {foreign}); it was left as it is",
        fix="give -o a new path (or the path of an earlier tokctl export), or remove the directory yourself",
    )


def write_atomic(target: str | os.PathLike[str], writer: Callable[[IO[Any]], object], *, binary: bool = False) -> None:
    """Open a temporary file, let ``writer`` fill it, then move it over ``target``."""
    with atomic_path(target) as tmp:
        mode = "wb" if binary else "w"
        kwargs: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": ""}
        try:
            with open(tmp, mode, **kwargs) as fh:
                writer(fh)
        except OSError as exc:
            raise _cannot_write(Path(target), exc) from None


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    write_atomic(target, lambda fh: fh.write(data), binary=True)


def write_parquet(table: Any, target: str | os.PathLike[str]) -> None:
    """Write a pyarrow Table to Parquet atomically."""
    import pyarrow.parquet as pq

    with atomic_path(target) as tmp:
        try:
            pq.write_table(table, tmp)
        except OSError as exc:
            raise _cannot_write(Path(target), exc) from None
