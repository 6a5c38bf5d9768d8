"""Group-by and time buckets over a priced usage table, with totals per currency.

>>> summary = tokctl.summarize(table, by=["day", "model"], tz="Asia/Shanghai")   # doctest: +SKIP
>>> summary.totals   # doctest: +SKIP
[{'currency': 'CNY', 'requests': 12, ..., 'cost': Decimal('0.0431')}, ...]

Rules:

- Groups are ``day``, ``week`` (the Monday it starts), ``month`` (of ts_start in ``tz``), ``provider``,
  ``model`` (the registry id, else the model as logged), ``project``, ``api_key``, ``user`` and ``tag:NAME``.
- Money is never summed across currencies: every row and every total is per currency. Records without a
  computed cost (unpriced, or no token counts at all) sit in a bucket of their own with currency null;
  :attr:`Summary.unpriced` lists the unpriced ones by model with the pricer's reasons.
- ``currency="USD"`` converts each cost through tokctl.registry.fx at the rate of its record's UTC day (costs are
  first summed per group, currency and day) and lists every rate used in :attr:`Summary.fx`.
- ``since`` is inclusive, ``until`` exclusive; a bare date is midnight in ``tz``. With either, records
  without a ts_start are left out.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokctl.errors import InputFormatError, UnknownNameError, UsageError

TIME_KEYS = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}
COLUMN_KEYS = {"provider": "provider", "project": "project", "api_key": "api_key_id", "user": "user"}
GROUP_KEYS = (*TIME_KEYS, "provider", "model", "project", "api_key", "user", "tag:NAME")
SUMMED = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
COLUMNS_READ = (
    "ts_start",
    "provider",
    "model",
    "model_reported",
    "project",
    "api_key_id",
    "user",
    "tags",
    *SUMMED,
    "cost",
    "currency",
    "flags",
)


def columns_for(keys: Sequence[str]) -> list[str]:
    """The usage columns a summary by ``keys`` reads (fewer columns held: less memory on large logs)."""
    wanted = {COLUMN_KEYS[k] for k in keys if k in COLUMN_KEYS}
    if any(k.startswith("tag:") for k in keys):
        wanted.add("tags")
    return [c for c in COLUMNS_READ if c in wanted or c not in ("project", "api_key_id", "user", "tags")]


@dataclass
class Summary:
    by: list[str]
    rows: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    unpriced: list[dict[str, Any]] = field(default_factory=list)
    fx: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, accounting: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON document: ``{rows, totals, accounting}``."""
        counts = dict(accounting or {})
        counts["unpriced_by_model"] = self.unpriced
        if self.fx:
            counts["fx"] = self.fx
        return {"rows": self.rows, "totals": self.totals, "accounting": counts}


def parse_by(values: Sequence[str] | str | None) -> list[str]:
    """``["day", "model"]`` from repeated or comma-separated ``--by`` values, checked."""
    if values is None:
        return ["day"]
    items = [values] if isinstance(values, str) else list(values)
    keys = [part.strip() for item in items for part in item.split(",") if part.strip()]
    for key in keys:
        if key.startswith("tag:") and len(key) > 4:
            continue
        if key not in GROUP_KEYS or key == "tag:NAME":
            raise UnknownNameError(
                key,
                [k for k in GROUP_KEYS if k != "tag:NAME"],
                fix="group by day, week, month, provider, model, project, api_key, user or tag:NAME",
            )
    if len(set(keys)) != len(keys):
        raise UsageError(f"--by repeats a key: {', '.join(keys)}", fix="name each group key once")
    return keys or ["day"]


def summarize(
    table: Any,
    by: Sequence[str] | str | None = ("day",),
    *,
    since: str | dt.datetime | dt.date | None = None,
    until: str | dt.datetime | dt.date | None = None,
    tz: str = "UTC",
    currency: str | None = None,
    fx_file: Path | None = None,
) -> Summary:
    """Sum a priced usage table per group and currency (see the module doc for the rules)."""
    return summarize_batches([table], by, since=since, until=until, tz=tz, currency=currency, fx_file=fx_file)


