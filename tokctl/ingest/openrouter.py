"""OpenRouter generation records (``GET /api/v1/generation?id=gen-...``, alone or under ``data``)
(formats.md 5.5). Inline chat responses from OpenRouter go through the Chat Completions reader.

The ``native_tokens_*`` counts are the upstream's own (what is billed); ``tokens_*`` are OpenRouter's
normalised counts and are not used. ``native_tokens_prompt`` includes cached tokens; cache writes are
not reported. The platform that bills is OpenRouter, in USD credits (``total_cost``).
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import Skip, count, duration_us, money, text, timestamp_us


def is_generation(value: dict[str, Any]) -> bool:
    return "native_tokens_prompt" in value or "native_tokens_completion" in value


def unwrap(value: dict[str, Any]) -> dict[str, Any] | None:
    data = value.get("data")
    return data if type(data) is dict and is_generation(data) else None


def parse_generation(generation: dict[str, Any]) -> dict[str, Any]:
    prompt = count(generation.get("native_tokens_prompt"), "native_tokens_prompt")
    completion = count(generation.get("native_tokens_completion"), "native_tokens_completion")
    if prompt is None and completion is None:
        raise Skip("no_usage", "a generation without native token counts")
    start = timestamp_us(generation.get("created_at"), "created_at")
    latency = duration_us(generation.get("latency"), "latency", 1e-3)
    row: dict[str, Any] = {
        "source_format": "openrouter.generation",
        "model_reported": text(generation.get("model"), "model"),
        "response_id": text(generation.get("id"), "id"),
        "request_id": text(generation.get("upstream_id"), "upstream_id"),
        "ts_start": start,
        "ts_end": start + latency if start is not None and latency is not None else None,
        "input_tokens": prompt,
        "cache_read_tokens": count(generation.get("native_tokens_cached"), "native_tokens_cached"),
        "output_tokens": completion,
        "reasoning_tokens": count(generation.get("native_tokens_reasoning"), "native_tokens_reasoning"),
        "service_tier": text(generation.get("service_tier"), "service_tier"),
        "user": text(generation.get("external_user"), "external_user"),
        "cost_reported": money(generation.get("total_cost"), "total_cost"),
        "_hint": "openrouter",
        "_hard": True,
    }
    row["cost_reported_currency"] = "USD" if row["cost_reported"] is not None else None
    if generation.get("cancelled") is True:
        row["status"] = "canceled"
    tags = {}
    upstream = text(generation.get("provider_name"), "provider_name")
    if upstream is not None:
        tags["upstream_provider"] = upstream
    if generation.get("is_byok") is True:
        tags["byok"] = "true"
    row["tags"] = tags or None
    row["_key"] = row["response_id"]
    return row
