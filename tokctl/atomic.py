"""Atomic writes: a temporary file (or staging directory) beside the target, fsync, then one rename.

A write that fails or is interrupted leaves the previous file intact. The temporary file is hidden
(``.NAME.XXXX.tmp``) and locked (``flock``) while its writer lives; a process killed outright (SIGKILL,
power loss) cannot remove it, so the next write to the same target removes every such leftover whose
writer is gone, and puts back a previous output that a kill caught in the middle of its two-rename swap.

What a target may be (:func:`resolve_output`): a regular file (its mode and owner are kept), a new path
(created with the umask's mode), a symlink to a regular file (written through: the link stays), or a tokctl
dataset (``*.parquet`` files under ``key=value`` directories, nothing else). A directory that is not one
(empty, or of the user's own files), a FIFO, a device, a socket or a dangling symlink is refused, never
replaced. Directories created for the target are removed again when the write fails.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Target:
    """Where a write lands: ``path`` with symlinks followed, and what is there now (None: nothing)."""

    path: Path
    before: os.stat_result | None
    through_link: bool = False


_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def resolve_output(target: str | os.PathLike[str]) -> Target:
    """The path a write to ``target`` replaces, or an OutputError when it may not be replaced."""
    given = Path(target)
    path, link = given, given.is_symlink()
    if link:
        path = Path(os.path.realpath(given))
        if not os.path.lexists(path):
            raise OutputError(
                f"cannot write {given}: it is a symlink to {path}, which does not exist",
                fix="create the file the link points to, or give -o another path",
            )
    try:
        before: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise _cannot_write(given, exc) from None
    if before is not None:
        kind = stat.S_IFMT(before.st_mode)
        if kind == stat.S_IFDIR:
            check_replaceable(path)
        elif kind != stat.S_IFREG:
            raise OutputError(
                f"cannot write {given}: it is {_KINDS.get(kind, 'not a regular file')}; it was left as it is",
                fix="give -o the path of a regular file (to print the result, leave -o out)",
            )
    return Target(path, before, link)


def _prepare(target: Path) -> tuple[Target, list[Path]]:
    """The resolved target and the directories created for it (removed again if the write fails)."""
    resolved = resolve_output(target)
    created: list[Path] = []
    parent = resolved.path.parent
    missing = []
    while not os.path.lexists(parent) and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    try:
        for directory in reversed(missing):
            directory.mkdir()
            created.append(directory)
    except (FileExistsError, NotADirectoryError):
        _remove_created(created)
        raise OutputError(
            f"cannot write {target}: a part of its directory path is a file", fix="check the output path"
        ) from None
    except OSError as exc:
        _remove_created(created)
        raise _cannot_write(target, exc) from None
    if not resolved.path.parent.is_dir():
        raise OutputError(f"cannot write {target}: a part of its directory path is a file", fix="check the output path")
    return resolved, created


def _remove_created(created: list[Path]) -> None:
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            directory.rmdir()


def umask() -> int:
    """The process's umask, read without changing it where Linux allows (os.umask can only set it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # pragma: no cover - not Linux
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def adopt(result: Path, target: Target) -> None:
    """Give ``result`` the mode and owner of the file it replaces, or the umask's mode when it is new."""
    before = target.before
    if before is not None and stat.S_ISREG(before.st_mode) and result.is_file():
        os.chmod(result, stat.S_IMODE(before.st_mode))
        if hasattr(os, "chown"):
            with contextlib.suppress(OSError):  # another owner needs privileges: the group is kept when allowed
                os.chown(result, before.st_uid, before.st_gid)
            with contextlib.suppress(OSError):
                os.chown(result, -1, before.st_gid)
        return
    os.chmod(result, (0o777 if result.is_dir() else 0o666) & ~umask())


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a locked temporary path next to ``target``; on success it replaces ``target`` (or, through a
    symlink, the file the link points to)."""
    given = Path(target)
    resolved, created = _prepare(given)
    final = resolved.path
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    except OSError as exc:
        _remove_created(created)
        raise _cannot_write(given, exc) from None
    _lock(fd)
    tmp = Path(tmp_name)
    try:
        sweep_leftovers(final)
        yield tmp
        try:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            adopt(tmp, resolve_output(given))
            if final.is_dir() and not final.is_symlink():
                _swap(tmp, final)
            else:
                os.replace(tmp, final)
        except OSError as exc:
            if isinstance(exc, OutputError):
                raise
            raise _cannot_write(given, exc) from None
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        _remove_created(created)
        raise
    finally:
        if tmp.exists():
            tmp.unlink()
        os.close(fd)


@contextlib.contextmanager
def staging_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A locked temporary directory beside ``target`` (same file system, so results move in by rename);
    removed afterwards, whatever happens."""
    given = Path(target)
    resolved, created = _prepare(given)
    final = resolved.path
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        _remove_created(created)
        raise _cannot_write(given, exc) from None
    fd = os.open(staging, os.O_RDONLY)
    _lock(fd)
    try:
        sweep_leftovers(final)
        yield staging
    except BaseException:
        os.close(fd)
        shutil.rmtree(staging, ignore_errors=True)
        _remove_created(created)
        raise
    else:
        os.close(fd)
        shutil.rmtree(staging, ignore_errors=True)


def move_into_place(result: Path, target: Path) -> None:
    """Put ``result`` (a file or a dataset directory) at ``target`` by rename; the previous target, if any,
    is moved aside first and removed after (a directory only when it is a tokctl dataset). A symlink to a
    regular file is written through; it cannot take a dataset (a directory)."""
    resolved = resolve_output(target)
    final = resolved.path
    if resolved.through_link and result.is_dir():
        raise OutputError(
            f"cannot write a partitioned dataset through the symlink {target}",
            fix="give -o a new path or the directory itself",
        )
    try:
        adopt(result, resolved)
        if resolved.before is None:
            os.replace(result, final)
        elif stat.S_ISDIR(resolved.before.st_mode) or result.is_dir():
            _swap(result, final)
        else:
            os.replace(result, final)
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
    """Refuse to replace a directory unless it is a dataset tokctl writes: ``key=value`` directories at the
    top, ``*.parquet`` files inside them, nothing else (an empty directory is not one either)."""
    if (directory / _DATASET_MANIFEST).is_file():
        return  # a dataset tokctl's store wrote (its manifest says so)
    top = True
    found = False
    for root, dirs, files in os.walk(directory):
        inside = Path(root).relative_to(directory)
        for name in dirs:
            if "=" not in name:
                _refuse(directory, inside / name)
        for name in files:
            if top or not name.endswith(".parquet"):
                _refuse(directory, inside / name)
            found = True
        top = False
    if not found:
        raise OutputError(
            f"{directory} is an empty directory, not a tokctl dataset; it was left as it is",
            fix="give -o a file path (or remove the empty directory yourself)",
        )


def _refuse(directory: Path, foreign: Path) -> None:
    raise OutputError(
        f"{directory} is a directory that is not a tokctl dataset (it holds {foreign}); it was left as it is",
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
