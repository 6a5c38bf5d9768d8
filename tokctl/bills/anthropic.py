"""Anthropic Admin API exports: the cost report (money) and the messages usage report (tokens).

Cost report ``amount`` is a decimal string in the lowest currency unit, cents for USD: ``"54.702"`` is
$0.54702, divided by 100 exactly. ``token_type`` gives the token class; when the report was not grouped by
description it is null and ``description`` is parsed by bill_rules/anthropic.toml. The usage report gives
uncached input, cache reads, 5-minute and 1-hour cache writes and output per bucket. Buckets are RFC 3339
UTC. (reference/formats.md 3.4, 3.5)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokctl.bills._common import (
    Collector,
    FileRead,
    LineBuilder,
    LineError,
    canonical_model,
    currency,
    decimal,
    moment,
    zone,
)
from tokctl.bills._common import tokens as token_count
from tokctl.bills._pages import Bucket, BucketLedger, documents
from tokctl.bills.rules import load_rules

PROVIDER = "anthropic"
TOKEN_TYPES = {
    "uncached_input_tokens": "input",
    "cache_read_input_tokens": "cache_read",
    "cache_creation.ephemeral_5m_input_tokens": "cache_write",
    "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h",
    "output_tokens": "output",
}
# Currencies whose lowest unit is not a hundredth (ISO 4217 minor units); the report is in USD today.
_MINOR_UNITS = {"JPY": 1, "KRW": 1, "BHD": 1000, "KWD": 1000}


def sniff(first: Any) -> str | None:
    if not isinstance(first, dict) or not isinstance(first.get("data"), list):
        return None
    for bucket in first["data"]:
        if not isinstance(bucket, dict) or "starting_at" not in bucket:
            return None
        results = bucket.get("results")
        for result in results if isinstance(results, list) else []:
            if isinstance(result, dict) and "amount" in result:
                return "anthropic.cost_report"
            if isinstance(result, dict) and "uncached_input_tokens" in result:
                return "anthropic.usage_report"
    return None


def read(path: Path, *, strict: bool, ledger: BucketLedger, kind: str) -> FileRead:
    collector = Collector(str(path), strict=strict)
    builder = LineBuilder(kind, str(path))
    utc = zone("UTC")
    for line, page in documents(path.read_text(encoding="utf-8"), str(path)):
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            collector.skip(line, "not an Anthropic report page", 'expected {"data": [...], "has_more": ...}')
            continue
        for bucket in page["data"]:
            try:
                start = moment(bucket["starting_at"], utc, "starting_at")
                end = moment(bucket["ending_at"], utc, "ending_at")
                results = list(bucket.get("results") or [])
            except (LineError, KeyError, TypeError) as exc:
                collector.skip(line, "bad bucket", str(exc))
                continue
            if not ledger.admit(Bucket(start, end, results, f"{path}:{line}"), collector, line):
                continue
            builder.line = line
            for result in results:
                try:
                    if kind == "anthropic.cost_report":
                        _cost_line(builder, bucket, result)
                    else:
                        _usage_lines(builder, bucket, result)
                except (LineError, KeyError, TypeError, AttributeError) as exc:
                    collector.skip(
                        line, "bad result", f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                    )
    return FileRead(builder.table(), collector.skipped)


def cents_to_major(amount: Any, code: str) -> Any:
    """``"54.702"`` cents -> Decimal("0.54702") dollars, exactly."""
    return decimal(amount, "amount") / _MINOR_UNITS.get(code, 100)


def _cost_line(builder: LineBuilder, bucket: dict[str, Any], result: dict[str, Any]) -> None:
    code = currency(result.get("currency") or "USD")
    description = result.get("description")
    parsed = load_rules("anthropic").parse({"description": description})
    token_type = result.get("token_type")
    if token_type is not None and token_type not in TOKEN_TYPES:
        raise LineError(f"unknown token_type {token_type!r}")
    cost_type = result.get("cost_type") or "tokens"
    token_class = TOKEN_TYPES.get(token_type or "") or (parsed.token_class if cost_type == "tokens" else cost_type)
    reported = result.get("model") or parsed.model
    start, end = moment(bucket["starting_at"], zone("UTC")), moment(bucket["ending_at"], zone("UTC"))
    builder.add(
        key=(start, result.get("workspace_id"), description, reported, result.get("service_tier"), token_type,
             result.get("context_window"), cost_type),
        provider=PROVIDER, charge_period_start=start, charge_period_end=end,
        sub_account_id=result.get("workspace_id"), service_name="Claude API", sku_id=token_type or cost_type,
        charge_description=description, model=canonical_model(reported, PROVIDER), model_reported=reported,
        token_class=token_class or "other", service_tier=result.get("service_tier") or parsed.service_tier,
        billed_cost=cents_to_major(result["amount"], code), billing_currency=code,
        context_tier=result.get("context_window"), billing_timezone="UTC",
    )  # fmt: skip


def _usage_lines(builder: LineBuilder, bucket: dict[str, Any], result: dict[str, Any]) -> None:
    creation = result.get("cache_creation") or {}
    counts = {
        "input": result.get("uncached_input_tokens"),
        "cache_read": result.get("cache_read_input_tokens"),
        "cache_write": creation.get("ephemeral_5m_input_tokens"),
        "cache_write_1h": creation.get("ephemeral_1h_input_tokens"),
        "output": result.get("output_tokens"),
    }
    if counts["input"] is None or counts["output"] is None:
        raise LineError("a usage result needs uncached_input_tokens and output_tokens")
    start, end = moment(bucket["starting_at"], zone("UTC")), moment(bucket["ending_at"], zone("UTC"))
    reported = result.get("model")
    for token_class, value in counts.items():
        if value is None or (value == 0 and token_class not in ("input", "output")):
            continue
        builder.add(
            key=(start, result.get("workspace_id"), result.get("api_key_id"), reported, result.get("service_tier"),
                 result.get("context_window"), token_class),
            provider=PROVIDER, charge_period_start=start, charge_period_end=end,
            sub_account_id=result.get("workspace_id"), api_key_id=result.get("api_key_id"),
            service_name="Claude API", model=canonical_model(reported, PROVIDER), model_reported=reported,
            token_class=token_class, service_tier=result.get("service_tier"),
            consumed_quantity=token_count(value, what=token_class), consumed_unit="tokens",
            context_tier=result.get("context_window"), billing_timezone="UTC",
        )  # fmt: skip