def summarize_batches(
    batches: Iterable[Any],
    by: Sequence[str] | str | None = ("day",),
    *,
    since: str | dt.datetime | dt.date | None = None,
    until: str | dt.datetime | dt.date | None = None,
    tz: str = "UTC",
    currency: str | None = None,
    fx_file: Path | None = None,
) -> Summary:
    """:func:`summarize` of tables or record batches taken one at a time (memory: one batch and the groups).

    Sums are taken per batch and merged exactly; with ``currency`` the sums per group, currency and day are
    merged across batches before each is converted, so the result equals one summary of the whole table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = parse_by(by)
    zone = _zone(tz)
    since_at, until_at = _moment(since, zone, "--since"), _moment(until, zone, "--until")
    names = [_key_name(k) for k in keys]
    group = [*names, "currency"] if currency is None else [*names, "currency", "fx_day"]
    parts: list[dict[str, Any]] = []
    unpriced: dict[tuple[Any, Any], dict[str, Any]] = {}
    largest = dict.fromkeys(SUMMED, 0)
    for batch in batches:
        table = _window(batch, since_at, until_at)
        if not table.num_rows:
            continue
        ensure_sums_fit(table, SUMMED)
        for column in SUMMED:
            largest[column] = max(largest[column], pc.max(table.column(column)).as_py() or 0)
        work = pa.table(
            {
                **{n: _key_column(table, k, zone) for n, k in zip(names, keys, strict=True)},
                **{c: table.column(c) for c in SUMMED},
                "cost": table.column("cost"),
                "currency": table.column("currency").cast(pa.string()),
            }
        )
        if currency is not None:
            # The rate of each record's UTC day: sum per group, currency and day, then convert each sum.
            work = work.append_column("fx_day", pc.strftime(table.column("ts_start"), format="%Y-%m-%d"))
        parts.extend(_group(work, group))
        _add_unpriced(unpriced, table)
    rates: list[dict[str, Any]] = []
    if currency is not None:
        parts, rates = _convert(_merge(parts, group), currency.upper(), fx_file)
    rows = _merge(parts, [*names, "currency"])
    totals = _merge(rows, ["currency"])
    _refuse_past_int64(totals, largest)
    return Summary(keys, rows, totals, _unpriced_list(unpriced), rates)


def _refuse_past_int64(totals: list[dict[str, Any]], largest: dict[str, int]) -> None:
    """Totals merged batch by batch are exact Python integers; refuse the ones past int64 all the same, as
    the single-table summary does (exports and other tools would wrap them)."""
    limit = 2**63 - 1
    for name in SUMMED:
        total = sum(row[name] for row in totals)
        if total > limit:
            raise InputFormatError(
                f"the {name} of these logs add up to {total}, past the int64 range of every total (the largest "
                f"count is {largest[name]})",
                fix="a log holds implausible token counts: find them with tokctl usage export and remove them",
            )


def _key_name(key: str) -> str:
    return key.replace(":", "_") if key.startswith("tag:") else key


def _key_column(table: Any, key: str, zone: zoneinfo.ZoneInfo) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if key in TIME_KEYS:
        local = table.column("ts_start").cast(pa.timestamp("us", tz=zone.key))
        if key == "week":
            naive = pc.floor_temporal(pc.local_timestamp(local), 1, "week", week_starts_monday=True)
            return pc.strftime(naive, format=TIME_KEYS[key])
        return pc.strftime(local, format=TIME_KEYS[key])
    if key == "model":
        return pc.coalesce(table.column("model").cast(pa.string()), table.column("model_reported").cast(pa.string()))
    if key.startswith("tag:"):
        return pc.map_lookup(table.column("tags"), key[4:], "first")
    return table.column(COLUMN_KEYS[key]).cast(pa.string())


def _group(work: Any, keys: list[str]) -> list[dict[str, Any]]:
    """Requests, token sums and cost sum per distinct key, in Arrow."""
    import pyarrow.compute as pc

    zero = pc.ScalarAggregateOptions(min_count=0)
    specs = [("cost", "count", pc.CountOptions("all")), *[(c, "sum", zero) for c in SUMMED], ("cost", "sum")]
    out = []
    for row in work.group_by(keys, use_threads=False).aggregate(specs).to_pylist():
        item = {k: row[k] for k in keys}
        item["requests"] = row["cost_count"]
        for column in SUMMED:
            item[column] = row[f"{column}_sum"]
        item["cost"] = row["cost_sum"]
        out.append(item)
    return out


def _merge(parts: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """Parts summed per ``keys`` (currency last), sorted with nulls last; costs never cross currencies."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for part in parts:
        key = tuple(part[k] for k in keys)
        entry = merged.get(key)
        if entry is None:
            entry = merged[key] = {k: part[k] for k in keys if k != "currency"}
            entry.update({"requests": 0, **dict.fromkeys(SUMMED, 0), "cost": None, "currency": part["currency"]})
        entry["requests"] += part["requests"]
        for column in SUMMED:
            entry[column] += part[column]
        if part["cost"] is not None:
            entry["cost"] = part["cost"] if entry["cost"] is None else entry["cost"] + part["cost"]
    rows = [merged[k] for k in sorted(merged, key=lambda key: [(v is None, "" if v is None else v) for v in key])]
    for row in rows:
        row["cost"] = plain(row["cost"])
    return rows


