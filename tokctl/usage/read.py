"""Usage logs read and priced: the reads behind ``tokctl.read_usage`` and the usage commands.

>>> import tokctl
>>> table = tokctl.read_usage(["examples/logs"])                      # doctest: +SKIP
>>> result = tokctl.read_usage_with_accounting(["logs/"], price=True)  # doctest: +SKIP
>>> result.accounting.line()                                          # doctest: +SKIP
'usage: 120 records read = 117 parsed + 3 skipped [...]; 2 duplicates collapsed; 1 unpriced'

Reading is tokctl.ingest (records -> canonical batches, duplicates collapsed); this module adds the pricing
(tokctl.pricing.price_table, batch by batch) and counts what stayed unpriced. pyarrow is imported only when a
table is built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokctl.ingest.accounting import Accounting
from tokctl.ingest.options import ReadOptions
from tokctl.ingest.read import UsageResult, as_table, stream_batches

__all__ = [
    "UsageResult",
    "count_unpriced",
    "priced_batches",
    "read_usage",
    "read_usage_with_accounting",
    "stream_usage",
]


def read_usage(
    paths: Any,
    source: str | None = None,
    strict: bool = False,
    *,
    mapping: str | Path | None = None,
    price: bool = False,
) -> Any:
    """Read usage logs into one canonical table (duplicates collapsed); see read_usage_with_accounting.

    ``paths``: files, directories or glob patterns (plain, .gz or .zst). ``source``: one of
    :data:`tokctl.ingest.SOURCES` to accept only that family (auto-detected per record by default). ``strict``:
    stop at the first bad record with an :class:`~tokctl.errors.InputFormatError` naming its file:line.
    """
    return read_usage_with_accounting(paths, source, strict, mapping=mapping, price=price).table


def read_usage_with_accounting(
    paths: Any,
    source: str | None = None,
    strict: bool = False,
    *,
    mapping: str | Path | None = None,
    price: bool = False,
    columns: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = 1,
    price_at: dt.datetime | None = None,
) -> UsageResult:
    """Read usage logs; the result holds the table and its :class:`~tokctl.ingest.accounting.Accounting`.

    ``price=True`` fills cost, currency and price_ref through tokctl.pricing.price_table (batch by batch)
    and counts the unpriced rows; records without a timestamp are priced at ``price_at`` when it is given
    (else they are unpriced ``no_timestamp``). ``columns`` keeps only those columns (less memory for large reads).
    ``workers``: parsing processes (see tokctl.ingest.read.iter_batches; None picks by input size).
    """
    accounting = Accounting()
    options = ReadOptions.of(source, strict, mapping, workers, progress)
    batches = list(_collapsed(paths, options, accounting, price, price_at, columns, None))
    return UsageResult(as_table(batches, columns), accounting)


def stream_usage(
    paths: Any,
    source: str | None = None,
    strict: bool = False,
    *,
    mapping: str | Path | None = None,
    price: bool = False,
    columns: Sequence[str] | None = None,
    accounting: Accounting | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = 1,
    price_at: dt.datetime | None = None,
    spill_dir: Path | None = None,
) -> Iterator[Any]:
    """Canonical record batches with duplicates collapsed, holding the read's batches until the end.

    Duplicates can only be known once every record is read, so this keeps the (priced, projected)
    batches of the read and yields them filtered at the end: in memory, or, with ``spill_dir``, in a Parquet
    file there (memory then holds 8 bytes a record for the duplicate check, and one batch).
    """
    acc = accounting if accounting is not None else Accounting()
    yield from _collapsed(paths, ReadOptions.of(source, strict, mapping, workers, progress), acc, price, price_at,
                          columns, spill_dir)  # fmt: skip


def _collapsed(
    paths: Any,
    options: ReadOptions,
    acc: Accounting,
    price: bool,
    price_at: dt.datetime | None,
    columns: Sequence[str] | None,
    spill_dir: Path | None,
) -> Iterator[Any]:
    from tokctl.ingest.collapse import collapsed

    pairs = priced_batches(paths, options, acc, price=price, price_at=price_at)
    for kept in collapsed(pairs, acc, hold=None if columns is None else _needed(columns), spill_dir=spill_dir):
        if price:
            acc.unpriced += count_unpriced(kept)
        yield kept if columns is None else kept.select(list(columns))


def priced_batches(
    paths: Any, options: ReadOptions, accounting: Accounting, *, price: bool, price_at: dt.datetime | None = None
) -> Iterator[tuple[Any, Any]]:
    """(batch, identity hashes) read from ``paths``, priced when asked; duplicates not yet collapsed."""
    pairs = stream_batches(paths, options, accounting)
    if not price:
        yield from pairs
        return
    from tokctl.pricing import price_table

    for batch, hashes in pairs:
        yield _conform(price_table(batch, at=price_at)), hashes


def _conform(batch: Any) -> Any:
    """The batch under the exact canonical schema (the pricer rebuilds its columns without field docs)."""
    import pyarrow as pa

    from tokctl.schema import usage_schema

    return pa.RecordBatch.from_arrays(batch.columns, schema=usage_schema())


def count_unpriced(batch: Any) -> int:
    """Rows with token counts but no computed cost (rows without any count, e.g. errors, are not)."""
    import pyarrow.compute as pc

    has_tokens = pc.or_(pc.is_valid(batch.column("input_tokens")), pc.is_valid(batch.column("output_tokens")))
    unpriced = pc.and_(pc.is_null(batch.column("cost")), has_tokens)
    return int(pc.sum(unpriced.cast("int64")).as_py() or 0)


def _needed(columns: Sequence[str]) -> list[str]:
    """The requested columns plus those that counting the unpriced reads."""
    needed = list(columns)
    for name in ("cost", "input_tokens", "output_tokens"):
        if name not in needed:
            needed.append(name)
    return needed
