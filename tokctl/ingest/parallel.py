"""Parse on several processes: each task (a file, or a range of a large JSON-lines file) is read by a
worker into record batches; the parent takes the results in task order and merges the accounting.

Workers are started with ``spawn`` (pyarrow's threads make ``fork`` unsafe). At most two tasks per
worker are in flight, so memory stays bounded by a few chunks whatever the input size. A stream whose
events straddle two ranges of one file (an Anthropic ``message_start`` in one, its ``message_delta`` in
the next) loses that pairing: the delta is counted as ``orphan_stream_event``.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterator
from typing import Any

from tokctl.ingest.accounting import Accounting
from tokctl.ingest.options import ReadOptions
from tokctl.ingest.pipeline import Progress, Task, file_size, serial_batches


def parallel_batches(
    tasks: Iterator[Task], workers: int, options: ReadOptions, acc: Accounting, meter: Progress
) -> Iterator[tuple[Any, Any]]:
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    sent = options.for_worker()
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque[tuple[Task, Future[Any]]] = deque()
        try:
            for task in tasks:
                pending.append((task, pool.submit(work, task, sent)))
                if len(pending) >= 2 * workers:
                    yield from _collect(*pending.popleft(), acc, meter)
            while pending:
                yield from _collect(*pending.popleft(), acc, meter)
        finally:
            for _, future in pending:
                future.cancel()


def _collect(task: Task, future: Any, acc: Accounting, meter: Progress) -> Iterator[tuple[Any, Any]]:
    batches, part = future.result()
    acc.merge(part)
    meter.done += task.length if task.length is not None else file_size(task.path)
    meter.report(0)
    yield from batches


def work(task: Task, options: ReadOptions) -> tuple[list[tuple[Any, Any]], Accounting]:
    """In a worker: every batch of one task, and what the task did with its records."""
    gc.disable()
    acc = Accounting()
    return list(serial_batches(iter([task]), options, acc, Progress(None))), acc