def plain(amount: Decimal | None) -> Decimal | None:
    """An exact amount without trailing zeros (0.007095000000 -> 0.007095), never in exponent form."""
    if amount is None:
        return None
    reduced = amount.normalize()
    exponent = reduced.as_tuple().exponent
    return reduced.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else reduced


def _unpriced(table: Any) -> list[dict[str, Any]]:
    """Records with token counts and no cost, by provider and model, with the pricer's reasons."""
    groups: dict[tuple[Any, Any], dict[str, Any]] = {}
    _add_unpriced(groups, table)
    return _unpriced_list(groups)


def _add_unpriced(groups: dict[tuple[Any, Any], dict[str, Any]], table: Any) -> None:
    import pyarrow.compute as pc

    has_tokens = pc.or_(pc.is_valid(table.column("input_tokens")), pc.is_valid(table.column("output_tokens")))
    mask = pc.and_(pc.is_null(table.column("cost")), has_tokens)
    columns = ["provider", "model", "model_reported", "input_tokens", "output_tokens", "flags"]
    for row in table.filter(mask).select(columns).to_pylist():
        model = row["model"] or row["model_reported"]
        entry = groups.get((row["provider"], model))
        if entry is None:
            entry = groups[(row["provider"], model)] = {
                "provider": row["provider"],
                "model": model,
                "requests": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "reasons": set(),
            }
        entry["requests"] += 1
        entry["input_tokens"] += row["input_tokens"] or 0
        entry["output_tokens"] += row["output_tokens"] or 0
        entry["reasons"].update(f.split(":", 1)[1] for f in row["flags"] or () if f.startswith("unpriced:"))


def _unpriced_list(groups: dict[tuple[Any, Any], dict[str, Any]]) -> list[dict[str, Any]]:
    out = sorted(groups.values(), key=lambda e: (-e["requests"], str(e["model"]), str(e["provider"])))
    for entry in out:
        entry["reasons"] = sorted(entry["reasons"])
    return out


