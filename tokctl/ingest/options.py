"""What a usage read is asked for, as one value passed from the entry points down to every task."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tokctl.ingest.batch import BATCH_ROWS
from tokctl.ingest.generic import Mapping


@dataclass(frozen=True)
class ReadOptions:
    """``source``: one of tokctl.ingest.SOURCES to accept only that family (None: detected per record).
    ``strict``: stop at the first bad record. ``mapping``: a column mapping for CSV and other generic logs.
    ``workers``: parsing processes (1: this one; None: ``TOKCTL_WORKERS``, else by input size).
    ``progress``: called with (bytes done, bytes total) after each batch; it stays in this process.
    """

    source: str | None = None
    strict: bool = False
    mapping: Mapping | None = None
    workers: int | None = 1
    progress: Callable[[int, int], None] | None = None
    batch_rows: int = BATCH_ROWS

    @classmethod
    def of(
        cls,
        source: str | None = None,
        strict: bool = False,
        mapping: str | Path | Mapping | None = None,
        workers: int | None = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> ReadOptions:
        """The options of the public arguments: a mapping given as an id or a path is loaded here."""
        if mapping is not None and not isinstance(mapping, Mapping):
            from tokctl.ingest.generic import load_mapping

            mapping = load_mapping(mapping)
        return cls(source, strict, mapping, workers, progress)

    def for_worker(self) -> ReadOptions:
        """What a worker process gets (a progress callback does not cross processes)."""
        return dataclasses.replace(self, progress=None)
