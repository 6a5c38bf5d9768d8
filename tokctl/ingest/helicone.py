"""Helicone request exports (``HeliconeRequest``, JSON or CSV) (formats.md 5.3).

Helicone reports cache reads and writes beside ``prompt_tokens``; whether the prompt includes them follows
the upstream. The reported total tells: total = prompt + cache + completion means the prompt was uncached
(Anthropic), total = prompt + completion means it included the cache. Without a total, an Anthropic
upstream is taken as exclusive and any other as inclusive. ``cost``/``costUSD`` is Helicone's estimate.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.resolve import vendor_hint
from tokctl.ingest.values import Skip, count, duration_us, money, tag_map, text, timestamp_us

MARK_COLUMNS = frozenset({"request_id", "request_created_at", "prompt_tokens"})


def is_request(value: dict[str, Any]) -> bool:
    return "request_id" in value and ("request_created_at" in value or "helicone_user" in value)


def parse_request(request: dict[str, Any]) -> dict[str, Any]:
    prompt = count(request.get("prompt_tokens"), "prompt_tokens")
    completion = count(request.get("completion_tokens"), "completion_tokens")
    read = count(request.get("prompt_cache_read_tokens"), "prompt_cache_read_tokens")
    write = count(request.get("prompt_cache_write_tokens"), "prompt_cache_write_tokens")
    total = count(request.get("total_tokens"), "total_tokens")
    if prompt is None and completion is None:
        raise Skip("no_usage", "a request without token counts")
    provider = text(request.get("provider"), "provider")
    row: dict[str, Any] = {
        "source_format": "helicone.request",
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": completion,
        "reasoning_tokens": count(request.get("reasoning_tokens"), "reasoning_tokens"),
        "total_tokens_reported": total,
    }
    cache = (read or 0) + (write or 0)
    if total is not None and prompt is not None and completion is not None and cache:
        exclusive = total == prompt + cache + completion
    else:
        exclusive = (provider or "").lower() == "anthropic"
    row["input_uncached_tokens" if exclusive else "input_tokens"] = prompt
    row["model_reported"] = text(
        request.get("model") or request.get("response_model") or request.get("request_model"), "model"
    )
    hint = vendor_hint(provider)
    row["_hint"], row["_hard"] = hint, hint is not None
    row["request_id"] = text(request.get("request_id"), "request_id")
    row["response_id"] = text(request.get("response_id"), "response_id")
    start = timestamp_us(request.get("request_created_at"), "request_created_at")
    row["ts_start"] = start
    row["ts_end"] = timestamp_us(request.get("response_created_at"), "response_created_at")
    first_token = duration_us(request.get("time_to_first_token"), "time_to_first_token", 1e-3)
    if start is not None and first_token is not None:
        row["ts_first_token"] = start + first_token
    status = request.get("response_status")
    if type(status) is int:
        row["http_status"] = status
        row["status"] = "success" if status < 400 else ("rate_limited" if status == 429 else "error")
    row["user"] = text(request.get("request_user_id") or request.get("helicone_user"), "request_user_id")
    row["tags"] = tag_map(request.get("properties") or request.get("request_properties"))
    row["cost_reported"] = money(request.get("cost", request.get("costUSD")), "cost")
    row["cost_reported_currency"] = "USD" if row["cost_reported"] is not None else None
    row["_key"] = row["request_id"]
    return row
