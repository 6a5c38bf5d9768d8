"""OpenTelemetry log events of coding agents: OTLP JSON logs (``resourceLogs[].scopeLogs[].logRecords[]``)
as a collector's file exporter writes them.

* Claude Code (``service.name`` claude-code) exports ``claude_code.api_request`` per API call with
  ``model``, ``input_tokens`` (uncached, Anthropic semantics), ``cache_read_tokens``,
  ``cache_creation_tokens``, ``output_tokens``, ``cost_usd`` and ``duration_ms``; ``claude_code.api_error``
  per failed call. Source: https://code.claude.com/docs/en/monitoring-usage.
* Codex CLI exports ``codex.sse_event`` with ``event.kind`` ``response.completed`` and
  ``input_token_count`` (cache included, Responses semantics), ``cached_token_count``,
  ``output_token_count`` (reasoning included), ``reasoning_token_count``, with ``conversation.id`` and
  ``model``.

Every other event (prompts, tool results, other stream events) carries no usage. Attribute values arrive as
``stringValue`` as often as ``intValue``: numbers written as text are read as numbers here, since OTLP
attribute typing is the exporter's choice, not the log's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tokctl.ingest.otel import attributes
from tokctl.ingest.values import Skip, count, duration_us, money, obj, text, timestamp_us

MARK = "_otel_log"


def expand_document(document: dict[str, Any]) -> Iterator[Any]:
    """The log records of an OTLP logs document, each with its resource attributes."""
    for resource_logs in _items(document.get("resourceLogs")):
        resource = attributes(obj(obj(resource_logs).get("resource")).get("attributes"))
        for scope_logs in _items(obj(resource_logs).get("scopeLogs")):
            for record in _items(obj(scope_logs).get("logRecords")):
                yield {**record, "_resource": resource, MARK: True} if type(record) is dict else record


def _items(value: Any) -> list[Any]:
    return value if type(value) is list else []


def parse_record(record: dict[str, Any]) -> dict[str, Any]:
    attrs = attributes(record.get("attributes"))
    name = attrs.get("event.name")
    if type(name) is not str:
        body = obj(record.get("body")).get("stringValue")
        name = body if type(body) is str else None
    if name in ("claude_code.api_request", "claude_code.api_error", "api_request", "api_error"):
        return _claude_code(record, attrs, name.endswith("api_error"))
    if name == "codex.sse_event" and attrs.get("event.kind") == "response.completed":
        return _codex(record, attrs)
    raise Skip("no_usage", f"an OTel log event {name!r} without usage")


def _number(attrs: dict[str, Any], key: str) -> int | None:
    value = attrs.get(key)
    if type(value) is str and value.isdigit():
        value = int(value)
    return count(value, key)


def _start(record: dict[str, Any], attrs: dict[str, Any]) -> int | None:
    moment = attrs.get("event.timestamp")
    if moment is not None:
        return timestamp_us(moment, "event.timestamp")
    return timestamp_us(record.get("timeUnixNano") or record.get("observedTimeUnixNano"), "timeUnixNano")


def _claude_code(record: dict[str, Any], attrs: dict[str, Any], failed: bool) -> dict[str, Any]:
    session = text(attrs.get("session.id"), "session.id")
    row: dict[str, Any] = {
        "source_format": "otel.log.claude_code",
        "model_reported": text(attrs.get("model"), "model"),
        "ts_start": _start(record, attrs),
        "input_uncached_tokens": _number(attrs, "input_tokens"),
        "cache_read_tokens": _number(attrs, "cache_read_tokens"),
        "cache_write_tokens": _number(attrs, "cache_creation_tokens"),
        "output_tokens": _number(attrs, "output_tokens"),
        "request_id": text(attrs.get("request_id"), "request_id"),
        "cost_reported": money(attrs.get("cost_usd"), "cost_usd"),
        "user": text(attrs.get("user.email") or attrs.get("user.account_uuid"), "user"),
        "_hint": "anthropic",
        "_hard": False,
    }
    row["cost_reported_currency"] = "USD" if row["cost_reported"] is not None else None
    duration = attrs.get("duration_ms")
    if type(duration) is str and duration.replace(".", "", 1).isdigit():
        duration = float(duration)
    latency = duration_us(duration, "duration_ms", 1e-3)
    if row["ts_start"] is not None and latency is not None:
        # The event is written when the call ends: its time is the end, the start is before it.
        row["ts_end"], row["ts_start"] = row["ts_start"], row["ts_start"] - latency
    if failed:
        row["status"] = "error"
        row["error_type"] = text(attrs.get("error"), "error")
        code = attrs.get("status_code")
        if type(code) is str and code.isdigit():
            row["http_status"] = int(code)
    if attrs.get("speed") == "fast":
        row["flags"] = ["speed_fast"]
    tags = {"session_id": session} if session else {}
    for key in ("prompt.id", "query_source", "agent.name"):
        value = attrs.get(key)
        if type(value) is str:
            tags[key] = value
    row["tags"] = tags or None
    sequence = attrs.get("event.sequence")
    if row["request_id"] is not None:
        row["_key"] = row["request_id"]
    elif session is not None and sequence is not None:
        row["_key"] = f"{session}#{sequence}"
    return row


def _codex(record: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    session = text(attrs.get("conversation.id"), "conversation.id")
    response_id = text(attrs.get("response.id"), "response.id")
    row: dict[str, Any] = {
        "source_format": "otel.log.codex",
        "model_reported": text(attrs.get("model"), "model"),
        "response_id": response_id,
        "ts_start": _start(record, attrs),
        "input_tokens": _number(attrs, "input_token_count"),
        "cache_read_tokens": _number(attrs, "cached_token_count"),
        "cache_write_tokens": _number(attrs, "cache_write_token_count"),
        "output_tokens": _number(attrs, "output_token_count"),
        "reasoning_tokens": _number(attrs, "reasoning_token_count"),
        "_hint": "openai",
        "_hard": False,
    }
    row["tags"] = {"session_id": session} if session else None
    row["_key"] = response_id
    return row
