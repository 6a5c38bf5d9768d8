"""Sharing a list of tasks between this process and one forked child, for engines that hold the GIL.

The tasks' numbers go into a pipe before the fork; each process takes the next one with a one-byte read (atomic
between readers), so whichever is free takes the next task and both finish at about the same time. The child
sends its results as JSON through a second pipe and leaves with ``os._exit`` (no atexit handlers, no flush of
the parent's buffered stdout). When the child fails (dies, exits non-zero, sends nothing readable) the parent
runs every task it did not run itself: results are always whole, never partial. Forking is offered only where
it is safe: fork, two CPUs or more, and a process with one thread, as Python and /proc/self/task (Linux) both
tell (a fork copies only the calling thread; locks held by others would stay locked in the child). Elsewhere
one process counts.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tokctl import settings

DISABLE_ENV = settings.FORK  # "0" keeps counting in one process
MAX_TASKS = 255  # task numbers travel as single bytes
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class ChildReport:
    """How the last child went (for the benchmarks and tests)."""

    ok: bool
    max_rss_kb: int
    exit_status: int
    tasks: int  # how many tasks the child's results covered


last_child: ChildReport | None = None


def available() -> bool:
    """Whether this process may fork a counting child now."""
    if not settings.current().fork:
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
        except OSError:  # no /proc (macOS, BSD): native threads cannot be ruled out, so no fork
            return False
        time.sleep(0.0005 * (attempt + 1))
    return False


def run_shared(
    tasks: Sequence[T], run: Callable[[T], R], encode: Callable[[R], Any], decode: Callable[[Any], R]
) -> list[R]:
    """[run(task) for task in tasks], the tasks shared between this process and a forked child.

    The child's results travel as JSON: ``encode`` turns a result into JSON values, ``decode`` turns them back
    and raises on anything malformed (the child's share is then run here)."""
    global last_child
    if not 0 < len(tasks) <= MAX_TASKS:
        raise ValueError(f"between 1 and {MAX_TASKS} tasks, not {len(tasks)}")
    queue_read, queue_write = os.pipe()
    os.write(queue_write, bytes(range(len(tasks))))
    os.close(queue_write)  # an empty queue then reads as end of file
    result_read, result_write = os.pipe()
    gc.freeze()  # the collector would otherwise write to every inherited object and unshare its page
    try:
        pid = os.fork()
    except OSError:
        pid = -1
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        _child(queue_read, result_read, result_write, tasks, lambda task: encode(run(task)))
    gc.unfreeze()
    os.close(result_write)
    results: dict[int, R] = {}
    reaped = pid < 0
    try:
        _claim_and_run(queue_read, tasks, run, results)
        data = b""
        if pid > 0:
            with os.fdopen(result_read, "rb") as pipe:
                result_read = -1
                data = pipe.read()
            try:
                _, status, usage = os.wait4(pid, 0)
                exit_status, max_rss = os.waitstatus_to_exitcode(status), usage.ru_maxrss
            except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler): its outcome is unknown
                exit_status, max_rss = -1, 0
            reaped = True
    finally:
        os.close(queue_read)
        if result_read >= 0:
            os.close(result_read)
        if not reaped:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    if pid > 0:
        theirs = _decode(data, exit_status, len(tasks), decode)
        last_child = ChildReport(theirs is not None, max_rss, exit_status, len(theirs or {}))
        for number, result in (theirs or {}).items():
            results.setdefault(number, result)
    for number, task in enumerate(tasks):  # the child's share when it failed, or everything when fork failed
        if number not in results:
            results[number] = run(task)
    return [results[number] for number in range(len(tasks))]


def _claim_and_run(queue: int, tasks: Sequence[T], run: Callable[[T], R], results: dict[int, R]) -> None:
    while True:
        claimed = os.read(queue, 1)
        if not claimed:
            return
        results[claimed[0]] = run(tasks[claimed[0]])


def _decode(data: bytes, exit_status: int, tasks: int, decode: Callable[[Any], R]) -> dict[int, R] | None:
    if exit_status != 0 or not data:
        return None
    try:
        raw = json.loads(data)
        results = {int(number): decode(value) for number, value in raw.items()}
    except Exception:  # anything malformed: the child's share is counted here instead
        return None
    if not all(0 <= number < tasks for number in results):
        return None
    return results


def _child(  # pragma: no cover - runs in the child
    queue: int, unused: int, out: int, tasks: Sequence[T], run: Callable[[T], Any]
) -> None:
    status = 1
    try:
        os.close(unused)
        results: dict[int, Any] = {}
        _claim_and_run(queue, tasks, run, results)
        view = memoryview(json.dumps(results, separators=(",", ":")).encode("utf-8"))
        while view:
            view = view[os.write(out, view) :]
        status = 0
    except BaseException:
        status = 1
    finally:
        os._exit(status)
