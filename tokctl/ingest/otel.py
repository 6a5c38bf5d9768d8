"""OpenTelemetry GenAI spans: OTLP JSON (``resourceSpans[].scopeSpans[].spans[]``) or flat span objects
whose ``attributes`` is a plain mapping (formats.md 4.1).

The conventions say ``gen_ai.usage.input_tokens`` SHOULD include cache reads and writes; some
instrumentations of Anthropic pass Anthropic's uncached count instead. When the cache parts exceed the
input, the input is taken as exclusive and the row is flagged ``otel_input_exclusive``. Agent and tool
spans (``invoke_agent``, ``execute_tool``, ...) often repeat their children's usage: they are counted as
``aggregate_span`` and not read, so each model call is counted once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tokctl.ingest.resolve import host_hint, vendor_hint
from tokctl.ingest.values import Skip, count, money, obj, text, timestamp_us

_AGGREGATE_OPERATIONS = frozenset({"invoke_agent", "create_agent", "execute_tool"})
_USAGE_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens")


def expand_document(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The spans of an OTLP JSON document, each with its resource attributes under ``_resource``."""
    for resource_spans in _items(document.get("resourceSpans")):
        resource = attributes(obj(obj(resource_spans).get("resource")).get("attributes"))
        for scope_spans in _items(obj(resource_spans).get("scopeSpans")):
            for span in _items(obj(scope_spans).get("spans")):
                yield {**span, "_resource": resource} if type(span) is dict else span


def _items(value: Any) -> list[Any]:
    return value if type(value) is list else []


def is_span(value: dict[str, Any]) -> bool:
    return ("spanId" in value or "span_id" in value) and "attributes" in value


def attributes(raw: Any) -> dict[str, Any]:
    """OTLP ``[{key, value: {stringValue|intValue|...}}]`` or a plain mapping, as a plain mapping."""
    if type(raw) is dict:
        return raw
    found: dict[str, Any] = {}
    for item in _items(raw):
        if type(item) is dict and type(item.get("key")) is str:
            found[item["key"]] = _any_value(item.get("value"))
    return found


def _any_value(value: Any) -> Any:
    if type(value) is not dict:
        return value
    if "intValue" in value:
        raw = value["intValue"]
        return int(raw) if type(raw) is str and raw.lstrip("-").isdigit() else raw
    for key in ("stringValue", "doubleValue", "boolValue"):
        if key in value:
            return value[key]
    if "arrayValue" in value:
        return [_any_value(v) for v in _items(obj(value["arrayValue"]).get("values"))]
    return None


def parse_span(span: dict[str, Any]) -> dict[str, Any]:
    attrs = attributes(span.get("attributes"))
    failed = obj(span.get("status")).get("code") in (2, "STATUS_CODE_ERROR") or attrs.get("error.type") is not None
    if not any(key in attrs for key in _USAGE_KEYS) and not (failed and attrs.get("gen_ai.request.model")):
        # A failed model call usually carries no usage; it is kept (tokens null) so quality counts the error.
        raise Skip("no_usage", "a span without gen_ai.usage attributes")
    operation = attrs.get("gen_ai.operation.name")
    if operation in _AGGREGATE_OPERATIONS:
        raise Skip("aggregate_span", f"a {operation} span (its model calls are counted on their own spans)")
    input_tokens = attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens"))
    output_tokens = attrs.get("gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens"))
    row: dict[str, Any] = {
        "source_format": "otel.span",
        "input_tokens": count(input_tokens, "gen_ai.usage.input_tokens"),
        "cache_read_tokens": count(attrs.get("gen_ai.usage.cache_read.input_tokens"), "cache_read.input_tokens"),
        "cache_write_tokens": count(
            attrs.get("gen_ai.usage.cache_creation.input_tokens"), "cache_creation.input_tokens"
        ),
        "output_tokens": count(output_tokens, "gen_ai.usage.output_tokens"),
        "reasoning_tokens": count(attrs.get("gen_ai.usage.reasoning.output_tokens"), "reasoning.output_tokens"),
        "model_reported": text(
            attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"), "gen_ai.response.model"
        ),
        "response_id": text(attrs.get("gen_ai.response.id"), "gen_ai.response.id"),
        "ts_start": timestamp_us(span.get("startTimeUnixNano") or span.get("start_time"), "startTimeUnixNano"),
        "ts_end": timestamp_us(span.get("endTimeUnixNano") or span.get("end_time"), "endTimeUnixNano"),
        "service_tier": text(
            attrs.get("openai.response.service_tier") or attrs.get("gen_ai.openai.response.service_tier"),
            "openai.response.service_tier",
        ),
        "user": text(attrs.get("user.id") or attrs.get("enduser.id"), "user.id"),
        "error_type": text(attrs.get("error.type"), "error.type"),
    }
    _exclusive_input(row)
    cost = attrs.get("gen_ai.usage.cost")
    if cost is not None:  # OpenLLMetry, Langfuse and OpenRouter Broadcast write it, in USD
        row["cost_reported"] = money(cost, "gen_ai.usage.cost")
        row["cost_reported_currency"] = "USD" if row["cost_reported"] is not None else None
    provider = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
    hint = vendor_hint(provider) or host_hint(attrs.get("server.address"))
    row["_hint"], row["_hard"] = hint, hint is not None
    if failed:
        row["status"] = "error"
    row["tags"] = _tags(span, attrs)
    trace_id, span_id = span.get("traceId") or span.get("trace_id"), span.get("spanId") or span.get("span_id")
    if trace_id and span_id:
        row["_key"] = f"{trace_id}:{span_id}"
    return row


def _exclusive_input(row: dict[str, Any]) -> None:
    total, read, write = row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]
    if total is not None and (read or 0) + (write or 0) > total:
        row["input_tokens"] = None
        row["input_uncached_tokens"] = total
        row["flags"] = ["otel_input_exclusive"]


def _tags(span: dict[str, Any], attrs: dict[str, Any]) -> dict[str, str] | None:
    tags: dict[str, str] = {}
    resource = span.get("_resource") or {}
    for key in ("service.name", "deployment.environment", "deployment.environment.name"):
        if type(resource.get(key)) is str:
            tags[key] = resource[key]
    for key in ("gen_ai.operation.name", "gen_ai.conversation.id", "gen_ai.agent.name", "session.id"):
        if type(attrs.get(key)) is str:
            tags[key] = attrs[key]
    return tags or None
