"""Cohere chat (v2 ``/v2/chat``): the response body, or the ``message-end`` event of a stream.

``usage.billed_units`` holds what Cohere bills (``input_tokens``, ``output_tokens``, and for search
``search_units``); ``usage.tokens`` counts the prompt as the model saw it, template included, and is not
billed. The response names no model: it comes from a request log's ``request.model``.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import Skip, count, obj, text


def is_response(value: dict[str, Any]) -> bool:
    usage = value.get("usage")
    if type(usage) is dict and "billed_units" in usage:
        return True
    return value.get("type") in ("message-start", "content-start", "content-delta", "content-end", "message-end")


def parse_response(value: dict[str, Any]) -> dict[str, Any]:
    if value.get("type") is not None and value.get("type") != "message-end":
        raise Skip("no_usage", "a Cohere stream event without usage")
    body = obj(value.get("delta")) if value.get("type") == "message-end" else value
    billed = obj(obj(body.get("usage")).get("billed_units"))
    if not billed:
        raise Skip("no_usage", "a Cohere response without billed_units")
    row: dict[str, Any] = {
        "source_format": "cohere.chat",
        "model_reported": text(value.get("model"), "model"),
        "response_id": text(value.get("id"), "id"),
        "input_tokens": count(billed.get("input_tokens"), "billed_units.input_tokens"),
        "output_tokens": count(billed.get("output_tokens"), "billed_units.output_tokens"),
        "_hint": "cohere",
        "_hard": True,
    }
    reason = body.get("finish_reason")
    if reason is not None:
        row["status"] = "error" if reason == "ERROR" else "success"
    row["_key"] = row["response_id"]
    return row
