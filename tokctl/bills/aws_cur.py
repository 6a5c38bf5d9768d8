"""AWS Cost and Usage Report rows for Amazon Bedrock (CUR 2.0 snake_case or legacy ``lineItem/UsageType``).

The token class is the suffix of ``line_item_usage_type`` (``-input-tokens``, ``-output-tokens``,
``-cache-read-input-token-count``, ``-cache-write-input-token-count``), by bill_rules/aws_cur.toml. The model is
read from the resource ARN (``inference-profile/us.anthropic.claude-...-v1:0``). Quantities are
``line_item_usage_amount`` in ``pricing_unit`` (often 1K tokens). Rows of other AWS services are skipped and
counted. (reference/formats.md 3.7)
"""

from __future__ import annotations

import json
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
    next_day,
    tokens,
    zone,
)
from tokctl.bills._tabular import header, require, rows
from tokctl.bills.rules import BillRules, load_rules

REQUIRED = ("line_item_usage_start_date", "line_item_usage_type", "line_item_usage_amount",
            "line_item_unblended_cost")  # fmt: skip
_CATEGORIES = {"Usage": "Usage", "Tax": "Tax", "Credit": "Credit", "Refund": "Credit", "Fee": "Purchase",
               "DiscountedUsage": "Usage", "BundledDiscount": "Credit", "Discount": "Credit"}  # fmt: skip