def _convert(
    parts: list[dict[str, Any]], target: str, fx_file: Path | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each part's cost in ``target`` at the rate of its day; the rates used, once each."""
    from tokctl.registry import fx

    rates: dict[tuple[str, str], dict[str, Any]] = {}
    for part in parts:
        day = part.pop("fx_day")
        if part["cost"] is None:
            continue
        result = fx.convert(part["cost"], part["currency"], target, dt.date.fromisoformat(day), fx_file)
        if part["currency"] != target:
            rates[(part["currency"], str(result.rate_date))] = {
                "from": part["currency"],
                "to": target,
                "rate": str(result.rate),
                "rate_date": str(result.rate_date),
                "source": result.rate_source,
            }
        part["cost"], part["currency"] = result.amount.quantize(_PLACES), target
    return parts, sorted(rates.values(), key=lambda r: (r["from"], r["rate_date"]))


_PLACES = Decimal(1).scaleb(-12)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a directory of zones
        raise UsageError(f"unknown time zone {name!r}", fix="use an IANA name such as UTC or Asia/Shanghai") from None


def _moment(value: str | dt.datetime | dt.date | None, zone: zoneinfo.ZoneInfo, option: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"{option} {text!r} is not an ISO 8601 date or time",
                fix="write e.g. 2026-01-14 or 2026-01-14T09:00+08:00",
            ) from None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    value = value if value.tzinfo is not None else value.replace(tzinfo=zone)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise UsageError(
            f"{option} {value.isoformat()} is out of the range of dates once in UTC", fix="give a year from 1 to 9999"
        ) from None


def ensure_sums_fit(table: Any, columns: Sequence[str]) -> None:
    """Refuse token columns whose sum would pass the int64 range: Arrow's sums wrap around silently.

    Counts are never negative (the readers refuse them), so when the whole column's sum fits, every group's
    sum fits too. The exact sum is only taken when the largest count times the row count could overflow.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    limit = 2**63 - 1
    for name in columns:
        column = table.column(name)
        largest = pc.max(column).as_py()
        if not largest or largest * len(column) <= limit:
            continue
        total = pc.sum(column.cast(pa.decimal128(38, 0))).as_py()
        if total is not None and total > limit:
            raise InputFormatError(
                f"the {name} of these logs add up to {total}, past the int64 range of every total (the largest "
                f"count is {largest})",
                fix="a log holds implausible token counts: find them with tokctl usage export and remove them",
            )


def _window(table: Any, since: dt.datetime | None, until: dt.datetime | None) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if since is None and until is None:
        return table
    ts = table.column("ts_start")
    kind = pa.timestamp("us", tz="UTC")
    mask = pc.is_valid(ts)
    if since is not None:
        mask = pc.and_(mask, pc.greater_equal(ts, pa.scalar(since.astimezone(dt.UTC), kind)))
    if until is not None:
        mask = pc.and_(mask, pc.less(ts, pa.scalar(until.astimezone(dt.UTC), kind)))
    return table.filter(pc.fill_null(mask, False))


def report_usage(
    paths: Any,
    by: Sequence[str] | str | None = ("day",),
    *,
    source: str | None = None,
    strict: bool = False,
    mapping: str | Path | None = None,
    since: str | None = None,
    until: str | None = None,
    tz: str = "UTC",
    currency: str | None = None,
    fx_file: Path | None = None,
    progress: Any = None,
    workers: int | None = 1,
    at: str | None = None,
    provider: Sequence[str] | None = None,
) -> tuple[Summary, Any]:
    """Read, price and summarize usage logs, or summarize a tokctl dataset (stored records, read as Arrow with
    only the needed columns and the partitions in the window): (Summary, Accounting). Arguments are checked
    before reading; a path that names nothing, or a read that finds no record, is InputNotFoundError."""
    import tempfile

    from tokctl.usage.read import stream_usage
    from tokctl.usage.sources import check_read, stream_usage_any

    keys = parse_by(by)
    zone = _zone(tz)
    since_at, until_at = _moment(since, zone, "--since"), _moment(until, zone, "--until")
    price_at = parse_at_option(at)
    providers = [p for item in provider or () for p in item.split(",") if p.strip()] or None
    with tempfile.TemporaryDirectory(prefix="tokctl-report-") as spill:

        def logs(given: list[str], accounting: Any) -> Any:
            return stream_usage(
                given,
                source,
                strict,
                mapping=mapping,
                price=True,
                columns=columns_for(keys),
                accounting=accounting,
                progress=progress,
                workers=workers,
                price_at=price_at,
                spill_dir=Path(spill),
            )

        batches, accounting = stream_usage_any(
            paths, columns=columns_for(keys), since=since_at, until=until_at, providers=providers, logs=logs
        )
        if providers is not None:
            batches = _of_providers(batches, providers)
        summary = summarize_batches(batches, by, since=since, until=until, tz=tz, currency=currency, fx_file=fx_file)
    from tokctl.usage.sources import as_list
    from tokctl.usage.store import StoredAccounting

    windowed = since_at is not None or until_at is not None or providers is not None
    if not (windowed and isinstance(accounting, StoredAccounting)):  # a window may rightly hold nothing
        check_read(accounting, as_list(paths))
    return summary, accounting


def _of_providers(batches: Iterable[Any], providers: Sequence[str]) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = pa.array(sorted(set(providers)))
    for batch in batches:
        yield batch.filter(pc.fill_null(pc.is_in(batch.column("provider").cast(pa.string()), wanted), False))


def parse_at_option(at: str | None) -> Any:
    """``--at`` for logs: the moment at which records without a timestamp are priced (ISO 8601 with offset)."""
    if at is None:
        return None
    import datetime as dt

    from tokctl.pricing.types import parse_at

    return parse_at(at, dt.UTC)


def merge_summaries(summaries: Iterable[Summary], by: Sequence[str] | str | None = ("day",)) -> Summary:
    """One Summary of several made without ``currency`` over disjoint parts of a table (a distributed
    engine's partitions): sums are merged exactly, as :func:`summarize_batches` merges its batches."""
    keys = parse_by(by)
    names = [_key_name(k) for k in keys]
    rows: list[dict[str, Any]] = []
    unpriced: dict[tuple[Any, Any], dict[str, Any]] = {}
    for summary in summaries:
        rows.extend(summary.rows)
        for entry in summary.unpriced:
            mine = unpriced.setdefault(
                (entry["provider"], entry["model"]),
                {**entry, "requests": 0, "input_tokens": 0, "output_tokens": 0, "reasons": set()},
            )
            for column in ("requests", "input_tokens", "output_tokens"):
                mine[column] += entry[column]
            mine["reasons"].update(entry["reasons"])
    merged = _merge(rows, [*names, "currency"])
    return Summary(keys, merged, _merge(merged, ["currency"]), _unpriced_list(unpriced))
