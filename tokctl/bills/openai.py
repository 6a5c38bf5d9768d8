"""OpenAI organization exports: the Costs API (money per line item) and the Usage API (completions tokens).

Costs: ``amount.value`` is dollars as a JSON number (read as Decimal, never float) with the currency in lower
case; ``line_item`` is free text ("gpt-4o-mini-2024-07-18, input") parsed by bill_rules/openai.toml. Usage:
``input_tokens`` includes cached and cache-write tokens; the uncached part is ``input_uncached_tokens`` when
given, else the difference. Buckets are UTC days given as unix seconds. (reference/formats.md 3.1, 3.2)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tokctl.bills._common import Collector, FileRead, LineBuilder, LineError, canonical_model, currency, decimal
from tokctl.bills._common import tokens as token_count
from tokctl.bills._pages import Bucket, BucketLedger, documents
from tokctl.bills.rules import load_rules

PROVIDER = "openai"
COSTS = "organization.costs.result"
COMPLETIONS = "organization.usage.completions.result"
_TIERS = {"default": "standard", "auto": "standard"}


def sniff(first: Any) -> str | None:
    """``openai.costs`` or ``openai.usage`` when the first page looks like one, else None."""
    if not isinstance(first, dict) or first.get("object") != "page":
        return None
    for bucket in _list(first.get("data")):
        for result in _list(bucket.get("results")) if isinstance(bucket, dict) else []:
            kind = result.get("object") if isinstance(result, dict) else None
            if kind == COSTS:
                return "openai.costs"
            if kind == COMPLETIONS:
                return "openai.usage"
    return "openai.costs" if first.get("data") == [] else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def read(path: Path, *, strict: bool, ledger: BucketLedger, kind: str) -> FileRead:
    collector = Collector(str(path), strict=strict)
    builder = LineBuilder(kind, str(path))
    text = path.read_text(encoding="utf-8")
    for line, page in documents(text, str(path)):
        if not isinstance(page, dict) or page.get("object") != "page" or not isinstance(page.get("data"), list):
            collector.skip(line, "not an OpenAI page", 'expected {"object": "page", "data": [...]}')
            continue
        for bucket in page["data"]:
            try:
                start = dt.datetime.fromtimestamp(int(bucket["start_time"]), dt.UTC)
                end = dt.datetime.fromtimestamp(int(bucket["end_time"]), dt.UTC)
                results = list(bucket.get("results") or [])
            except (KeyError, TypeError, ValueError, OverflowError, OSError):
                collector.skip(line, "bad bucket", "a bucket needs integer start_time and end_time")
                continue
            if not ledger.admit(Bucket(start, end, results, f"{path}:{line}"), collector, line):
                continue
            builder.line = line
            for result in results:
                try:
                    if kind == "openai.costs":
                        _cost_line(builder, start, end, result)
                    else:
                        _usage_lines(builder, start, end, result)
                except (LineError, KeyError, TypeError, AttributeError) as exc:
                    collector.skip(line, "bad result", _why(exc))
    return FileRead(builder.table(), collector.skipped)


def _why(exc: Exception) -> str:
    return f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)


def _cost_line(builder: LineBuilder, start: dt.datetime, end: dt.datetime, result: dict[str, Any]) -> None:
    rules = load_rules("openai")
    amount = result["amount"]
    item = result.get("line_item")
    parsed = rules.parse({"line_item": item})
    unit = result.get("quantity_unit")
    quantity = result.get("quantity")
    builder.add(
        key=(start, result.get("project_id"), result.get("api_key_id"), result.get("user_id"), item),
        provider=PROVIDER, charge_period_start=start, charge_period_end=end,
        sub_account_id=result.get("project_id"), api_key_id=result.get("api_key_id"),
        service_name="OpenAI API", sku_id=item, charge_description=item,
        model=canonical_model(parsed.model, PROVIDER), model_reported=parsed.model,
        token_class=parsed.token_class or "other", service_tier=parsed.service_tier,
        consumed_quantity=None if quantity is None else token_count(quantity, rules.unit_multiplier(unit)),
        consumed_unit="tokens" if quantity is not None else None,
        billed_cost=decimal(amount["value"]), billing_currency=currency(amount.get("currency")),
        billing_timezone="UTC",
    )  # fmt: skip


def _usage_lines(builder: LineBuilder, start: dt.datetime, end: dt.datetime, result: dict[str, Any]) -> None:
    if result.get("object") != COMPLETIONS:
        raise LineError(f"result object {result.get('object')!r} is not {COMPLETIONS}")
    counts = {k: token_count(v, what=k) for k, v in result.items() if k.endswith("_tokens") and v is not None}
    cached = counts.get("input_cached_tokens", 0)
    write_12h = counts.get("input_cache_write_12h_tokens", 0)
    write = counts.get("input_cache_write_tokens", counts.get("input_cache_write_30m_tokens", 0) + write_12h)
    uncached = counts.get("input_uncached_tokens", counts["input_tokens"] - cached - write)
    if uncached < 0:
        raise LineError(f"input_tokens {counts['input_tokens']} is less than its cached and cache-write parts")
    classes = {
        "input": uncached,
        "cache_read": cached,
        "cache_write": write - write_12h,
        "cache_write_12h": write_12h,
        "output": counts["output_tokens"],
    }
    tier = "batch" if result.get("batch") else _TIERS.get(result.get("service_tier") or "", result.get("service_tier"))
    model = result.get("model")
    for token_class, quantity in classes.items():
        if quantity == 0 and token_class not in ("input", "output"):
            continue
        builder.add(
            key=(start, result.get("project_id"), result.get("api_key_id"), result.get("user_id"), model,
                 result.get("batch"), result.get("service_tier"), token_class),
            provider=PROVIDER, charge_period_start=start, charge_period_end=end,
            sub_account_id=result.get("project_id"), api_key_id=result.get("api_key_id"),
            service_name="OpenAI API", model=canonical_model(model, PROVIDER), model_reported=model,
            token_class=token_class, service_tier=tier, consumed_quantity=quantity, consumed_unit="tokens",
            billing_timezone="UTC",
        )  # fmt: skip