def snake(name: str) -> str:
    """``lineItem/UsageType`` (legacy CUR) -> ``line_item_usage_type`` (CUR 2.0)."""
    return "_".join(re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", part).lower() for part in name.split("/"))


def sniff(names: list[str]) -> bool:
    normal = {snake(n) for n in names}
    return "line_item_usage_type" in normal and "line_item_unblended_cost" in normal


def read(path: Path, *, strict: bool) -> FileRead:
    require(path, [snake(n) for n in header(path)], REQUIRED, "AWS CUR")
    collector = Collector(str(path), strict=strict)
    builder = LineBuilder("aws.cur", str(path))
    rules = load_rules("aws_cur")
    for line, raw in rows(path):
        builder.line = line
        row = {snake(k): v for k, v in raw.items()}
        product = str(row.get("line_item_product_code") or "")
        parsed = rules.parse({"usage_type": str(row["line_item_usage_type"] or "")})
        if product != "AmazonBedrock" and parsed.token_class is None and not _EDITION.match(_product_name(row)):
            collector.skip(line, "not a Bedrock line", f"product {product or '(none)'}")
            continue
        try:
            _line(builder, rules, line, row)
        except LineError as exc:
            collector.skip(line, "bad line", str(exc))
    return FileRead(builder.table(), collector.skipped)


# "Claude Sonnet 4.5 (Amazon Bedrock Edition)": an Anthropic model billed through AWS Marketplace.
_EDITION = re.compile(r"^(?P<model>.+?)\s*\(Amazon Bedrock Edition\)$", re.I)
# The model inside a usage type: USE1-Claude4.5Sonnet-input-tokens, USE1-Claude3.5Sonnet-output-tokens.
_USAGE_MODEL = re.compile(r"^[A-Z]{2,4}\d?-(?P<family>Claude)(?P<version>\d+(?:\.\d+)?)(?P<name>[A-Za-z]+)-")
_GEO_PROFILE = re.compile(r"inference-profile/(?P<geo>[a-z]{2,6})\.")


def _product_name(row: dict[str, Any]) -> str:
    """Legacy CUR ``product/ProductName``; CUR 2.0 keeps it in the ``product`` map (``product_name``)."""
    name = row.get("product_product_name")
    if not name:
        product = row.get("product")
        if isinstance(product, str) and product.startswith("{"):
            try:
                product = json.loads(product)
            except ValueError:
                product = None
        if isinstance(product, list):  # a Parquet map reads as (key, value) pairs
            product = dict(product)
        name = product.get("product_name") if isinstance(product, dict) else None
    return str(name or "").strip()


def _resolve(name: str | None, provider: str | None) -> str | None:
    return canonical_model(name, provider) or canonical_model(name, None) if name else None


def model_names(usage_type: str) -> list[str]:
    """Registry names for the model a usage type names (``USE1-Claude3.5Sonnet-input-tokens``), or none."""
    match = _USAGE_MODEL.match(usage_type)
    if not match:
        return []
    version = match["version"].replace(".", "-")
    name = match["name"].lower()
    return [f"claude-{name}-{version}", f"claude-{version}-{name}"]  # Claude 4+ ids put the name first, 3.x last


def _model(row: dict[str, Any], provider: str | None) -> tuple[str | None, str | None]:
    """From the resource ARN, else the usage type, else the Marketplace product name."""
    arn = str(row.get("line_item_resource_id") or "")
    from_arn = arn.rsplit("/", 1)[-1] if "/" in arn else None
    model = _resolve(from_arn, provider)
    if model:
        return model, from_arn
    edition = _EDITION.match(_product_name(row))
    candidates = [*model_names(str(row["line_item_usage_type"])), edition["model"] if edition else None]
    for candidate in candidates:
        model = _resolve(candidate, provider)
        if model:
            return model, candidate
    return None, from_arn or (edition["model"] if edition else None)


def deployment(usage_type: str, arn: str | None) -> str:
    """global (global cross-region profile or usage type), data_zone (a geography's profile: us., eu., apac.),
    else regional."""
    usage_type = usage_type.lower()
    geo = _GEO_PROFILE.search(arn or "")
    if "global" in usage_type or (geo and geo["geo"] == "global"):
        return "global"
    return "data_zone" if geo else "regional"


def _line(builder: LineBuilder, rules: BillRules, line: int, row: dict[str, Any]) -> None:
    utc = zone("UTC")
    usage_type = str(row["line_item_usage_type"])
    parsed = rules.parse({"usage_type": usage_type})
    kind = str(row.get("line_item_line_item_type") or "Usage")
    category = _CATEGORIES.get(kind, "Adjustment")
    token_class = parsed.token_class if category == "Usage" else None
    model, reported = _model(row, rules.provider)
    start = moment(row["line_item_usage_start_date"], utc, "line_item_usage_start_date")
    end_raw = row.get("line_item_usage_end_date")
    end = moment(end_raw, utc, "line_item_usage_end_date") if end_raw not in (None, "") else next_day(start, utc)
    unit = row.get("pricing_unit") or None
    quantity = (
        tokens(row["line_item_usage_amount"], rules.unit_multiplier(unit)) if token_class in TOKEN_CLASSES else None
    )
    net = row.get("line_item_net_unblended_cost")
    builder.add(
        key=(line, start, usage_type, row.get("line_item_resource_id"), row.get("line_item_usage_account_id")),
        provider=rules.provider, charge_period_start=start, charge_period_end=end,
        sub_account_id=row.get("line_item_usage_account_id") or None,
        service_name=_product_name(row) if _EDITION.match(_product_name(row)) else "Amazon Bedrock",
        deployment_type=deployment(usage_type, row.get("line_item_resource_id")) if token_class in TOKEN_CLASSES
        else None,
        sku_id=usage_type, charge_description=row.get("line_item_line_item_description") or None,
        model=model, model_reported=reported, token_class=token_class or "other",
        service_tier=parsed.service_tier, consumed_quantity=quantity,
        consumed_unit=str(unit) if quantity is not None and unit else None,
        billed_cost=decimal(row["line_item_unblended_cost"], "line_item_unblended_cost"),
        effective_cost=None if net in (None, "") else decimal(net, "line_item_net_unblended_cost"),
        billing_currency=currency(row.get("line_item_currency_code") or "USD"),
        charge_category=category, billing_timezone="UTC",
    )  # fmt: skip
