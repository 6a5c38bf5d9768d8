"""FinOps FOCUS 1.2 cost rows from a priced usage table: one row per record and billed token class.

A record's cost splits exactly into its token classes (uncached input, cache read, cache write, 1-hour
cache write, output, reasoning where priced apart): class cost = tokens x unit price / 1M, with the unit
prices of the price row the record was priced with (its ``price_ref``), so the classes of a record add up
to its ``cost``. Classes with no tokens give no row. An unpriced record keeps its rows with null costs,
so quantities are never lost; ``x_Unpriced`` says why.

Columns: the FOCUS 1.2 columns that usage evidence can fill (BilledCost, EffectiveCost, ListCost,
ContractedCost, BillingCurrency, BillingPeriodStart/End, ChargePeriodStart/End, ChargeCategory,
ChargeDescription, ChargeFrequency, ConsumedQuantity, ConsumedUnit, PricingQuantity, PricingUnit,
ListUnitPrice, ProviderName, PublisherName, InvoiceIssuerName, ServiceName, ServiceCategory,
ServiceSubcategory, SkuId, SkuPriceId, SkuMeter, SubAccountId, Tags) and ``x_`` extensions naming the
record. Costs are list prices: tokctl knows no discounts, so Billed = Effective = Contracted = List.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

_ONE_MILLION = Decimal(1_000_000)
_KINDS = ("input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")
_METERS = {
    "input": "Input Tokens",
    "cache_read": "Cache Read Input Tokens",
    "cache_write": "Cache Write Input Tokens",
    "cache_write_1h": "Cache Write 1h Input Tokens",
    "output": "Output Tokens",
    "reasoning": "Reasoning Output Tokens",
}
COLUMNS = (
    ("BilledCost", "money"),
    ("EffectiveCost", "money"),
    ("ListCost", "money"),
    ("ContractedCost", "money"),
    ("BillingCurrency", "string"),
    ("BillingPeriodStart", "timestamp"),
    ("BillingPeriodEnd", "timestamp"),
    ("ChargePeriodStart", "timestamp"),
    ("ChargePeriodEnd", "timestamp"),
    ("ChargeCategory", "string"),
    ("ChargeClass", "string"),
    ("ChargeDescription", "string"),
    ("ChargeFrequency", "string"),
    ("ConsumedQuantity", "money"),
    ("ConsumedUnit", "string"),
    ("PricingQuantity", "money"),
    ("PricingUnit", "string"),
    ("ListUnitPrice", "money"),
    ("ProviderName", "string"),
    ("PublisherName", "string"),
    ("InvoiceIssuerName", "string"),
    ("ServiceName", "string"),
    ("ServiceCategory", "string"),
    ("ServiceSubcategory", "string"),
    ("SkuId", "string"),
    ("SkuPriceId", "string"),
    ("SkuMeter", "string"),
    ("SubAccountId", "string"),
    ("Tags", "string"),
    ("x_RecordId", "string"),
    ("x_TokenClass", "string"),
    ("x_Model", "string"),
    ("x_ModelReported", "string"),
    ("x_ApiKeyId", "string"),
    ("x_User", "string"),
    ("x_SourceFile", "string"),
    ("x_SourceLine", "int64"),
    ("x_Unpriced", "string"),
)


def focus_schema() -> Any:
    import pyarrow as pa

    from tokctl.schema import money_type

    types = {
        "money": money_type(),
        "string": pa.string(),
        "int64": pa.int64(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([pa.field(name, types[kind]) for name, kind in COLUMNS])


class UnitPrices:
    """Unit prices per (price_ref, kind), found once through the scalar pricer and cached."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Decimal | None] = {}

    def get(self, row: dict[str, Any], kind: str) -> Decimal | None:
        ref = row["price_ref"]
        if ref is None:
            return None
        key = (ref, kind)
        if key not in self._cache:
            self._fill(row)
        return self._cache.get(key)

    def _fill(self, row: dict[str, Any]) -> None:
        from tokctl.pricing import Usage, price

        write_1h = row["cache_write_1h_tokens"] or 0
        usage = Usage(
            input_tokens=row["input_tokens"] or 0,
            cache_read_tokens=row["cache_read_tokens"] or 0,
            cache_write_tokens=(row["cache_write_tokens"] or 0) - write_1h,
            cache_write_1h_tokens=write_1h,
            output_tokens=row["output_tokens"] or 0,
            reasoning_tokens=row["reasoning_tokens"] or 0,
        )
        cost = price(
            usage,
            row["model"],
            row["provider"],
            at=row["ts_start"],
            service_tier=row["service_tier"],
            batch=bool(row["is_batch"]),
        )
        if cost.price is None or cost.price.ref != row["price_ref"]:
            return
        for component in cost.components:
            self._cache[(row["price_ref"], component.kind)] = component.unit_price


