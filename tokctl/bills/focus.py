"""FinOps FOCUS 1.x cost and usage files, CSV or Parquet, as AWS, Azure, Google Cloud or OCI export them.

FOCUS has no token columns: the model and the token class are read from SkuMeter, ChargeDescription, SkuId and
SkuPriceId by bill_rules/focus.toml, and the billing platform from ServiceName or ProviderName. Quantities are
ConsumedQuantity in ConsumedUnit (or PricingQuantity in PricingUnit, "1000000 Tokens"). Periods are UTC, end
exclusive. (reference/formats.md 4.2)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tokctl.bills._common import (
    TOKEN_CLASSES,
    Collector,
    FileRead,
    LineBuilder,
    LineError,
    canonical_model,
    currency,
    decimal,
    moment,
    tokens,
    zone,
)
from tokctl.bills._tabular import header, require, rows
from tokctl.bills.rules import BillRules, load_rules

REQUIRED = ("BilledCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd")


def sniff(names: list[str]) -> bool:
    return all(n in names for n in REQUIRED)


def read(path: Path, *, strict: bool) -> FileRead:
    require(path, header(path), REQUIRED, "FOCUS")
    collector = Collector(str(path), strict=strict)
    builder = LineBuilder("focus", str(path))
    rules = load_rules("focus")
    for line, row in rows(path):
        builder.line = line
        try:
            _line(builder, rules, line, row)
        except LineError as exc:
            collector.skip(line, "bad line", str(exc))
    return FileRead(builder.table(), collector.skipped)


def _text(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def provider_of(rules: BillRules, row: dict[str, Any]) -> str | None:
    for column in ("ServiceName", "ProviderName", "PublisherName", "InvoiceIssuerName"):
        name = _text(row, column)
        if name and name in rules.providers:
            return rules.providers[name]
    name = _text(row, "ProviderName")
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") if name else None


def _model(parsed_model: str | None, row: dict[str, Any], provider: str | None) -> tuple[str | None, str | None]:
    candidates = [
        parsed_model,
        _text(row, "SkuId"),
        (_text(row, "SkuPriceId") or "").split(":")[0] or None,
        _text(row, "ResourceName"),
        (_text(row, "ResourceId") or "").rsplit("/", 1)[-1] or None,
    ]
    for candidate in candidates:
        model = canonical_model(candidate, provider)
        if model:
            return model, candidate
    return None, parsed_model or _text(row, "SkuId")


def _line(builder: LineBuilder, rules: BillRules, line: int, row: dict[str, Any]) -> None:
    utc = zone("UTC")
    texts = {
        "meter": _text(row, "SkuMeter"),
        "description": _text(row, "ChargeDescription"),
        "sku": _text(row, "SkuId"),
        "sku_price": _text(row, "SkuPriceId"),
    }
    parsed = rules.parse(texts)
    provider = provider_of(rules, row)
    model, reported = _model(parsed.model, row, provider)
    category = _text(row, "ChargeCategory") or "Usage"
    token_class = parsed.token_class if category == "Usage" else None
    quantity = None
    if token_class in TOKEN_CLASSES:
        if _text(row, "ConsumedQuantity") is not None:
            quantity = tokens(row["ConsumedQuantity"], rules.unit_multiplier(_text(row, "ConsumedUnit")))
        elif _text(row, "PricingQuantity") is not None:
            quantity = tokens(row["PricingQuantity"], rules.unit_multiplier(_text(row, "PricingUnit")))
    optional = {
        k: decimal(row[c], c)
        for k, c in (("effective_cost", "EffectiveCost"), ("list_cost", "ListCost"))
        if _text(row, c) is not None
    }
    start = moment(row["ChargePeriodStart"], utc, "ChargePeriodStart")
    builder.add(
        key=(line, start, texts["sku_price"], texts["meter"], _text(row, "SubAccountId"), _text(row, "ResourceId")),
        provider=provider, charge_period_start=start,
        charge_period_end=moment(row["ChargePeriodEnd"], utc, "ChargePeriodEnd"),
        sub_account_id=_text(row, "SubAccountId"), service_name=_text(row, "ServiceName"),
        sku_id=_text(row, "SkuPriceId") or _text(row, "SkuId"), charge_description=texts["description"],
        model=model, model_reported=reported, token_class=token_class or "other",
        service_tier=parsed.service_tier, consumed_quantity=quantity,
        consumed_unit=_text(row, "ConsumedUnit") if quantity is not None else None,
        billed_cost=decimal(row["BilledCost"], "BilledCost"), billing_currency=currency(row["BillingCurrency"]),
        charge_category=category, context_tier=parsed.context_tier, billing_timezone="UTC", **optional,
    )  # fmt: skip
