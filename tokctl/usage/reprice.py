"""``tokctl usage reprice DATASET``: the stored records priced again with the current price registry.

Only ``cost``, ``currency``, ``price_ref`` and the ``unpriced:<reason>`` entries of ``flags`` change; every
other column is copied as stored. Each part file is rewritten beside the old one, the manifest is swapped in
one rename (the commit: a run killed before it leaves the dataset as it was), and the old files are removed
after it.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokctl.errors import InputNotFoundError
from tokctl.usage import store

PRICE_COLUMNS = ("cost", "currency", "price_ref")


@dataclass
class RepriceResult:
    dataset: Path
    rows: int = 0
    changed: int = 0
    unpriced: int = 0
    parts: int = 0

    def line(self) -> str:
        return (
            f"dataset {self.dataset}: {self.rows} records repriced in {self.parts} part file(s); "
            f"{self.changed} changed cost or currency; {self.unpriced} unpriced"
        )


def reprice(dataset: str | os.PathLike[str], *, at: str | None = None) -> RepriceResult:
    from tokctl.usage.ingest_into import locked_dataset
    from tokctl.usage.read import count_unpriced
    from tokctl.usage.report import parse_at_option

    target = Path(dataset)
    if not store.is_dataset(target):
        raise InputNotFoundError(
            f"{target} is not a tokctl dataset", fix="give the directory of tokctl usage ingest --into"
        )
    price_at = parse_at_option(at)
    result = RepriceResult(target)
    run = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    with locked_dataset(target) as manifest:
        old = [part["path"] for part in manifest["parts"]]
        written = []
        try:
            for index, part in enumerate(manifest["parts"]):
                relative = str(Path(part["path"]).parent / f"part-{run}-{index}.parquet")
                table, changed = _repriced(target / part["path"], price_at)
                _write(table, target / relative)
                written.append(relative)
                result.rows += table.num_rows
                result.changed += changed
                result.unpriced += sum(count_unpriced(b) for b in table.to_batches())
                part["path"] = relative
        except BaseException:
            for relative in written:
                (target / relative).unlink(missing_ok=True)
            raise
        result.parts = len(written)
        manifest["generation"] = manifest.get("generation", 0) + 1
        store.write_manifest(target, manifest)  # the commit
        for relative in old:
            (target / relative).unlink(missing_ok=True)
    return result


def _repriced(path: Path, price_at: Any) -> tuple[Any, int]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from tokctl.pricing import price_table
    from tokctl.schema import usage_schema

    stored = pq.read_table(path)
    batches = [store.conform(b, usage_schema().names) for b in stored.to_batches()]
    table = pa.Table.from_batches(batches, schema=usage_schema())
    flags = [
        row
        if not any(f.startswith("unpriced:") for f in row or ())
        else [f for f in row if not f.startswith("unpriced:")]
        for row in table.column("flags").to_pylist()
    ]
    cleared = table.set_column(table.schema.get_field_index("flags"), "flags", pa.array(flags, pa.list_(pa.string())))
    priced = price_table(cleared, at=price_at)
    out = table
    for name in PRICE_COLUMNS:
        index = out.schema.get_field_index(name)
        out = out.set_column(index, out.schema.field(name), priced.column(name).cast(out.schema.field(name).type))
    out = out.set_column(
        out.schema.get_field_index("flags"),
        out.schema.field("flags"),
        pa.array(_flags(table.column("flags").to_pylist(), priced.column("flags").to_pylist()), pa.list_(pa.string())),
    )
    same_cost = pc.fill_null(pc.equal(table.column("cost"), out.column("cost")), False)
    both_null = pc.and_(pc.is_null(table.column("cost")), pc.is_null(out.column("cost")))
    same_currency = pc.fill_null(pc.equal(table.column("currency"), out.column("currency")), False)
    unchanged = pc.and_(pc.or_(same_cost, both_null), pc.or_(same_currency, both_null))
    return out, int(pc.sum(pc.invert(unchanged).cast("int64")).as_py() or 0)


def _flags(before: list[Any], after: list[Any]) -> list[Any]:
    """Each row's flags as stored when its unpriced reasons did not change, else with the new reasons last."""
    out = []
    for old, new in zip(before, after, strict=True):
        reasons_before = [f for f in old or () if f.startswith("unpriced:")]
        reasons_after = [f for f in new or () if f.startswith("unpriced:")]
        if reasons_before == reasons_after:
            out.append(old)
        else:
            kept = [f for f in old or () if not f.startswith("unpriced:")] + reasons_after
            out.append(kept or (None if old is None else []))
    return out


def _write(table: Any, path: Path) -> None:
    import pyarrow.parquet as pq

    from tokctl.usage.export import dictionary_columns

    schema = store.written_schema()
    pq.write_table(
        table.replace_schema_metadata(schema.metadata),
        path,
        use_dictionary=dictionary_columns(schema),
        row_group_size=256 * 1024,
    )
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
