"""Alibaba DashScope native API (``/api/v1/services/aigc/...``), as the HTTP body or the Python SDK's
wrapper ``{status_code, request_id, code, message, output, usage}`` (formats.md 1.8).

``usage.input_tokens`` includes cached and cache-created tokens; explicit-cache writes sit in
``prompt_tokens_details.cache_creation_input_tokens`` (5-minute TTL only). The body does not name the
model: it comes from the request (a wrapper's ``request.model``) or a ``model`` field a logger added.
Every streamed event repeats the cumulative usage under one request id: the last one wins.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import Skip, count, obj, text


def is_native(value: dict[str, Any]) -> bool:
    usage = value.get("usage")
    return (
        "output" in value
        and type(usage) is dict
        and ("input_tokens" in usage or "output_tokens" in usage)
        and "request_id" in value
    )


def parse_native(body: dict[str, Any]) -> dict[str, Any]:
    usage = body.get("usage")
    if type(usage) is not dict:
        raise Skip("no_usage", "a response without usage")
    details = obj(usage.get("prompt_tokens_details"))
    creation = obj(details.get("cache_creation"))
    status_code = body.get("status_code")
    row: dict[str, Any] = {
        "source_format": "dashscope.native",
        "model_reported": text(body.get("model"), "model"),
        "request_id": text(body.get("request_id"), "request_id"),
        "input_tokens": count(usage.get("input_tokens"), "usage.input_tokens"),
        "cache_read_tokens": count(details.get("cached_tokens"), "prompt_tokens_details.cached_tokens"),
        "cache_write_tokens": count(details.get("cache_creation_input_tokens"), "cache_creation_input_tokens"),
        "cache_write_5m_tokens": count(creation.get("ephemeral_5m_input_tokens"), "cache_creation.5m"),
        "output_tokens": count(usage.get("output_tokens"), "usage.output_tokens"),
        "reasoning_tokens": count(
            obj(usage.get("output_tokens_details")).get("reasoning_tokens"), "output_tokens_details.reasoning"
        ),
        "total_tokens_reported": count(usage.get("total_tokens"), "usage.total_tokens"),
        "http_status": status_code if type(status_code) is int else None,
        "_hint": "alibaba",
        "_hard": False,
    }
    if type(status_code) is int and status_code >= 400:
        row["status"] = "error"
        row["error_type"] = text(body.get("code"), "code")
    row["_key"] = row["request_id"]
    return row
