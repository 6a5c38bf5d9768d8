"""Anthropic shapes: Messages responses, streaming events, Message Batches results (formats.md 1.4-1.5).

Anthropic's ``input_tokens`` is the *uncached* input: cache reads and writes sit beside it, so the
canonical input is their sum. A stream reports ``message_start.message.usage`` and then cumulative
``message_delta.usage``; logged one event per line, each ``message_delta`` re-emits the message's usage so
far under the message id of the last ``message_start`` in the file (the last one wins on collapse).
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import Skip, count, obj, text

_BATCH_STATUS = {"succeeded": "success", "errored": "error", "canceled": "canceled", "expired": "expired"}
_STREAM_NOISE = ("message_stop", "content_block_start", "content_block_delta", "content_block_stop", "ping")


def usage_columns(usage: dict[str, Any], row: dict[str, Any], where: str = "usage") -> None:
    """Fill token columns from an Anthropic ``usage`` object (input exclusive of cache)."""
    row["input_uncached_tokens"] = count(usage.get("input_tokens"), f"{where}.input_tokens")
    row["cache_read_tokens"] = count(usage.get("cache_read_input_tokens"), f"{where}.cache_read_input_tokens")
    row["cache_write_tokens"] = count(usage.get("cache_creation_input_tokens"), f"{where}.cache_creation_input_tokens")
    creation = usage.get("cache_creation")
    if creation is not None:
        creation = obj(creation)
        row["cache_write_5m_tokens"] = count(creation.get("ephemeral_5m_input_tokens"), f"{where}.cache 5m")
        row["cache_write_1h_tokens"] = count(creation.get("ephemeral_1h_input_tokens"), f"{where}.cache 1h")
    row["output_tokens"] = count(usage.get("output_tokens"), f"{where}.output_tokens")
    thinking = obj(usage.get("output_tokens_details")).get("thinking_tokens")
    row["reasoning_tokens"] = count(thinking, f"{where}.output_tokens_details.thinking_tokens")
    tier = usage.get("service_tier")
    if tier is not None:
        row["service_tier"] = text(tier, f"{where}.service_tier")
    tools = usage.get("server_tool_use")
    if tools is not None:
        tools = obj(tools)
        row["web_search_requests"] = count(tools.get("web_search_requests"), f"{where}.server_tool_use.web_search")
        row["web_fetch_requests"] = count(tools.get("web_fetch_requests"), f"{where}.server_tool_use.web_fetch")
    if usage.get("speed") == "fast":
        # Fast mode is billed at a multiple of the standard price: flagged until the price books carry it.
        row.setdefault("flags", []).append("speed_fast")


# Message id prefixes of the clouds that serve Claude: the id names the platform that bills.
ID_PLATFORMS = (("msg_bdrk_", "bedrock"), ("msg_vrtx_", "vertex"))


def platform_of_id(row: dict[str, Any]) -> None:
    """A Bedrock or Vertex message id binds the platform (signal ``id_prefix``)."""
    response_id = row.get("response_id")
    if response_id is None:
        return
    for prefix, platform in ID_PLATFORMS:
        if response_id.startswith(prefix):
            row["_hint"], row["_hard"], row["_signal"] = platform, True, "id_prefix"
            return


def parse_message(message: dict[str, Any], source_format: str = "anthropic.messages") -> dict[str, Any]:
    usage = message.get("usage")
    if usage is None:
        raise Skip("no_usage", "a message without usage")
    if type(usage) is not dict:
        raise Skip("wrong_type", "usage is not an object")
    row: dict[str, Any] = {
        "source_format": source_format,
        "model_reported": text(message.get("model"), "model"),
        "response_id": text(message.get("id"), "id"),
        "_hint": "anthropic",
        "_hard": False,
    }
    usage_columns(usage, row)
    platform_of_id(row)
    row["_key"] = row["response_id"]
    return row


def parse_event(event: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """One streaming event; ``state`` is per file and remembers the open message."""
    kind = event.get("type")
    if kind == "message_start":
        message = obj(event.get("message"))
        state["anthropic_message"] = message
        state["anthropic_usage"] = dict(obj(message.get("usage")))
        state["anthropic_status"] = "cut"  # until a delta says why the message stopped
        return _stream_row(state)
    if kind == "message_delta":
        if "anthropic_usage" not in state:
            raise Skip("orphan_stream_event", "message_delta without a message_start before it")
        delta_usage = event.get("usage")
        if type(delta_usage) is not dict:
            raise Skip("no_usage", "message_delta without usage")
        # Delta fields are cumulative; fields a delta leaves out keep their message_start values.
        state["anthropic_usage"].update({k: v for k, v in delta_usage.items() if v is not None})
        if obj(event.get("delta")).get("stop_reason") is not None:
            state["anthropic_status"] = "success"
        return _stream_row(state)
    if kind in _STREAM_NOISE:
        raise Skip("no_usage", "a stream event without usage")
    raise Skip("unknown_shape", f"unknown Anthropic event {kind!r}")


def _stream_row(state: dict[str, Any]) -> dict[str, Any]:
    row = parse_message({**state["anthropic_message"], "usage": state["anthropic_usage"]}, "anthropic.stream")
    row["status"] = state["anthropic_status"]
    return row


def reduce_events(events: list[Any]) -> dict[str, Any] | None:
    """The row a list of logged stream events adds up to (usage from the last delta), or None."""
    state: dict[str, Any] = {}
    row = None
    for event in events:
        if type(event) is dict and event.get("type") in ("message_start", "message_delta"):
            try:
                row = parse_event(event, state)
            except Skip:
                continue
    return row


def parse_batch_result(line: dict[str, Any]) -> dict[str, Any]:
    result = obj(line.get("result"))
    kind = result.get("type")
    message = result.get("message")
    if kind == "succeeded" and type(message) is dict:
        row = parse_message(message, "anthropic.batch")
    else:
        row = {"source_format": "anthropic.batch", "_hint": "anthropic", "_hard": False}
        error = obj(obj(result.get("error")).get("error")) or obj(result.get("error"))
        row["error_type"] = text(error.get("type"), "error.type")
    row["status"] = _BATCH_STATUS.get(kind, "error") if type(kind) is str else "error"
    row["is_batch"] = True
    row["service_tier"] = "batch"
    custom_id = text(line.get("custom_id"), "custom_id")
    if custom_id is not None:
        row["tags"] = {"custom_id": custom_id}
    # A result without a message has no id of its own: custom_ids repeat across batches, so the file and
    # line stand in (the fallback when _key is None).
    row["_key"] = row.get("response_id")
    return row
