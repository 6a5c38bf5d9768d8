"""LiteLLM proxy ``LiteLLM_SpendLogs`` rows, exported as JSON or CSV (formats.md 5.1).

LiteLLM converts every upstream to the OpenAI shape, so ``prompt_tokens`` normally includes cached
tokens; the detail lives in ``metadata.usage_object`` (OpenAI ``prompt_tokens_details`` or Anthropic
``cache_read_input_tokens``/``cache_creation_input_tokens``). Older versions passed Anthropic's uncached
count through: when the cache parts exceed ``prompt_tokens`` the prompt is taken as uncached and the row
is flagged ``litellm_prompt_exclusive``. ``spend`` is LiteLLM's own estimate in USD (``cost_reported``).
"""

from __future__ import annotations

import json
from typing import Any

from tokctl.ingest.openai_compatible import chat_usage
from tokctl.ingest.resolve import host_hint, vendor_hint
from tokctl.ingest.secrets import key_field
from tokctl.ingest.values import Skip, count, money, obj, tag_map, text, timestamp_us
from tokctl.ingest.wrapper import http_status_name

MARK_COLUMNS = frozenset({"request_id", "spend", "startTime"})


def is_spend_log(value: dict[str, Any]) -> bool:
    return "spend" in value and "request_id" in value and ("startTime" in value or "call_type" in value)


def _json_column(value: Any) -> Any:
    """A Json column exported as text (a database dump or a JSON export of the table) holds its JSON."""
    if type(value) is str and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value


def parse_spend_log(log: dict[str, Any]) -> dict[str, Any]:
    metadata = obj(_json_column(log.get("metadata")))
    usage = obj(metadata.get("usage_object"))
    row: dict[str, Any] = {"source_format": "litellm.spendlogs"}
    if usage:
        chat_usage(usage, row)
        if row["cache_read_tokens"] is None:
            row["cache_read_tokens"] = count(usage.get("cache_read_input_tokens"), "usage_object.cache_read")
        if row["cache_write_tokens"] is None:
            row["cache_write_tokens"] = count(usage.get("cache_creation_input_tokens"), "usage_object.cache_write")
    else:
        row["input_tokens"] = count(log.get("prompt_tokens"), "prompt_tokens")
        row["output_tokens"] = count(log.get("completion_tokens"), "completion_tokens")
        row["total_tokens_reported"] = count(log.get("total_tokens"), "total_tokens")
    if row["input_tokens"] is None and row["output_tokens"] is None:
        raise Skip("no_usage", "a spend log without token counts")
    prompt, read, write = row["input_tokens"], row.get("cache_read_tokens"), row.get("cache_write_tokens")
    if prompt is not None and (read or 0) + (write or 0) > prompt:
        row["input_tokens"], row["input_uncached_tokens"] = None, prompt
        row["flags"] = ["litellm_prompt_exclusive"]
    row["model_reported"] = text(log.get("model") or log.get("model_group"), "model")
    hint = vendor_hint(log.get("custom_llm_provider")) or host_hint(log.get("api_base"))
    row["_hint"], row["_hard"] = hint, hint is not None
    row["request_id"] = text(log.get("request_id"), "request_id")
    row["ts_start"] = timestamp_us(log.get("startTime"), "startTime")
    row["ts_end"] = timestamp_us(log.get("endTime"), "endTime")
    row["ts_first_token"] = timestamp_us(log.get("completionStartTime"), "completionStartTime")
    row["api_key_id"] = text(metadata.get("user_api_key_alias"), "user_api_key_alias") or key_field(
        text(log.get("api_key"), "api_key")
    )
    row["project"] = text(log.get("team_id") or metadata.get("user_api_key_team_alias"), "team_id")
    row["user"] = text(log.get("end_user") or log.get("user"), "end_user")
    tags = tag_map(_json_column(log.get("request_tags"))) or {}
    session = text(log.get("session_id"), "session_id")
    if session is not None:
        tags["session_id"] = session
    row["tags"] = tags or None
    status = log.get("status")
    row["status"] = "error" if status in ("failure", "error") else ("success" if status else None)
    error = obj(metadata.get("error_information"))
    if error:
        code = text(error.get("error_code"), "error_code")
        if code is not None and code.isdigit():
            row["http_status"] = int(code)
            row["status"] = http_status_name(int(code))
        row["error_type"] = text(error.get("error_class"), "error_class")
    row["cost_reported"] = money(log.get("spend"), "spend")
    row["cost_reported_currency"] = "USD" if row["cost_reported"] is not None else None
    row["_key"] = row["request_id"]
    return row