def class_tokens(row: dict[str, Any]) -> dict[str, int]:
    """Tokens per billed class, as the pricer splits them."""
    write_1h = row["cache_write_1h_tokens"] or 0
    read, write = row["cache_read_tokens"] or 0, row["cache_write_tokens"] or 0
    reasoning = row["reasoning_tokens"] or 0
    return {
        "input": (row["input_tokens"] or 0) - read - write,
        "cache_read": read,
        "cache_write": write - write_1h,
        "cache_write_1h": write_1h,
        "output": (row["output_tokens"] or 0) - reasoning,
        "reasoning": reasoning,
    }


def focus_batch(batch: Any, prices: UnitPrices) -> Any:
    """The FOCUS rows of one priced usage record batch."""
    import pyarrow as pa

    schema = focus_schema()
    out: dict[str, list[Any]] = {name: [] for name, _ in COLUMNS}
    for row in batch.to_pylist():
        for kind, tokens in class_tokens(row).items():
            if tokens > 0:
                _append(out, row, kind, tokens, prices)
    return pa.RecordBatch.from_arrays([pa.array(out[f.name], f.type) for f in schema], schema=schema)


def _append(out: dict[str, list[Any]], row: dict[str, Any], kind: str, tokens: int, prices: UnitPrices) -> None:
    unit = prices.get(row, kind) if row["cost"] is not None else None
    cost = (Decimal(tokens) * unit / _ONE_MILLION).quantize(Decimal(1).scaleb(-12)) if unit is not None else None
    start = row["ts_start"]
    end = row["ts_end"] if row["ts_end"] is not None and start is not None and row["ts_end"] > start else start
    period_start = dt.datetime(start.year, start.month, 1, tzinfo=dt.UTC) if start is not None else None
    model = row["model"] or row["model_reported"]
    unpriced = [f.split(":", 1)[1] for f in row["flags"] or () if f.startswith("unpriced:")]
    values = {
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ListCost": cost,
        "ContractedCost": cost,
        "BillingCurrency": row["currency"],
        "BillingPeriodStart": period_start,
        "BillingPeriodEnd": _next_month(period_start) if period_start is not None else None,
        "ChargePeriodStart": start,
        "ChargePeriodEnd": end,
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": f"{model or 'unknown model'} {_METERS[kind].lower()}",
        "ChargeFrequency": "Usage-Based",
        "ConsumedQuantity": Decimal(tokens),
        "ConsumedUnit": "Tokens",
        "PricingQuantity": Decimal(tokens) / _ONE_MILLION,
        "PricingUnit": "1000000 Tokens",
        "ListUnitPrice": unit,
        "ProviderName": row["provider"],
        "PublisherName": row["provider"],
        "InvoiceIssuerName": row["provider"],
        "ServiceName": row["provider"],
        "ServiceCategory": "AI and Machine Learning",
        "ServiceSubcategory": "Generative AI",
        "SkuId": model,
        "SkuPriceId": f"{row['price_ref']}:{kind}" if row["price_ref"] else None,
        "SkuMeter": _METERS[kind],
        "SubAccountId": row["project"],
        "Tags": json.dumps(dict(row["tags"]), ensure_ascii=False, sort_keys=True) if row["tags"] else None,
        "x_RecordId": row["record_id"],
        "x_TokenClass": kind,
        "x_Model": row["model"],
        "x_ModelReported": row["model_reported"],
        "x_ApiKeyId": row["api_key_id"],
        "x_User": row["user"],
        "x_SourceFile": row["source_file"],
        "x_SourceLine": row["source_line"],
        "x_Unpriced": ",".join(unpriced) or None,
    }
    for name, value in values.items():
        out[name].append(value)


def _next_month(start: dt.datetime) -> dt.datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
