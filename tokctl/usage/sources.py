"""Where every command that reads usage gets it: the store (tokctl Parquet, read as Arrow) or the logs.

:func:`check_inputs` makes a typo an error (exit 2) before anything is read; :func:`check_read` makes a read
that found nothing an error too, so no command prints an empty answer (or writes an empty file) as if all
were well. :func:`read_usage_any` and :func:`stream_usage_any` choose the store when every path is tokctl's
own Parquet, the log readers when none is; a mix is refused (a dataset holds priced, de-duplicated records,
logs do not, and adding them up would count a record twice).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tokctl.errors import InputNotFoundError, UsageError
from tokctl.ingest.accounting import Accounting
from tokctl.ingest.read import UsageResult

_GLOB_CHARS = frozenset("*?[")


def as_list(paths: Any) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def check_inputs(paths: Any) -> list[str]:
    """The paths as a list; InputNotFoundError (exit 2) for the first one that names nothing."""
    given = as_list(paths)
    if not given:
        raise InputNotFoundError("no input given", fix="name log files, directories, globs or tokctl datasets")
    for text in given:
        if text == "-" or os.path.exists(text):
            continue
        if _GLOB_CHARS & set(text) and glob.glob(text, recursive=True):
            continue
        raise InputNotFoundError(
            f"{text}: no such file or directory", fix="check the path (globs are expanded by tokctl when quoted)"
        )
    return given


def stored_paths(paths: Sequence[str]) -> bool:
    """True when every path is tokctl's Parquet (file or dataset); False when none is; a mix is refused."""
    from tokctl.usage.store import stored_kind

    kinds = [stored_kind(p) if p != "-" else None for p in paths]
    if all(k is not None for k in kinds):
        return True
    if any(k is not None for k in kinds):
        stored = next(p for p, k in zip(paths, kinds, strict=True) if k is not None)
        raise UsageError(
            f"{stored} is a tokctl dataset and the other inputs are logs",
            fix="ingest the logs into the dataset first (tokctl usage ingest LOG --into DATASET), then read it",
        )
    return False


def check_read(accounting: Accounting, paths: Sequence[str]) -> None:
    """InputNotFoundError when the read found no usage record at all (every path empty or unreadable)."""
    if accounting.parsed:
        return
    names = ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")
    if accounting.records:
        raise InputNotFoundError(
            f"no usage record could be read from {names} ({accounting.line()})",
            fix="check that these are usage logs (see docs/schema.md for the formats), or give --source/--mapping",
        )
    raise InputNotFoundError(f"no usage record in {names}", fix="check the paths")


def stream_usage_any(
    paths: Any,
    *,
    columns: Sequence[str] | None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    providers: Sequence[str] | None = None,
    accounting: Accounting | None = None,
    logs: Any = None,
) -> tuple[Iterator[Any], Accounting]:
    """(batches, accounting) from the store when the paths are stored, else from ``logs()`` (a callable
    taking the accounting and returning the log batches). The window prunes stored partitions; for logs the
    caller filters (reports do)."""
    given = check_inputs(paths)
    if stored_paths(given):
        from tokctl.usage.store import StoredAccounting, Window, scan

        stored = StoredAccounting()
        window = Window(since, until, frozenset(providers) if providers else None)
        return scan(given, columns, window, stored), stored
    acc = accounting if accounting is not None else Accounting()
    return logs(given, acc), acc


def read_usage_any(
    paths: Any,
    source: str | None = None,
    strict: bool = False,
    *,
    price: bool = False,
    columns: Sequence[str] | None = None,
    mapping: str | Path | None = None,
) -> UsageResult:
    """:func:`tokctl.read_usage_with_accounting`, or the stored table when the paths are tokctl Parquet;
    refuses inputs that name nothing or yield no record."""
    given = check_inputs(paths)
    if stored_paths(given):
        import pyarrow as pa

        from tokctl.schema import usage_schema
        from tokctl.usage.store import StoredAccounting, scan

        acc = StoredAccounting()
        batches = list(scan(given, columns, None, acc))
        schema = usage_schema() if columns is None else pa.schema([usage_schema().field(c) for c in columns])
        table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
        result = UsageResult(table, acc)
    else:
        from tokctl.usage.read import read_usage_with_accounting

        result = read_usage_with_accounting(given, source, strict, price=price, columns=columns, mapping=mapping)
    check_read(result.accounting, given)
    return result
