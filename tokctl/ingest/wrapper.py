"""Request logs that wrap a vendor response with the caller's own metadata.

The convention (documented in docs/schema.md), one JSON object per request::

    {"timestamp": "2026-01-14T10:02:11.120Z",   # request start: ISO 8601 or unix s/ms
     "latency_ms": 1884, "ttft_ms": 570,        # -> ts_end, ts_first_token
     "project": "invoices", "api_key_id": "key_7f", "user": "u_42", "tags": {"feature": "summary"},
     "provider": "deepseek-cn",                 # platform id or vendor; or "base_url": "https://..."
     "request_id": "req_...", "http_status": 200,
     "request": {"model": "deepseek-chat", ...},
     "response": {...}}                         # the vendor's body, a list of stream chunks/events, or null

Every key but ``response`` is optional. The wrapper's metadata wins over the response's (its timestamp is
the caller's clock at the start of the request). A raw key in ``api_key`` is replaced by an alias. A list
of chunks or events is reduced to its final usage; a list that finished without usage (a stream sent
without ``stream_options.include_usage``) gives a row with null counts (flag ``usage_not_streamed``); a
list that did not finish is a cut stream (status ``cut``, flag ``usage_missing_stream_cut``); a null
response or an error body gives a row with the error and no tokens, so error rates stay visible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokctl.ingest import anthropic
from tokctl.ingest.resolve import host_hint, vendor_hint
from tokctl.ingest.secrets import key_field
from tokctl.ingest.values import Skip, duration_us, obj, tag_map, text, timestamp_us

WRAPPER_KEYS = frozenset(
    {
        "request",
        "timestamp",
        "latency_ms",
        "project",
        "api_key_id",
        "api_key",
        "user",
        "tags",
        "provider",
        "base_url",
        "response_headers",
        "http_status",
        "ttft_ms",
    }
)
_USAGE_KEYS = ("usage", "usageMetadata")


def is_wrapper(value: dict[str, Any]) -> bool:
    return "response" in value and not WRAPPER_KEYS.isdisjoint(value)


def http_status_name(code: int) -> str:
    if code < 400:
        return "success"
    if code == 429:
        return "rate_limited"
    if code in (408, 504):
        return "timeout"
    return "error"


def parse_wrapper(log: dict[str, Any], parse: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows of the wrapped response, with the wrapper's metadata laid over them."""
    response = log.get("response")
    rows: list[dict[str, Any]] = []
    cut = False
    if type(response) is list:
        rows, cut = _stream_rows(response, parse)
    elif type(response) is dict and (response.get("error") is None or response.get("usage") is not None):
        try:
            rows = parse(response)
        except Skip as skip:
            if skip.reason != "no_usage":
                raise
    if not rows:
        rows = [_usage_free_row(log, response, cut)]
    for row in rows:
        _overlay(row, log)
    return rows


def _stream_rows(items: list[Any], parse: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> tuple[list[Any], bool]:
    if any(type(i) is dict and i.get("type") == "message_start" for i in items):
        row = anthropic.reduce_events(items)
        return ([row], False) if row is not None else ([], True)
    for item in reversed(items):
        if type(item) is not dict:
            continue
        if item.get("type") in ("response.completed", "response.incomplete", "response.failed") or any(
            item.get(k) is not None for k in _USAGE_KEYS
        ):
            return parse(item), False
        choices = item.get("choices")
        if type(choices) is list and choices and type(choices[0]) is dict and choices[0].get("usage"):
            return parse(item), False
    for item in reversed(items):  # finished without usage (no include_usage): a request with null counts
        choices = item.get("choices") if type(item) is dict else None
        if type(choices) is list and any(type(c) is dict and c.get("finish_reason") for c in choices):
            try:
                return parse(item), False
            except Skip:
                break
    return [], True


def _usage_free_row(log: dict[str, Any], response: Any, cut: bool) -> dict[str, Any]:
    error = obj(obj(response).get("error")) or obj(log.get("error"))
    row: dict[str, Any] = {"source_format": "request_log"}
    if cut:
        row["status"] = "cut"
        row["flags"] = ["usage_missing_stream_cut"]
    else:
        row["status"] = "error"
        row["error_type"] = text(error.get("type") or error.get("code"), "error.type")
    return row


def _overlay(row: dict[str, Any], log: dict[str, Any]) -> None:
    # Runs once per wrapped request: each optional key is looked up once and skipped when absent.
    get = log.get
    value = get("timestamp")
    if value is not None:
        row["ts_start"] = timestamp_us(value, "timestamp")
    start = row.get("ts_start")
    if start is not None:
        latency = duration_us(get("latency_ms"), "latency_ms", 1e-3)  # None when absent or empty
        if latency is not None:
            row["ts_end"] = start + latency
        ttft = duration_us(get("ttft_ms"), "ttft_ms", 1e-3)
        if ttft is not None:
            row["ts_first_token"] = start + ttft
    for column in ("project", "user"):
        value = get(column)
        if value is not None:
            row[column] = text(value, column)
    value = get("api_key_id")
    if value is not None:
        row["api_key_id"] = text(value, "api_key_id")
    else:
        value = get("api_key")
        if value is not None:
            row["api_key_id"] = key_field(text(value, "api_key"))
    value = get("tags")
    if value is not None:
        tags = tag_map(value)
        if tags:
            row["tags"] = {**(row.get("tags") or {}), **tags}
    request_id = get("request_id")
    if request_id is None and "response_headers" in log:
        headers = {str(k).lower(): v for k, v in obj(get("response_headers")).items()}
        request_id = headers.get("x-request-id") or headers.get("request-id")
    if request_id is not None:
        row["request_id"] = text(request_id, "request_id")
    value = get("provider")
    hint = vendor_hint(value) if value is not None else host_hint(get("base_url"))
    if hint is not None:
        row["_hint"], row["_hard"] = hint, True
    request = get("request")
    if type(request) is dict:
        if row.get("model_reported") is None:
            row["model_reported"] = text(request.get("model"), "request.model")
        if row.get("service_tier") is None:
            row["service_tier"] = text(request.get("service_tier"), "request.service_tier")
    code = get("http_status", get("status_code"))
    if type(code) is int:
        row["http_status"] = code
        if code >= 400 or row.get("status") is None:
            row["status"] = http_status_name(code)
    if row.get("_key") is None:
        row["_key"] = row.get("request_id")
