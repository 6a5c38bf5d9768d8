"""The usage store: tokctl's own Parquet files and datasets, read back as Arrow without parsing a log again.

What counts as a tokctl dataset (:func:`is_dataset`): a directory holding :data:`MANIFEST_NAME`, a JSON
document ``{"format": "tokctl-usage", "schema_version": N, ...}``. Two layouts:

- ``store`` (``tokctl usage ingest --into``): the manifest lists every live Parquet file (``parts``) with its
  partition values (``usage_date``, the UTC date of ts_start, and ``provider``) and row count, and the input
  files already ingested (``inputs``). A file on disk that the manifest does not list is not part of the
  dataset (a run killed before its manifest swap leaves such files; the next run removes them).
- ``hive`` (``tokctl usage export --partition-by``): Hive directories (``key=value``) of Parquet files, the
  partition columns in the directory names only.

A single tokctl Parquet file (``usage export -o u.parquet``) is recognised by its columns and carries
``tokctl.schema_version`` in its schema metadata. Older exports (no manifest, no metadata) read as version 1.

Schema versions: :data:`SCHEMA_VERSION` is the version this tokctl writes; it reads every version up to it
(columns an older dataset lacks read as null and :attr:`StoredAccounting.missing` names them) and refuses a
newer one with a message that says to upgrade.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokctl.errors import InputFormatError
from tokctl.ingest.accounting import Accounting

MANIFEST_NAME = "_tokctl_dataset.json"
FORMAT = "tokctl-usage"
SCHEMA_VERSION = 1
VERSION_KEY = b"tokctl.schema_version"
# Columns that every tokctl usage file has had since version 1: enough to tell one from other Parquet.
_MARK_COLUMNS = frozenset({"record_id", "source_format", "token_basis", "input_tokens", "output_tokens"})


def is_dataset(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a directory that tokctl wrote as a usage dataset (it holds the manifest
    :data:`MANIFEST_NAME` naming the format). Only the marker is checked, not the files."""
    manifest = Path(path) / MANIFEST_NAME
    try:
        if not manifest.is_file():
            return False
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def read_manifest(path: Path) -> dict[str, Any]:
    """The dataset's manifest, checked: its format and a schema version this tokctl can read."""
    where = str(path / MANIFEST_NAME)
    try:
        doc = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFormatError(
            f"cannot read the dataset manifest ({exc})", where=where, fix="re-create the dataset"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputFormatError("not a tokctl usage dataset manifest", where=where, fix="re-create the dataset")
    check_version(doc.get("schema_version"), where)
    return doc


def check_version(version: Any, where: str) -> int:
    if not isinstance(version, int) or version < 1:
        raise InputFormatError(f"schema_version {version!r} is not a version number", where=where)
    if version > SCHEMA_VERSION:
        raise InputFormatError(
            f"this dataset has usage schema version {version}, newer than this tokctl reads (up to {SCHEMA_VERSION})",
            where=where,
            fix="upgrade tokctl (pip install -U tokctl) to read it",
        )
    return version


def schema_metadata() -> dict[bytes, bytes]:
    return {VERSION_KEY: str(SCHEMA_VERSION).encode()}


def written_schema() -> Any:
    """The canonical usage schema with the schema version in its metadata (what tokctl writes)."""
    from tokctl.schema import usage_schema

    return usage_schema().with_metadata(schema_metadata())


def is_usage_parquet(path: Path) -> bool:
    """A Parquet file whose columns are those of a tokctl usage table (by its magic bytes and footer)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PAR1":
                return False
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
    except Exception:
        return False
    return names >= _MARK_COLUMNS


def _is_hive_export(path: Path) -> bool:
    """A directory written by ``usage export --partition-by`` before datasets had a manifest: only Parquet
    files under ``key=value`` directories, the first of them a tokctl usage file."""
    first = None
    for root, dirs, files in os.walk(path):
        if any("=" not in d for d in dirs):
            return False
        for name in files:
            if not name.endswith(".parquet"):
                return False
            first = first or Path(root) / name
    return first is not None and _hive_names(path, first) >= _MARK_COLUMNS


def _hive_names(path: Path, file: Path) -> set[str]:
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(file).names)
    except Exception:
        return set()
    return names | {part.split("=", 1)[0] for part in file.relative_to(path).parts[:-1]}


def stored_kind(path: str | os.PathLike[str]) -> str | None:
    """``"store"``, ``"hive"`` or ``"file"`` when ``path`` is tokctl's own Parquet; None otherwise."""
    path = Path(path)
    if path.is_dir():
        if is_dataset(path):
            layout = read_manifest(path).get("layout", "store")
            return "hive" if layout == "hive" else "store"
        return "hive" if _is_hive_export(path) else None
    if path.is_file() and is_usage_parquet(path):
        return "file"
    return None


@dataclass
class StoredAccounting(Accounting):
    """The accounting of a read from the store: every stored row is a parsed record."""

    stored_files: int = 0
    versions: set[int] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)

    def line(self) -> str:
        versions = ", ".join(f"v{v}" for v in sorted(self.versions)) or f"v{SCHEMA_VERSION}"
        text = (
            f"usage: {self.rows} stored records read from {self.stored_files} Parquet file(s) "
            f"(tokctl usage schema {versions}; logs not re-read); {self.unpriced} unpriced"
        )
        if self.missing:
            text += (
                f"; written by an older tokctl: {', '.join(self.missing)} read as null (schema v{SCHEMA_VERSION} "
                "has them)"
            )
        return text


