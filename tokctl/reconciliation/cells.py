"""Both sides of a reconciliation brought to one grain: bill lines and priced usage summed per cell.

A cell is (date in the bill's time zone, provider, model, token class, project, API key), coarsened by
``--by``. The bill decides the grain per provider: its time zone (``billing_timezone``, or --tz), its period
(usage outside it is left out and counted), and whether it splits by project or key. Both sides are summed
with pyarrow group_by; only the small summed tables reach Python, where the usage side keeps, per cell, the
tokens of each price row and half-hour slot (the explanation rules re-price them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tokctl.errors import UsageError
from tokctl.usage.report import ensure_sums_fit

TOKEN_CLASSES = ("input", "cache_read", "cache_write", "cache_write_1h", "output")
ALL = "all"  # the value of a dimension --by left out
UNKNOWN_PROVIDER = "(unknown)"
_EPOCH = dt.date(1970, 1, 1)
_DAY_US = 86_400_000_000
_SLOT_US = 1_800_000_000  # half an hour: time windows start and end on the hour or half hour
USAGE_NEEDED = (
    "provider", "model", "model_reported", "ts_start", "ts_end", "project", "api_key_id", "input_tokens",
    "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens", "reasoning_tokens", "cost",
    "currency", "price_ref", "flags",
)  # fmt: skip
BY_CHOICES = ("day", "month", "provider", "model", "token_class", "project", "api_key")


@dataclass(frozen=True)
class Grain:
    period: str = "day"  # day | month
    model: bool = True
    token_class: bool = True
    project: bool = True
    api_key: bool = False


def parse_by(by: Iterable[str] | str | None) -> Grain:
    """``--by day,model,token_class,project`` (the default; provider is always kept)."""
    if by is None:
        return Grain()
    items = [p.strip() for chunk in ([by] if isinstance(by, str) else by) for p in chunk.split(",") if p.strip()]
    unknown = [i for i in items if i not in BY_CHOICES]
    if unknown:
        raise UsageError(
            f"--by {', '.join(unknown)} is not a reconcile dimension", fix=f"choose from {', '.join(BY_CHOICES)}"
        )
    if "day" in items and "month" in items:
        raise UsageError("--by takes day or month, not both", fix="keep one")
    return Grain(
        "month" if "month" in items else "day",
        "model" in items,
        "token_class" in items,
        "project" in items,
        "api_key" in items,
    )


@dataclass(frozen=True)
class Scope:
    """What the bill says about one provider: time zone, period covered, and the dimensions it splits by."""

    provider: str
    timezone: str
    start: dt.datetime
    end: dt.datetime
    project: bool
    api_key: bool


CellKey = tuple[str, str, str, str, str | None, str | None]  # date, provider, model, class, project, key
BillKey = tuple[str, str, str, str, str | None, str | None, str]  # ... and the currency billed


@dataclass
class BillSide:
    currency: str
    cost: Decimal | None = None
    quantity: int | None = None
    lines: int = 0
    rounding: Decimal | None = None


@dataclass
class Part:
    """Logged tokens of one cell priced by one price row in one half-hour slot of one day."""

    day: dt.date
    slot: int
    ref: str
    tokens: int
    reasoning: int
    records: int
    unpriced: int
    token_class: str  # its own class, also when the cell adds classes together (--by without token_class)


@dataclass
class LogSide:
    currency: str | None
    quantity: int = 0
    records: int = 0
    unpriced: int = 0
    parts: list[Part] = field(default_factory=list)


def _strings(column: Any) -> Any:
    import pyarrow as pa

    return column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column


def _providers(lines: Any) -> Any:
    """The bill lines' providers; a line that names none is kept as ``(unknown)``, never dropped."""
    import pyarrow.compute as pc

    return pc.fill_null(_strings(lines.column("provider")), UNKNOWN_PROVIDER)


def _label(day: int, grain: Grain) -> str:
    date = _EPOCH + dt.timedelta(days=day)
    return date.isoformat() if grain.period == "day" else date.isoformat()[:7]


