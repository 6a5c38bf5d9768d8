"""The Arrow schemas every reader, the pricer, the reports and reconcile agree on.

Usage record: one row per observed usage unit (a request, a batch item, or a vendor usage bucket). Token counts
are disjoint buckets plus the inclusive totals, so a price is a sum of bucket x price. Null means "not
reported"; 0 means "reported as zero". Money is decimal128(38, 12) in major units with its currency beside it.
Documented for users in docs/schema.md.

pyarrow is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import functools
from typing import Any

MONEY_PRECISION = 38
MONEY_SCALE = 12
# decimal128(38, 12) holds amounts below 10**26; readers refuse larger amounts as bad input.
MONEY_LIMIT_DIGITS = MONEY_PRECISION - MONEY_SCALE
# The largest token count a reader accepts: 2**53 - 1, the last integer every JSON producer writes exactly
# (JavaScript numbers). No request or daily bill line comes near it, and int64 sums of a thousand such
# counts stay exact; sums that could still overflow are refused, never wrapped (tokctl.usage.report).
MAX_TOKENS = 2**53 - 1

# (name, arrow type spec, nullable, meaning). Type specs are resolved lazily by _arrow_type.
USAGE_COLUMNS: tuple[tuple[str, str, bool, str], ...] = (
    ("record_id", "string", False, "stable hash of source format + natural key (the dedup key)"),
    ("source_format", "dict", False, "e.g. openai.chat, anthropic.messages, gemini, otel.span"),
    ("source_file", "string", True, "file the record came from"),
    ("source_line", "int64", True, "1-based line (JSONL/CSV row) or record index in a JSON file"),
    (
        "provider",
        "dict",
        True,
        "billing platform id (tokenizers_registry/providers), e.g. openai, deepseek-cn",
    ),
    ("model", "dict", True, "canonical model id from the registry; null when the model is unknown"),
    ("model_reported", "dict", True, "the model as the log names it"),
    ("ts_start", "timestamp", True, "request start (or the response's created time)"),
    ("ts_end", "timestamp", True, "request end"),
    ("ts_first_token", "timestamp", True, "first token received (streaming)"),
    ("request_id", "string", True, "vendor request id"),
    ("response_id", "string", True, "vendor response / message / generation id"),
    ("project", "string", True, "project, workspace or team"),
    ("api_key_id", "string", True, "API key id or alias (never the secret)"),
    ("user", "string", True, "end user"),
    ("tags", "map", True, "request tags / labels / metadata"),
    ("service_tier", "dict", True, "standard, batch, flex, priority, scale, ..."),
    ("is_batch", "bool", True, "billed through a batch API"),
    ("input_tokens", "int64", True, "all input tokens, cache reads and writes included"),
    ("input_uncached_tokens", "int64", True, "input billed at the plain input price (disjoint part)"),
    ("cache_read_tokens", "int64", True, "input read from cache (disjoint part)"),
    ("cache_write_tokens", "int64", True, "input written to cache, all TTLs (disjoint part)"),
    ("cache_write_5m_tokens", "int64", True, "part of cache_write_tokens with the default (5 min) TTL"),
    ("cache_write_1h_tokens", "int64", True, "part of cache_write_tokens with the 1 hour TTL"),
    ("output_tokens", "int64", True, "all output tokens, reasoning included"),
    ("reasoning_tokens", "int64", True, "part of output_tokens spent on reasoning"),
    ("total_tokens_reported", "int64", True, "the vendor's own total, kept to check the buckets"),
    ("token_basis", "dict", False, "reported, exact or estimate"),
    ("status", "dict", True, "success, error, timeout, rate_limited, cut, canceled, ..."),
    ("http_status", "int16", True, "HTTP status code"),
    ("error_type", "string", True, "vendor error type or code"),
    ("cost_reported", "money", True, "what the log itself claims the request cost"),
    ("cost_reported_currency", "string", True, "currency of cost_reported"),
    ("cost", "money", True, "what tokctl computed from the price registry; null when unpriced"),
    ("currency", "string", True, "currency of cost (the platform's billing currency)"),
    ("price_ref", "string", True, "the price row used: platform/model@effective_from[#tier|window]"),
    ("flags", "list", True, "e.g. input_parts_mismatch, reasoning_exceeds_output, unpriced:<reason>"),
)

# Columns the readers fill. cost, currency and price_ref are filled by tokctl.pricing.price_table.
TOKEN_COLUMNS = (
    "input_tokens",
    "input_uncached_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)

# Bill and usage-export lines, aligned with FinOps FOCUS 1.2 column names in snake_case.
CHARGE_COLUMNS: tuple[tuple[str, str, bool, str], ...] = (
    ("line_id", "string", False, "stable hash of source + natural key"),
    ("source_format", "dict", False, "e.g. openai.costs, anthropic.cost_report, focus, aws.cur"),
    ("source_file", "string", True, "file the line came from"),
    ("source_line", "int64", True, "row or record index"),
    ("provider", "dict", True, "billing platform id"),
    ("charge_period_start", "timestamp", False, "FOCUS ChargePeriodStart"),
    ("charge_period_end", "timestamp", False, "FOCUS ChargePeriodEnd (exclusive)"),
    ("sub_account_id", "string", True, "project, workspace or subscription (FOCUS SubAccountId)"),
    ("api_key_id", "string", True, "API key where the bill splits by key"),
    ("service_name", "string", True, "FOCUS ServiceName"),
    ("sku_id", "string", True, "FOCUS SkuId / usage type / meter"),
    ("charge_description", "string", True, "the bill's own words for the line"),
    ("model", "dict", True, "canonical model id, parsed from the line"),
    ("model_reported", "string", True, "model as the bill names it"),
    ("token_class", "dict", True, "input, cache_read, cache_write, cache_write_1h, output, or other"),
    ("service_tier", "dict", True, "standard, batch, flex, priority"),
    ("deployment_type", "dict", True, "where the model ran: global, data_zone, regional (Azure, Bedrock)"),
    ("consumed_quantity", "int64", True, "tokens (FOCUS ConsumedQuantity)"),
    ("consumed_unit", "string", True, "FOCUS ConsumedUnit"),
    ("billed_cost", "money", True, "FOCUS BilledCost; null on usage exports, which carry quantities only"),
    ("effective_cost", "money", True, "FOCUS EffectiveCost"),
    ("list_cost", "money", True, "FOCUS ListCost"),
    ("billing_currency", "string", True, "FOCUS BillingCurrency (ISO 4217); null on usage exports"),
    ("charge_category", "dict", True, "FOCUS ChargeCategory: Usage, Purchase, Tax, Credit, Adjustment"),
    ("context_tier", "dict", True, "the bill's context-window tier, e.g. Anthropic 0-200k / 200k-1M"),
    ("billing_timezone", "dict", False, "IANA zone in which the bill counts its days (UTC, Asia/Shanghai)"),
    (
        "rounding_unit",
        "money",
        True,
        "smallest amount the bill shows (0.01 on a CNY bill); null when unrounded",
    ),
)


def _arrow_type(spec: str) -> Any:
    import pyarrow as pa

    return {
        "string": pa.string(),
        "dict": pa.dictionary(pa.int32(), pa.string()),
        "int64": pa.int64(),
        "int16": pa.int16(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "money": pa.decimal128(MONEY_PRECISION, MONEY_SCALE),
        "map": pa.map_(pa.string(), pa.string()),
        "list": pa.list_(pa.string()),
    }[spec]


def _schema(columns: tuple[tuple[str, str, bool, str], ...]) -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field(name, _arrow_type(spec), nullable=nullable, metadata={"doc": doc})
            for name, spec, nullable, doc in columns
        ]
    )


@functools.cache
def usage_schema() -> Any:
    """The canonical usage record schema (pyarrow.Schema)."""
    return _schema(USAGE_COLUMNS)


@functools.cache
def charge_schema() -> Any:
    """The canonical charge line schema (pyarrow.Schema)."""
    return _schema(CHARGE_COLUMNS)


def money_type() -> Any:
    return _arrow_type("money")


def empty_usage_table() -> Any:
    return usage_schema().empty_table()
