"""Running two halves of a piece of work on two cores when the engine holds the GIL: one half in a forked child.

The child runs its half, sends the pickled result through a pipe and leaves with ``os._exit`` (no atexit
handlers, no flush of the parent's buffered stdout). Whenever the child fails (dies, exits non-zero, sends
nothing readable) the parent runs the child's half itself: a result is always whole, never partial. Forking is
offered only where it is safe: POSIX fork, and a process with one thread (a fork copies only the calling thread;
locks held by others would stay locked in the child).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

DISABLE_ENV = "TOKCTL_FORK"  # "0" keeps counting in one process
A = TypeVar("A")
B = TypeVar("B")


@dataclass
class ChildReport:
    """How the last child went (for the benchmarks and tests)."""

    ok: bool
    max_rss_kb: int
    exit_status: int


last_child: ChildReport | None = None


def available() -> bool:
    """Whether this process may fork a counting child now."""
    if os.environ.get(DISABLE_ENV, "").strip() == "0":
        return False
    if not hasattr(os, "fork") or not hasattr(os, "wait4") or (os.cpu_count() or 1) < 2:
        return False
    import threading

    if threading.active_count() != 1:
        return False
    # Threads started outside Python (a Rust or C++ pool) are not in threading's list. A Python thread just
    # joined can still be listed for a moment while it exits, so look again briefly before giving up.
    for attempt in range(20):
        try:
            if len(os.listdir("/proc/self/task")) == 1:
                return True
        except OSError:
            return sys.platform != "linux"
        time.sleep(0.0005 * (attempt + 1))
    return False


def run_halves(mine: Callable[[], A], theirs: Callable[[], B]) -> tuple[A, B]:
    """(mine(), theirs()), with theirs() run in a forked child while mine() runs here."""
    global last_child
    read_fd, write_fd = os.pipe()
    gc.freeze()  # the collector would otherwise write to every inherited object and unshare its page
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        gc.unfreeze()
        return mine(), theirs()
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        _child(read_fd, write_fd, theirs)
    gc.unfreeze()
    os.close(write_fd)
    reaped = False
    try:
        own = mine()
        with os.fdopen(read_fd, "rb") as pipe:
            read_fd = -1
            data = pipe.read()
        _, status, usage = os.wait4(pid, 0)
        reaped = True
    finally:
        if read_fd >= 0:
            os.close(read_fd)
        if not reaped:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
                os.waitpid(pid, 0)
    exit_status = os.waitstatus_to_exitcode(status)
    result: tuple[bool, B] | None = None
    if exit_status == 0 and data:
        try:
            result = pickle.loads(data)
        except Exception:
            result = None
    ok = isinstance(result, tuple) and len(result) == 2 and result[0] is True
    last_child = ChildReport(ok, usage.ru_maxrss, exit_status)
    if ok and result is not None:
        return own, result[1]
    return own, theirs()


def _child(read_fd: int, write_fd: int, work: Callable[[], object]) -> None:  # pragma: no cover - child only
    status = 1
    try:
        os.close(read_fd)
        data = pickle.dumps((True, work()), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
        status = 0
    except BaseException:
        status = 1
    finally:
        os._exit(status)