@dataclass(frozen=True)
class Window:
    """Which stored rows a read wants: ts_start in [since, until) (UTC) and a set of providers."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    providers: frozenset[str] | None = None

    def keeps_partition(self, usage_date: str | None, provider: str | None) -> bool:
        if self.providers is not None and provider not in self.providers:
            return False
        if self.since is None and self.until is None:
            return True
        if usage_date is None:
            return False  # no ts_start: outside every window
        day = dt.date.fromisoformat(usage_date)
        if self.since is not None and day < self.since.date():
            return False
        return not (self.until is not None and day > self.until.date())

    def expression(self) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        kind = pa.timestamp("us", tz="UTC")
        expr = None
        parts = []
        if self.since is not None:
            parts.append(ds.field("ts_start") >= pa.scalar(self.since.astimezone(dt.UTC), kind))
        if self.until is not None:
            parts.append(ds.field("ts_start") < pa.scalar(self.until.astimezone(dt.UTC), kind))
        if self.providers is not None:
            parts.append(pc.is_in(ds.field("provider").cast(pa.string()), pa.array(sorted(self.providers))))
        for part in parts:
            expr = part if expr is None else expr & part
        return expr


def scan(
    paths: Sequence[str | os.PathLike[str]],
    columns: Sequence[str] | None = None,
    window: Window | None = None,
    accounting: StoredAccounting | None = None,
) -> Iterator[Any]:
    """Record batches of the stored usage at ``paths`` (files or datasets), under the current canonical
    schema (projected to ``columns``), with partitions and row groups outside ``window`` never read."""

    yield from _coalesced(_scan(paths, columns, window, accounting))


SCAN_ROWS = 512 * 1024  # small part files' batches are joined to this: per-batch costs, not per-row, dominate


def _coalesced(batches: Iterator[Any]) -> Iterator[Any]:
    import pyarrow as pa

    held: list[Any] = []
    rows = 0
    for batch in batches:
        held.append(batch)
        rows += batch.num_rows
        if rows >= SCAN_ROWS:
            yield from pa.Table.from_batches(held).combine_chunks().to_batches()
            held, rows = [], 0
    if held:
        yield from pa.Table.from_batches(held).combine_chunks().to_batches()


def _scan(
    paths: Sequence[str | os.PathLike[str]],
    columns: Sequence[str] | None,
    window: Window | None,
    accounting: StoredAccounting | None,
) -> Iterator[Any]:
    from tokctl.schema import usage_schema
    from tokctl.usage.read import count_unpriced

    acc = accounting if accounting is not None else StoredAccounting()
    window = window or Window()
    schema = usage_schema()
    wanted = list(columns) if columns is not None else schema.names
    for given in paths:
        path = Path(given)
        kind = stored_kind(path)
        if kind is None:
            raise InputFormatError("not a tokctl Parquet file or dataset", where=str(path))
        dataset, version = _open(path, kind, window, acc)
        acc.versions.add(version)
        present = set(dataset.schema.names)
        for name in wanted:
            if name not in present and name not in acc.missing:
                acc.missing.append(name)
        read = [n for n in wanted if n in present]
        need = set(read) | {n for n in ("cost", "input_tokens", "output_tokens") if n in present}
        for batch in dataset.to_batches(columns=sorted(need), filter=window.expression(), batch_size=256 * 1024):
            if not batch.num_rows:
                continue
            conformed = conform(batch, [*wanted, *sorted(need - set(wanted))])
            acc.records += batch.num_rows
            acc.parsed += batch.num_rows
            acc.rows += batch.num_rows
            acc.unpriced += count_unpriced(conformed)
            yield conformed.select(wanted)


def _open(path: Path, kind: str, window: Window, acc: StoredAccounting) -> tuple[Any, int]:
    import pyarrow.dataset as ds

    if kind == "file":
        acc.stored_files += 1
        return ds.dataset(path, format="parquet"), _file_version(path)
    if kind == "hive":
        hive: dict[str, Any] = read_manifest(path) if is_dataset(path) else {"schema_version": 1}
        dataset = ds.dataset(path, format="parquet", partitioning=_hive_partitioning(path, hive))
        acc.stored_files += len(dataset.files)
        return dataset, hive["schema_version"]
    manifest = read_manifest(path)
    files = [
        str(path / part["path"])
        for part in manifest.get("parts", [])
        if window.keeps_partition(part.get("usage_date"), part.get("provider"))
    ]
    acc.stored_files += len(files)
    return ds.dataset(files, schema=_store_schema(path, manifest), format="parquet"), manifest["schema_version"]


def _hive_partitioning(path: Path, manifest: dict[str, Any]) -> Any:
    """The Hive keys with their types (usage_date a date, the rest text), so that an all-null partition
    (``__HIVE_DEFAULT_PARTITION__``) still has a type."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    keys = manifest.get("partitioning")
    if keys is None:
        first = next((Path(r) / f for r, _, files in os.walk(path) for f in sorted(files)), None)
        keys = [] if first is None else [p.split("=", 1)[0] for p in first.relative_to(path).parts[:-1]]
    fields = [pa.field(k, pa.date32() if k == "usage_date" else pa.string()) for k in keys]
    return ds.partitioning(pa.schema(fields), flavor="hive")


