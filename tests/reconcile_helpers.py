"""Hand-built usage records and charge lines for the reconcile tests (the schemas are the contract)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pyarrow as pa

from tokctl.bills._common import LineBuilder
from tokctl.schema import usage_schema

UTC = dt.UTC
BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(text: str, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def usage(*records: dict[str, Any]) -> pa.Table:
    """Usage records with every other column null; token columns as the canonical record counts them."""
    columns: dict[str, list[Any]] = {f.name: [] for f in usage_schema()}
    for i, record in enumerate(records):
        row = {"record_id": f"r{i}", "source_format": "test", "token_basis": "reported", "input_tokens": 0,
               "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 0, **record}  # fmt: skip
        for name in columns:
            columns[name].append(row.get(name))
    arrays = []
    for field in usage_schema():
        if pa.types.is_dictionary(field.type):
            arrays.append(pa.array(columns[field.name], pa.string()).dictionary_encode().cast(field.type))
        else:
            arrays.append(pa.array(columns[field.name], field.type))
    return pa.Table.from_arrays(arrays, schema=usage_schema())


def lines(*items: dict[str, Any]) -> pa.Table:
    """Charge lines: each item gives day (local date in tz), provider, model, token_class, cost, ..."""
    builder = LineBuilder("test", "bill")
    for i, item in enumerate(items):
        tz = zoneinfo.ZoneInfo(item.get("tz", "UTC"))
        day = dt.date.fromisoformat(item["day"])
        start = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(UTC)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(UTC)
        cost = item.get("cost")
        builder.add(
            key=(i,), provider=item["provider"], charge_period_start=start, charge_period_end=end,
            model=item["model"], model_reported=item["model"], token_class=item["token_class"],
            consumed_quantity=item.get("quantity"), billed_cost=None if cost is None else Decimal(cost),
            billing_currency=item.get("currency", "USD") if cost is not None else None,
            sub_account_id=item.get("project"), billing_timezone=item.get("tz", "UTC"),
            rounding_unit=None if item.get("rounding") is None else Decimal(item["rounding"]),
            charge_category=item.get("category", "Usage"),
        )  # fmt: skip
    return builder.table()


def cells_by(result: Any) -> dict[tuple[str, str, str], Any]:
    """(date, model, token_class) -> cell."""
    return {(c.date, c.model, c.token_class): c for c in result.cells}
