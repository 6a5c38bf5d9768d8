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

from tokctl.bills import azure_meters
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


_CLOUDS = ("azure", "bedrock", "vertex")
_BEDROCK_EDITION = re.compile(r"^(?P<model>.+?)\s*\(Amazon Bedrock Edition\)$", re.I)


def provider_of(rules: BillRules, row: dict[str, Any]) -> str | None:
    if _BEDROCK_EDITION.match(_text(row, "ServiceName") or ""):  # Anthropic on Bedrock through AWS Marketplace
        return "bedrock"  # (its PublisherName is Anthropic, but the bill is AWS's)
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
        if model is None and provider in _CLOUDS:  # a cloud's own price book may not list the model yet
            model = canonical_model(candidate, None)
        if model:
            return model, candidate
    return None, parsed_model or _text(row, "SkuId")


def _azure_model(meter: azure_meters.Meter) -> tuple[str | None, str]:
    for candidate in azure_meters.model_candidates(meter.model_reported):
        model = canonical_model(candidate, "azure") or canonical_model(candidate, None)
        if model:
            return model, meter.model_reported
    return None, meter.model_reported


def _line(builder: LineBuilder, rules: BillRules, line: int, row: dict[str, Any]) -> None:
    utc = zone("UTC")
    texts = {
        "meter": _text(row, "SkuMeter") or _text(row, "x_SkuMeterName"),  # Microsoft's exports fill the latter
        "description": _text(row, "ChargeDescription"),
        "sku": _text(row, "SkuId"),
        "sku_price": _text(row, "SkuPriceId"),
    }
    parsed = rules.parse(texts)
    provider = provider_of(rules, row)
    meter = azure_meters.parse(texts["meter"]) if provider == "azure" else None
    edition = _BEDROCK_EDITION.match(_text(row, "ServiceName") or "") if provider == "bedrock" else None
    usage_type = _text(row, "x_UsageType") if provider == "bedrock" else None  # AWS's FOCUS extension column
    units = rules
    deployment = meter.deployment_type if meter else None
    if usage_type:  # the CUR's usage type, read as the CUR reader reads it
        from tokctl.bills.aws_cur import deployment as bedrock_deployment
        from tokctl.bills.aws_cur import model_names

        cur_rules = load_rules("aws_cur")
        by_usage = cur_rules.parse({"usage_type": usage_type})
        if by_usage.token_class:
            parsed, units = by_usage, cur_rules  # "1K tokens", and "Units" of 1000 on Marketplace lines
            deployment = bedrock_deployment(usage_type, _text(row, "ResourceId"))
        names = [*model_names(usage_type), edition["model"] if edition else None]
        parsed_model = next((n for n in names if n and canonical_model(n, None)), parsed.model)
    else:
        parsed_model = parsed.model or (edition["model"] if edition else None)
    reported: str | None
    if meter is not None:
        model, reported = _azure_model(meter)
    else:
        model, reported = _model(parsed_model, row, provider)
    category = _text(row, "ChargeCategory") or "Usage"
    token_class = (meter.token_class if meter else parsed.token_class) if category == "Usage" else None
    service_tier = "batch" if meter and meter.batch else parsed.service_tier
    quantity = None
    if token_class in TOKEN_CLASSES:
        if _text(row, "ConsumedQuantity") is not None:
            quantity = tokens(row["ConsumedQuantity"], units.unit_multiplier(_text(row, "ConsumedUnit")))
        elif _text(row, "PricingQuantity") is not None:
            quantity = tokens(row["PricingQuantity"], units.unit_multiplier(_text(row, "PricingUnit")))
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
        service_tier=service_tier, deployment_type=deployment if token_class in TOKEN_CLASSES else None,
        consumed_quantity=quantity, consumed_unit=_text(row, "ConsumedUnit") if quantity is not None else None,
        billed_cost=decimal(row["BilledCost"], "BilledCost"), billing_currency=currency(row["BillingCurrency"]),
        charge_category=category, context_tier=parsed.context_tier, billing_timezone="UTC", **optional,
    )  # fmt: skip