def _store_schema(path: Path, manifest: dict[str, Any]) -> Any:
    """The schema of the dataset's files (the newest part's, so columns an older part lacks read as null)."""
    import pyarrow.parquet as pq

    parts = manifest.get("parts", [])
    if not parts:
        from tokctl.schema import usage_schema

        return usage_schema()
    return pq.read_schema(path / parts[-1]["path"])


def _file_version(path: Path) -> int:
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(VERSION_KEY)
    try:
        version = int(raw) if raw is not None else 1
    except ValueError:
        version = 0
    return check_version(version, str(path))


def conform(batch: Any, names: Sequence[str]) -> Any:
    """``batch`` with exactly ``names`` under the canonical types; a column it lacks is all null."""
    import pyarrow as pa

    from tokctl.schema import usage_schema

    schema = usage_schema()
    arrays, fields = [], []
    present = set(batch.schema.names)
    for name in names:
        target = schema.field(name)
        if name in present:
            column = batch.column(name)
            arrays.append(column if column.type == target.type else column.cast(target.type))
        else:
            arrays.append(pa.nulls(batch.num_rows, target.type))
        fields.append(target)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def manifest_document(layout: str, **extra: Any) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        version = dist_version("tokctl")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        version = "unknown"
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "layout": layout, "tokctl_version": version, **extra}


def write_manifest(directory: Path, doc: dict[str, Any]) -> None:
    """Write the manifest by a rename over the previous one (the commit point of every change to a dataset)."""
    tmp = directory / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, directory / MANIFEST_NAME)
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_hive_manifest(directory: Path, keys: Sequence[str]) -> None:
    write_manifest(directory, manifest_document("hive", partitioning=list(keys)))