def _local_days(ts: Any, timezone: str) -> tuple[Any, Any]:
    """Day number and half-hour slot of each moment in ``timezone``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    local = pc.local_timestamp(ts.cast(pa.timestamp("us", tz=timezone))).cast(pa.int64())
    day = pc.divide(local, _DAY_US)  # moments after 1970: truncation is floor
    slot = pc.divide(pc.subtract(local, pc.multiply(day, _DAY_US)), _SLOT_US)
    return day, slot


def scopes(lines: Any, grain: Grain, tz: str | None) -> dict[str, Scope]:
    """Per provider on the bill: its time zone, the period its lines cover, whether it splits by project/key."""
    import pyarrow.compute as pc

    found: dict[str, Scope] = {}
    providers = _providers(lines).to_pylist()
    for provider in sorted({p for p in providers if p is not None}):
        mine = lines.filter(pc.equal(_providers(lines), provider))
        zones = sorted(set(_strings(mine.column("billing_timezone")).to_pylist()))
        found[provider] = Scope(
            provider, tz or zones[0], pc.min(mine.column("charge_period_start")).as_py(),
            pc.max(mine.column("charge_period_end")).as_py(),
            grain.project and mine.column("sub_account_id").null_count < mine.num_rows,
            grain.api_key and mine.column("api_key_id").null_count < mine.num_rows,
        )  # fmt: skip
    return found


def bill_cells(lines: Any, grain: Grain, scope_of: dict[str, Scope]) -> tuple[dict[BillKey, BillSide], list[Any]]:
    """Usage lines summed per cell (split by currency), and the other charges (tax, credit, ...) per provider."""
    import pyarrow as pa
    import pyarrow.compute as pc

    category = pc.fill_null(_strings(lines.column("charge_category")), "Usage")
    other = lines.filter(pc.not_equal(category, "Usage"))
    lines = lines.filter(pc.equal(category, "Usage"))
    cells: dict[BillKey, BillSide] = {}
    for provider, scope in scope_of.items():
        mine = lines.filter(pc.equal(_providers(lines), provider))
        if not mine.num_rows:
            continue
        day, _ = _local_days(mine.column("charge_period_start"), scope.timezone)
        exports = pc.is_null(mine.column("billed_cost"))
        quantity = mine.column("consumed_quantity")
        if pc.any(exports).as_py():  # quantities come from the usage exports alone, not twice
            quantity = pc.if_else(exports, quantity, pa.nulls(mine.num_rows, pa.int64()))
        table = pa.table({
            "day": day, "model": _model_key(mine.column("model"), mine.column("model_reported")),
            "token_class": _strings(mine.column("token_class")) if grain.token_class
            else pa.array([ALL] * mine.num_rows),
            "project": mine.column("sub_account_id") if scope.project else pa.nulls(mine.num_rows, pa.string()),
            "api_key": mine.column("api_key_id") if scope.api_key else pa.nulls(mine.num_rows, pa.string()),
            "currency": pc.fill_null(mine.column("billing_currency"), ""),
            "cost": mine.column("billed_cost"), "quantity": quantity, "rounding": mine.column("rounding_unit"),
        })  # fmt: skip
        keys = ["day", "model", "token_class", "project", "api_key", "currency"]
        ensure_sums_fit(table, ["quantity"])
        summed = table.group_by(keys, use_threads=False).aggregate([
            ("cost", "sum"), ("cost", "count"), ("quantity", "sum"), ("quantity", "count"), ("rounding", "max"),
            ("day", "count"),
        ])  # fmt: skip
        for row in summed.to_pylist():
            key = (
                _label(row["day"], grain),
                provider,
                row["model"] if grain.model else ALL,
                row["token_class"],
                row["project"],
                row["api_key"],
                row["currency"],
            )
            _add_bill(cells.setdefault(key, BillSide(row["currency"])), row)
    return cells, other.to_pylist() if other.num_rows else []


def _add_bill(side: BillSide, row: dict[str, Any]) -> None:
    if row["cost_count"]:
        side.cost = (side.cost or Decimal(0)) + row["cost_sum"]
    if row["quantity_count"]:
        side.quantity = (side.quantity or 0) + row["quantity_sum"]
    side.lines += row["day_count"]
    if row["rounding_max"] is not None:
        side.rounding = max(side.rounding or Decimal(0), row["rounding_max"])


def _model_key(model: Any, reported: Any) -> Any:
    """The registry model id, else the model as reported in lower case, else ``(unknown)``."""
    import pyarrow.compute as pc

    model = _strings(model)
    if not model.null_count:
        return model
    return pc.fill_null(pc.coalesce(model, _lower(reported)), "(unknown)")


def _lower(column: Any) -> Any:
    """Lower case; a dictionary column is lowered once per distinct value, not once per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_dictionary(column.type):
        return pc.utf8_lower(column)
    chunks = column.unify_dictionaries().chunks if isinstance(column, pa.ChunkedArray) else [column]
    lowered = [pa.DictionaryArray.from_arrays(c.indices, pc.utf8_lower(c.dictionary)).cast(pa.string()) for c in chunks]
    return pa.chunked_array(lowered, pa.string())


