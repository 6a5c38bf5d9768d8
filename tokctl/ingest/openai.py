"""OpenAI shapes: Chat Completions (whole responses and streamed chunks), Responses (objects and their
terminal stream events), embeddings lists, and Batch API output lines (formats.md 1.1-1.3).

OpenAI counts cached tokens inside ``prompt_tokens``/``input_tokens`` and reasoning inside the output. A
stream carries usage only in its last chunk (``choices: []``, needs ``stream_options.include_usage``);
the other chunks are counted as ``no_usage``. Chat-shaped responses of other vendors (DeepSeek, Qwen, GLM,
Kimi, Doubao, Mistral, OpenRouter) come through here too; openai_compatible.py reads their extra fields.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest import openai_compatible as compat
from tokctl.ingest.values import Skip, count, obj, text, timestamp_us

_RESPONSE_STATUS = {"completed": "success", "incomplete": "success", "failed": "error", "cancelled": "canceled"}
_TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


def parse_chat(response: dict[str, Any], source_format: str | None = None) -> dict[str, Any]:
    """A chat.completion, a chat.completion.chunk, or an embeddings list."""
    usage, in_choice = compat.usage_of(response)
    if usage is None:
        if _finished_without_usage(response):
            return _usage_not_streamed(response, source_format)
        raise Skip("no_usage", "a response or stream chunk without usage")
    if type(usage) is not dict:
        raise Skip("wrong_type", "usage is not an object")
    model = text(response.get("model"), "model")
    if response.get("object") == "list":
        fmt = source_format or "openai.embeddings"
    else:
        fmt = source_format or compat.classify(response, usage, in_choice)
    hint, hard = compat.FORMATS.get(fmt, (None, False))
    row: dict[str, Any] = {
        "source_format": fmt,
        "model_reported": model,
        "response_id": text(response.get("id"), "id"),
        "request_id": text(response.get("request_id"), "request_id"),
        "ts_start": timestamp_us(response.get("created"), "created"),
        "service_tier": text(response.get("service_tier"), "service_tier"),
        "_hint": hint,
        "_hard": hard,
    }
    compat.chat_usage(usage, row)
    if fmt == "openai.chat" or fmt == "openai.embeddings":
        compat.gemini_compat(row, model)
    elif fmt == "xai.chat":
        compat.reasoning_outside(row)
    row["_key"] = row["response_id"] or row["request_id"]
    return row


def _finished_without_usage(chunk: dict[str, Any]) -> bool:
    """The last chunk of a stream sent without ``stream_options.include_usage``: it has a finish reason."""
    if chunk.get("object") != "chat.completion.chunk" or type(chunk.get("id")) is not str:
        return False
    choices = chunk.get("choices")
    return type(choices) is list and any(type(c) is dict and c.get("finish_reason") for c in choices)


def _usage_not_streamed(chunk: dict[str, Any], source_format: str | None) -> dict[str, Any]:
    """A request that happened, without counts: kept (tokens null, flag ``usage_not_streamed``) so it is
    counted; when the usage chunk follows under the same id, it replaces this row as a duplicate."""
    return {
        "source_format": source_format or "openai.chat",
        "model_reported": text(chunk.get("model"), "model"),
        "response_id": text(chunk.get("id"), "id"),
        "ts_start": timestamp_us(chunk.get("created"), "created"),
        "status": "success",
        "flags": ["usage_not_streamed"],
        "_key": chunk["id"],
    }


def parse_responses(value: dict[str, Any]) -> dict[str, Any]:
    """A Responses API object, or the terminal event of a Responses stream."""
    event = value.get("type")
    if type(event) is str and event.startswith("response."):
        if event not in _TERMINAL_EVENTS:
            raise Skip("no_usage", "a Responses stream event without usage")
        value = obj(value.get("response"))
    usage = value.get("usage")
    if usage is None:
        raise Skip("no_usage", "a response without usage")
    if type(usage) is not dict:
        raise Skip("wrong_type", "usage is not an object")
    details = obj(usage.get("input_tokens_details"))
    out_details = obj(usage.get("output_tokens_details"))
    row: dict[str, Any] = {
        "source_format": "openai.responses",
        "model_reported": text(value.get("model"), "model"),
        "response_id": text(value.get("id"), "id"),
        "ts_start": timestamp_us(value.get("created_at"), "created_at"),
        "service_tier": text(value.get("service_tier"), "service_tier"),
        "status": _RESPONSE_STATUS.get(status) if type(status := value.get("status")) is str else None,
        "input_tokens": count(usage.get("input_tokens"), "usage.input_tokens"),
        "cache_read_tokens": count(details.get("cached_tokens"), "usage.input_tokens_details.cached_tokens"),
        "cache_write_tokens": count(details.get("cache_write_tokens"), "input_tokens_details.cache_write_tokens"),
        "output_tokens": count(usage.get("output_tokens"), "usage.output_tokens"),
        "reasoning_tokens": count(out_details.get("reasoning_tokens"), "output_tokens_details.reasoning_tokens"),
        "total_tokens_reported": count(usage.get("total_tokens"), "usage.total_tokens"),
    }
    ttl = obj(details.get("cache_write_tokens_details"))
    if count(ttl.get("ttl_12h_tokens"), "cache_write_tokens_details.ttl_12h_tokens"):
        # The schema has no 12-hour write column yet: the pricer sees these as default-TTL writes.
        row["flags"] = ["cache_write_12h_not_split"]
    error = value.get("error")
    if type(error) is dict:
        row["error_type"] = text(error.get("code"), "error.code")
    row["_key"] = row["response_id"]
    return row


def parse_batch_line(line: dict[str, Any]) -> dict[str, Any]:
    """One line of a Batch API output or error file: the wrapped response, or the error."""
    response = obj(line.get("response"))
    body = response.get("body")
    status_code = response.get("status_code")
    row: dict[str, Any]
    if type(body) is dict and ("usage" in body or body.get("object") == "response"):
        row = parse_responses(body) if body.get("object") == "response" else parse_chat(body)
    else:
        row = {}
        error = obj(line.get("error")) or obj(obj(body).get("error"))
        row["error_type"] = text(error.get("code") or error.get("type"), "error.code")
        row["status"] = "error"
        if type(body) is dict:
            row["model_reported"] = text(body.get("model"), "model")
    row["source_format"] = "openai.batch"
    row["is_batch"] = True
    row["service_tier"] = "batch"
    row["request_id"] = text(response.get("request_id"), "response.request_id")
    row["http_status"] = status_code if type(status_code) is int else None
    custom_id = text(line.get("custom_id"), "custom_id")
    if custom_id is not None:
        row["tags"] = {"custom_id": custom_id}
    row["_key"] = text(line.get("id"), "id") or row.get("response_id") or custom_id
    return row
