"""Duplicates collapsed after a read: the batches are held (in memory, or spilled to a Parquet file) until
every record is read, because a duplicate can be anywhere in the input; then they go out without the
superseded rows (tokctl.ingest.dedup decides which rows those are, from 8 bytes a record)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tokctl.ingest import dedup
from tokctl.ingest.accounting import Accounting


def collapsed(
    pairs: Iterable[tuple[Any, Any]],
    accounting: Accounting,
    *,
    hold: Sequence[str] | None = None,
    spill_dir: Path | None = None,
) -> Iterator[Any]:
    """The batches of ``pairs`` ((batch, identity hashes), in reading order) without superseded rows.

    ``hold``: the columns kept of each batch (``flags`` is added: collapsing marks the kept rows); None keeps
    every column. With ``spill_dir`` the held batches wait in a Parquet file there, so memory holds one batch.
    Sets ``accounting.duplicates``.
    """
    needed = None if hold is None else [*hold, *(["flags"] if "flags" not in hold else [])]
    if spill_dir is not None:
        yield from _spilled(pairs, accounting, needed, Path(spill_dir))
        return
    held: list[Any] = []
    hashes: list[Any] = []
    for batch, batch_hashes in pairs:
        held.append(batch if needed is None else batch.select(needed))
        hashes.append(batch_hashes)
    chosen = dedup.plan(hashes)
    accounting.duplicates = chosen.duplicates
    yield from _without_superseded(held, chosen)


def _without_superseded(batches: Iterable[Any], chosen: Any) -> Iterator[Any]:
    offset = 0
    for batch in batches:
        keep, superseded = chosen.slice(offset, batch.num_rows)
        offset += batch.num_rows
        yield dedup.apply(batch, keep, superseded)


def _spilled(
    pairs: Iterable[tuple[Any, Any]], accounting: Accounting, needed: list[str] | None, spill_dir: Path
) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tokctl.ingest.batch import BATCH_ROWS

    stage = spill_dir / "held.parquet"
    ids = dedup.SpilledIds(spill_dir)
    writer = None
    try:
        for batch, batch_hashes in pairs:
            kept = batch if needed is None else batch.select(needed)
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
    accounting.duplicates = chosen.duplicates
    yield from _without_superseded(pq.ParquetFile(stage).iter_batches(batch_size=BATCH_ROWS), chosen)
