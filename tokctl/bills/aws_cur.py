"""AWS Cost and Usage Report rows for Amazon Bedrock (CUR 2.0 snake_case or legacy ``lineItem/UsageType``).

The token class is the suffix of ``line_item_usage_type`` (``-input-tokens``, ``-output-tokens``,
``-cache-read-input-token-count``, ``-cache-write-input-token-count``), by bill_rules/aws_cur.toml. The model is
read from the resource ARN (``inference-profile/us.anthropic.claude-...-v1:0``). Quantities are
``line_item_usage_amount`` in ``pricing_unit`` (often 1K tokens). Rows of other AWS services are skipped and
counted. (reference/formats.md 3.7)
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
        if product != "AmazonBedrock" and parsed.token_class is None:
            collector.skip(line, "not a Bedrock line", f"product {product or '(none)'}")
            continue
        try:
            _line(builder, rules, line, row)
        except LineError as exc:
            collector.skip(line, "bad line", str(exc))
    return FileRead(builder.table(), collector.skipped)


def _model(row: dict[str, Any], provider: str | None) -> tuple[str | None, str | None]:
    arn = str(row.get("line_item_resource_id") or "")
    reported = arn.rsplit("/", 1)[-1] if "/" in arn else None
    return canonical_model(reported, provider) or canonical_model(reported, None), reported


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
        sub_account_id=row.get("line_item_usage_account_id") or None, service_name="Amazon Bedrock",
        sku_id=usage_type, charge_description=row.get("line_item_line_item_description") or None,
        model=model, model_reported=reported, token_class=token_class or "other",
        service_tier=parsed.service_tier, consumed_quantity=quantity,
        consumed_unit=str(unit) if quantity is not None and unit else None,
        billed_cost=decimal(row["line_item_unblended_cost"], "line_item_unblended_cost"),
        effective_cost=None if net in (None, "") else decimal(net, "line_item_net_unblended_cost"),
        billing_currency=currency(row.get("line_item_currency_code") or "USD"),
        charge_category=category, billing_timezone="UTC",
    )  # fmt: skip