def _filter(table: Any, mask: Any) -> Any:
    """Table.filter column by column: faster on tables of many small chunks (a reader's batches)."""
    import pyarrow as pa

    return pa.table({name: table.column(name).filter(mask) for name in table.column_names})


def _int(table: Any, name: str) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if name not in table.column_names:
        return pa.array([0] * table.num_rows, pa.int64())
    return pc.fill_null(table.column(name).cast(pa.int64()), 0)


@dataclass
class UsageAccounting:
    records: int = 0
    reconciled: int = 0
    other_providers: int = 0
    outside_period: int = 0
    no_timestamp: int = 0
    unpriced_reasons: dict[str, int] = field(default_factory=dict)


def usage_cells(usage: Any, grain: Grain, scope_of: dict[str, Scope]) -> tuple[dict[CellKey, LogSide], UsageAccounting]:
    """Priced usage summed per (cell, price row, half-hour slot), kept as parts of each cell.

    One group_by over the whole table, with no row filtered out first: the provider and whether the record
    falls in its bill's period are grouping keys, and the groups outside the bill are only counted.
    """
    accounting = UsageAccounting(records=usage.num_rows)
    usage = usage.select([c for c in USAGE_NEEDED if c in usage.column_names])
    cells: dict[CellKey, LogSide] = {}
    if not usage.num_rows:
        return cells, accounting
    table = _keyed(usage, scope_of)
    ensure_sums_fit(table, TOKEN_CLASSES)
    import pyarrow.compute as pc

    every = pc.CountOptions(mode="all")  # records without a timestamp (null slot) count too
    sums = [(c, "sum") for c in (*TOKEN_CLASSES, "reasoning", "unpriced")] + [("slot", "count", every)]
    keys = ["provider", "inside", "day", "slot", "model", "project", "api_key", "ref", "currency"]
    for row in table.group_by(keys, use_threads=False).aggregate(sums).to_pylist():
        scope = scope_of.get(row["provider"])
        if scope is None:
            accounting.other_providers += row["slot_count"]
        elif row["day"] is None:
            accounting.no_timestamp += row["slot_count"]
        elif not row["inside"]:
            accounting.outside_period += row["slot_count"]
        else:
            accounting.reconciled += row["slot_count"]
            _add_parts(cells, row, grain, scope)
    if accounting.reconciled:
        _count_unpriced(usage, accounting)
    return cells, accounting


