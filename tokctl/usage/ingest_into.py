"""``tokctl usage ingest LOG... --into DATASET``: add new usage records to a store, once each, atomically.

One run:

1. takes the dataset's lock (``_tokctl_dataset.lock``; a second ingest into the same dataset is refused) and
   removes what killed runs left (part files that the manifest does not list);
2. skips every input file whose identity (size, mtime, sha256 of its first and last 64 KiB) the manifest
   already holds, without reading it; reads the others **in path order** (so the order given on the command
   line changes nothing) through the usual readers, priced, duplicates collapsed (the last one wins);
3. keeps only the records whose record_id the dataset does not hold yet: a record lands in the partition of
   its UTC day and platform, so only the partitions the new records touch are looked at (a new day costs a
   new day's ingest, whatever the dataset holds);
4. writes the new part files beside the old ones (``usage_date=D/provider=P/part-RUN-N.parquet``) and commits
   by replacing the manifest in one rename. A run killed at any point leaves the previous manifest, so the
   previous dataset; the files it wrote are not listed and the next run removes them.

Ingesting the same files again reads nothing and changes nothing. A record already in the dataset wins over
a later copy (``dedup_collapsed`` marks duplicates collapsed within one run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tokctl.errors import OutputError, UsageError
from tokctl.ingest import Accounting
from tokctl.usage import store

LOCK_NAME = "_tokctl_dataset.lock"
IDENTITY_BLOCK = 64 * 1024
PART_ROWS = 1 << 20  # rows buffered per partition before a part file is written
HELD_ROWS = 4 << 20  # rows buffered in all partitions before the largest is written out
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass
class IngestResult:
    accounting: Accounting
    dataset: Path
    added: int = 0
    already_there: int = 0
    unchanged_files: list[str] = field(default_factory=list)
    read_files: list[str] = field(default_factory=list)
    parts_written: int = 0
    total_rows: int = 0
    committed: bool = False

    def line(self) -> str:
        return (
            f"dataset {self.dataset}: +{self.added} records ({self.already_there} already there); "
            f"{len(self.read_files)} file(s) read, {len(self.unchanged_files)} unchanged file(s) skipped unread; "
            f"now {self.total_rows} records"
        )


def file_identity(path: Path) -> dict[str, Any]:
    """What tells a file apart from its next version without reading it all."""
    info = path.stat()
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(IDENTITY_BLOCK)).hexdigest()
        fh.seek(max(0, info.st_size - IDENTITY_BLOCK))
        tail = hashlib.sha256(fh.read(IDENTITY_BLOCK)).hexdigest()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "head_sha256": head, "tail_sha256": tail}


def ingest_into(
    paths: Any,
    dataset: str | os.PathLike[str],
    *,
    source: str | None = None,
    strict: bool = False,
    mapping: str | Path | None = None,
    workers: int | None = 1,
    at: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    _after_part: Callable[[], None] | None = None,
) -> IngestResult:
    """Add the records of ``paths`` that ``dataset`` does not hold yet (see the module doc)."""
    from tokctl.ingest.inputs import expand
    from tokctl.usage.report import parse_at_option
    from tokctl.usage.sources import check_inputs, check_read, stored_paths

    given = check_inputs(paths)
    if stored_paths(given):
        raise UsageError("ingest reads logs, not tokctl datasets", fix="give the log files the datasets came from")
    price_at = parse_at_option(at)
    target = Path(dataset)
    files = sorted({str(Path(p).resolve()): Path(p) for _, p, _skip in expand(given) if p is not None}.items())
    acc = Accounting()
    with locked_dataset(target) as manifest:
        result = IngestResult(acc, target, total_rows=sum(p["rows"] for p in manifest["parts"]))
        known = manifest.setdefault("inputs", {})
        fresh: list[tuple[str, Path, dict[str, Any]]] = []
        for resolved, path in files:
            identity = file_identity(path)
            if known.get(resolved) == identity:
                result.unchanged_files.append(str(path))
            else:
                fresh.append((resolved, path, identity))
        missing = [p for _, p, _skip in expand(given) if p is None]
        if not fresh:
            if missing or not files:
                check_read(acc, given)
            return result
        result.read_files = [str(p) for _, p, _ in fresh]
        run = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        spill = target / f".tmp-{run}"
        spill.mkdir()
        try:
            writer = _PartWriter(target, manifest, run, _after_part)
            from tokctl.usage.read import stream_usage

            batches = stream_usage(
                [str(p) for _, p, _ in fresh],
                source,
                strict,
                mapping=mapping,
                price=True,
                accounting=acc,
                progress=progress,
                workers=workers,
                price_at=price_at,
                spill_dir=spill,
            )
            try:
                for batch in batches:
                    writer.add(batch)
                writer.close()
                check_read(acc, result.read_files)
            except BaseException:
                writer.discard()
                raise
        finally:
            shutil.rmtree(spill, ignore_errors=True)
        result.added, result.already_there, result.parts_written = writer.added, writer.present, len(writer.parts)
        for resolved, _, identity in fresh:
            known[resolved] = identity
        manifest["parts"].extend(writer.parts)
        manifest["generation"] = manifest.get("generation", 0) + 1
        manifest["tokctl_version"] = store.manifest_document("store")["tokctl_version"]
        store.write_manifest(target, manifest)  # the commit
        result.committed = True
        result.total_rows += writer.added
    return result


@contextlib.contextmanager
def locked_dataset(target: Path) -> Iterator[dict[str, Any]]:
    """The dataset's manifest (a new one for a new dataset), under the dataset's lock; leftovers removed."""
    import fcntl

    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} is a file, not a dataset directory", fix="give --into a directory")
    if target.is_dir() and not store.is_dataset(target) and any(target.iterdir()):
        raise OutputError(
            f"{target} is a directory that is not a tokctl dataset; it was left as it is",
            fix="give --into a new path or an existing tokctl dataset",
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd = os.open(target / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}", fix="check the path") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError(
                f"{target} is being written by another tokctl run", fix="wait for it to finish, then run again"
            ) from None
        if store.is_dataset(target):
            manifest = store.read_manifest(target)
            if manifest.get("layout", "store") != "store":
                raise OutputError(
                    f"{target} is an export (usage export --partition-by), not a store",
                    fix="ingest into a new directory; keep exports for other tools",
                )
        else:
            manifest = store.manifest_document("store", partitioning=["usage_date", "provider"], generation=0)
            manifest.update(parts=[], inputs={})
            store.write_manifest(target, manifest)
        remove_leftovers(target, manifest)
        yield manifest
    finally:
        os.close(fd)


def remove_leftovers(target: Path, manifest: dict[str, Any]) -> list[Path]:
    """Part files and temporaries of killed runs (not in the manifest); called under the lock."""
    listed = {part["path"] for part in manifest.get("parts", [])}
    removed = []
    for child in target.iterdir():
        if child.name.startswith((".tmp-", f".{store.MANIFEST_NAME}.")):
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
            removed.append(child)
    for part in target.glob("usage_date=*/provider=*/part-*.parquet"):
        if str(part.relative_to(target)) not in listed:
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


def partition_dir(usage_date: str | None, provider: str | None) -> str:
    day = usage_date or NULL_PARTITION
    name = NULL_PARTITION if provider is None else quote(provider.replace("\x00", "\ufffd"), safe="")
    return f"usage_date={day}/provider={name}"


class _PartWriter:
    """New rows, split by partition, less those already in the dataset, buffered and written as part files."""

    def __init__(self, target: Path, manifest: dict[str, Any], run: str, after_part: Callable[[], None] | None):
        self.target, self.run, self.after_part = target, run, after_part
        self.existing: dict[tuple[str | None, str | None], Any] = {}
        self.listed: dict[tuple[str | None, str | None], list[str]] = {}
        for part in manifest.get("parts", []):
            self.listed.setdefault((part.get("usage_date"), part.get("provider")), []).append(part["path"])
        self.buffers: dict[tuple[str | None, str | None], list[Any]] = {}
        self.held = 0
        self.parts: list[dict[str, Any]] = []
        self.added = self.present = 0

    def add(self, batch: Any) -> None:
        for key, rows in split_by_partition(batch):
            rows = self._new_only(key, rows)
            if not rows.num_rows:
                continue
            self.buffers.setdefault(key, []).append(rows)
            self.held += rows.num_rows
            if sum(b.num_rows for b in self.buffers[key]) >= PART_ROWS:
                self._flush(key)
        while self.held > HELD_ROWS:
            self._flush(max(self.buffers, key=lambda k: sum(b.num_rows for b in self.buffers[k])))

    def _new_only(self, key: tuple[str | None, str | None], rows: Any) -> Any:
        import pyarrow.compute as pc

        if key not in self.existing:
            self.existing[key] = self._ids_in(key)
        ids = self.existing[key]
        if ids is None:
            return rows
        fresh = rows.filter(pc.invert(pc.is_in(rows.column("record_id"), value_set=ids)))
        self.present += rows.num_rows - fresh.num_rows
        return fresh

    def _ids_in(self, key: tuple[str | None, str | None]) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        files = self.listed.get(key, [])
        if not files:
            return None
        chunks = [pq.read_table(self.target / f, columns=["record_id"]).column(0) for f in files]
        return pa.chunked_array([c for chunk in chunks for c in chunk.chunks], pa.string()).combine_chunks()

    def _flush(self, key: tuple[str | None, str | None]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from tokctl.usage.export import dictionary_columns

        batches = self.buffers.pop(key)
        rows = sum(b.num_rows for b in batches)
        self.held -= rows
        directory = partition_dir(*key)
        relative = f"{directory}/part-{self.run}-{len(self.parts)}.parquet"
        path = self.target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        schema = store.written_schema()
        table = pa.Table.from_batches(batches).replace_schema_metadata(schema.metadata)
        pq.write_table(table, path, use_dictionary=dictionary_columns(schema), row_group_size=256 * 1024)
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        ts = table.column("ts_start")
        import pyarrow.compute as pc

        low, high = pc.min(ts).as_py(), pc.max(ts).as_py()
        self.parts.append(
            {
                "path": relative,
                "usage_date": key[0],
                "provider": key[1],
                "rows": rows,
                "ts_min": low.isoformat() if low else None,
                "ts_max": high.isoformat() if high else None,
            }
        )
        self.added += rows
        ids = table.column("record_id").combine_chunks()
        known = self.existing.get(key)
        self.existing[key] = ids if known is None else pa.concat_arrays([known, ids])
        if self.after_part is not None:
            self.after_part()

    def discard(self) -> None:
        """Remove the part files of a run that will not commit."""
        for part in self.parts:
            (self.target / part["path"]).unlink(missing_ok=True)

    def close(self) -> None:
        for key in list(self.buffers):
            self._flush(key)


def split_by_partition(batch: Any) -> Iterator[tuple[tuple[str | None, str | None], Any]]:
    """(usage_date, provider) and the rows of ``batch`` in that partition."""
    import pyarrow as pa
    import pyarrow.compute as pc

    day = pc.strftime(batch.column("ts_start"), format="%Y-%m-%d")
    provider = batch.column("provider").cast(pa.string())
    key = pc.binary_join_element_wise(pc.fill_null(day, "\x00"), pc.fill_null(provider, "\x00"), "\x1f")
    order = pc.sort_indices(key)
    ordered = batch.take(order)
    keys = key.take(order)
    values = pc.unique(keys)
    counts = pc.value_counts(keys)
    sizes = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True))
    offset = 0
    for value in values.to_pylist():
        size = sizes[value]
        day_text, provider_text = value.split("\x1f", 1)
        yield (
            (None if day_text == "\x00" else day_text, None if provider_text == "\x00" else provider_text),
            ordered.slice(offset, size),
        )
        offset += size
