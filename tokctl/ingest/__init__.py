"""Usage logs of every major vendor and gateway, read into one canonical Arrow table (tokctl.schema).

>>> import tokctl
>>> table = tokctl.read_usage(["examples/logs"])                      # doctest: +SKIP
>>> result = tokctl.read_usage_with_accounting(["logs/"], price=True)  # doctest: +SKIP
>>> result.accounting.line()                                          # doctest: +SKIP
'usage: 120 records read = 117 parsed + 3 skipped [...]; 2 duplicates collapsed; 1 unpriced'

One module per source family (openai, anthropic, claude_code, gemini, openai_compatible, dashscope,
otel, litellm, langfuse, helicone, openrouter, generic); detection.py tells them apart per record;
wrapper.py reads request logs that wrap a response with metadata. pyarrow is imported only when a
table is built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokctl.ingest.accounting import Accounting
from tokctl.ingest.detection import SOURCES

__all__ = ["SOURCES", "Accounting", "UsageResult", "read_usage", "read_usage_with_accounting", "stream_usage"]


@dataclass
class UsageResult:
    """A canonical usage table (pyarrow.Table) and what the read did with every record."""

    table: Any
    accounting: Accounting


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
    :data:`SOURCES` to accept only that family (auto-detected per record by default). ``strict``: stop at
    the first bad record with an :class:`~tokctl.errors.InputFormatError` naming its file:line.
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
    """Read usage logs; the result holds the table and its :class:`Accounting`.

    ``price=True`` fills cost, currency and price_ref through tokctl.pricing.price_table (batch by batch)
    and counts the unpriced rows; records without a timestamp are priced at ``price_at`` when it is given
    (else they are unpriced ``no_timestamp``). ``columns`` keeps only those columns (less memory for large reads).
    ``workers``: parsing processes (see tokctl.ingest.pipeline.iter_batches; None picks by input size).
    """
    import pyarrow as pa

    accounting = Accounting()
    batches = list(
        stream_usage(
            paths,
            source,
            strict,
            mapping=mapping,
            price=price,
            columns=columns,
            accounting=accounting,
            progress=progress,
            workers=workers,
            price_at=price_at,
        )
    )
    if batches:
        table = pa.Table.from_batches(batches)
    else:
        from tokctl.schema import usage_schema

        schema = usage_schema()
        table = (schema if columns is None else pa.schema([schema.field(c) for c in columns])).empty_table()
    return UsageResult(table, accounting)


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
    from tokctl.ingest import dedup

    acc = accounting if accounting is not None else Accounting()
    held: list[Any] = []
    hashes: list[Any] = []
    if spill_dir is not None:
        yield from _spilled(paths, source, strict, mapping, price, columns, acc, progress, workers, price_at, spill_dir)
        return
    for batch, batch_hashes in priced_batches(
        paths,
        source,
        strict,
        mapping=mapping,
        price=price,
        accounting=acc,
        progress=progress,
        workers=workers,
        price_at=price_at,
    ):
        held.append(batch if columns is None else batch.select(_needed(columns)))
        hashes.append(batch_hashes)
    chosen = dedup.plan(hashes)
    acc.duplicates = chosen.duplicates
    yield from _collapsed(held, chosen, acc, price, columns)


def _collapsed(
    batches: Iterable[Any], chosen: Any, acc: Accounting, price: bool, columns: Sequence[str] | None
) -> Iterator[Any]:
    """The batches (in reading order) without superseded rows, counting the unpriced that remain."""
    from tokctl.ingest import dedup

    offset = 0
    for batch in batches:
        keep, collapsed = chosen.slice(offset, batch.num_rows)
        offset += batch.num_rows
        kept = dedup.apply(batch, keep, collapsed)
        if price:
            acc.unpriced += count_unpriced(kept)
        yield kept if columns is None else kept.select(list(columns))


def _spilled(
    paths: Any,
    source: str | None,
    strict: bool,
    mapping: str | Path | None,
    price: bool,
    columns: Sequence[str] | None,
    acc: Accounting,
    progress: Callable[[int, int], None] | None,
    workers: int | None,
    price_at: dt.datetime | None,
    spill_dir: Path,
) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tokctl.ingest import dedup
    from tokctl.ingest.batch import BATCH_ROWS

    stage = Path(spill_dir) / "held.parquet"
    ids = dedup.SpilledIds(Path(spill_dir))
    writer = None
    try:
        for batch, batch_hashes in priced_batches(
            paths, source, strict, mapping=mapping, price=price, accounting=acc, progress=progress,
            workers=workers, price_at=price_at,
        ):  # fmt: skip
            kept = batch if columns is None else batch.select(_needed(columns))
            if writer is None:
                repeating = [f.name for f in kept.schema if pa.types.is_dictionary(f.type)]
                writer = pq.ParquetWriter(stage, kept.schema, use_dictionary=repeating)
            writer.write_batch(kept)
            ids.add(batch_hashes)
    finally:
        ids.close()
        if writer is not None:
            writer.close()
    if writer is None:
        return
    chosen = dedup.plan_spilled(ids)
    acc.duplicates = chosen.duplicates
    yield from _collapsed(pq.ParquetFile(stage).iter_batches(batch_size=BATCH_ROWS), chosen, acc, price, columns)


def priced_batches(
    paths: Any,
    source: str | None,
    strict: bool,
    *,
    mapping: str | Path | None,
    price: bool,
    accounting: Accounting,
    progress: Callable[[int, int], None] | None,
    workers: int | None = 1,
    price_at: dt.datetime | None = None,
) -> Iterator[tuple[Any, Any]]:
    """(batch, identity hashes) read from ``paths``, priced when asked; duplicates not yet collapsed. Every
    batch passes the one redactor (tokctl.ingest.secrets.redact_table) here, on its way out of ingest."""
    from tokctl.ingest.generic import load_mapping
    from tokctl.ingest.pipeline import iter_batches
    from tokctl.ingest.secrets import redact_table

    loaded = load_mapping(mapping) if mapping is not None else None
    for batch, hashes in iter_batches(
        paths, source, strict=strict, mapping=loaded, accounting=accounting, progress=progress, workers=workers
    ):
        if price:
            from tokctl.pricing import price_table

            batch = _conform(price_table(batch, at=price_at))
        yield redact_table(batch), hashes


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
    """The requested columns plus those that collapsing and counting read."""
    needed = list(columns)
    for name in ("flags", "cost", "input_tokens", "output_tokens"):
        if name not in needed:
            needed.append(name)
    return needed