def _keyed(usage: Any, scope_of: dict[str, Scope]) -> Any:
    """The grouping keys and token sums of every record: local day and slot in its provider's bill zone."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = usage.num_rows
    provider = pc.fill_null(_strings(usage.column("provider")), "")
    ts = pc.coalesce(*(usage.column(c) for c in ("ts_start", "ts_end") if c in usage.column_names))
    local = pa.nulls(n, pa.int64())
    inside = pa.array([False] * n, pa.bool_()) if n else pa.array([], pa.bool_())
    for name, scope in scope_of.items():
        mine = pc.equal(provider, name)
        zoned = pc.local_timestamp(ts.cast(pa.timestamp("us", tz=scope.timezone))).cast(pa.int64())
        local = pc.if_else(mine, zoned, local)
        within = pc.and_(
            pc.greater_equal(ts, pa.scalar(scope.start, ts.type)), pc.less(ts, pa.scalar(scope.end, ts.type))
        )
        inside = pc.if_else(mine, pc.fill_null(within, False), inside)
    day = pc.divide(local, _DAY_US)  # moments after 1970: truncation is floor
    cache_read, cache_write = _int(usage, "cache_read_tokens"), _int(usage, "cache_write_tokens")
    write_1h = _int(usage, "cache_write_1h_tokens")
    return pa.table({
        "provider": provider, "inside": inside, "day": day,
        "slot": pc.divide(pc.subtract(local, pc.multiply(day, _DAY_US)), _SLOT_US),
        "model": _model_key(usage.column("model"), usage.column("model_reported")),
        "project": _column(usage, "project", n), "api_key": _column(usage, "api_key_id", n),
        "ref": pc.fill_null(_column(usage, "price_ref", n), ""),
        "currency": pc.fill_null(_column(usage, "currency", n), ""),
        "input": pc.subtract(pc.subtract(_int(usage, "input_tokens"), cache_read), cache_write),
        "cache_read": cache_read, "cache_write": pc.subtract(cache_write, write_1h), "cache_write_1h": write_1h,
        "output": _int(usage, "output_tokens"), "reasoning": _int(usage, "reasoning_tokens"),
        "unpriced": pc.is_null(_column(usage, "cost", n)).cast(pa.int64()),
    })  # fmt: skip


def _column(table: Any, name: str, n: int) -> Any:
    import pyarrow as pa

    return _strings(table.column(name)) if name in table.column_names else pa.nulls(n, pa.string())


def _add_parts(cells: dict[CellKey, LogSide], row: dict[str, Any], grain: Grain, scope: Scope) -> None:
    date = _EPOCH + dt.timedelta(days=row["day"])
    model = row["model"] if grain.model else ALL
    project = row["project"] if scope.project else None
    api_key = row["api_key"] if scope.api_key else None
    for token_class in TOKEN_CLASSES:
        tokens = row[f"{token_class}_sum"]
        if not tokens and token_class not in ("input", "output"):
            continue
        key = (_label(row["day"], grain), scope.provider, model, token_class if grain.token_class else ALL, project,
               api_key)  # fmt: skip
        side = cells.setdefault(key, LogSide(row["currency"] or None))
        side.quantity += tokens
        reasoning = row["reasoning_sum"] if token_class == "output" else 0
        side.parts.append(
            Part(date, row["slot"], row["ref"], tokens, reasoning, row["slot_count"], row["unpriced_sum"], token_class)
        )
        if token_class == "output":  # count each record once, on its output cell
            side.records += row["slot_count"]
            side.unpriced += row["unpriced_sum"]


def _count_unpriced(usage: Any, accounting: UsageAccounting) -> None:
    import pyarrow.compute as pc

    if "flags" not in usage.column_names:
        return
    if not usage.column("cost").null_count:
        return
    unpriced = _filter(usage.select(["cost", "flags"]), pc.is_null(usage.column("cost")))
    if not unpriced.num_rows:
        return
    flags = pc.list_flatten(unpriced.column("flags"))
    reasons = flags.filter(pc.starts_with(flags, "unpriced:"))
    for item in pc.value_counts(reasons).to_pylist():
        accounting.unpriced_reasons[item["values"][len("unpriced:") :]] = item["counts"]
