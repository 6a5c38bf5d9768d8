"""Claude Code session transcripts: ``~/.claude/projects/<project>/<session>.jsonl`` (formats.md 5.4).

Only ``assistant`` lines carry usage, with Anthropic semantics (input exclusive of cache). One API
response is often written as several lines (one per content block) repeating the same usage, and a
``/btw`` or sidechain replay repeats a parent message under a new ``requestId``: one message id is one
billed response, so the natural key is the message id (else the request id) and the repeats collapse as
duplicates (ccusage fixed the same double count). Lines with the model ``<synthetic>`` are Claude Code's
own error notices, not API calls; ``file-history-snapshot``, ``summary`` and other bookkeeping lines
carry no usage. Lines without ``type`` (older versions, other tools' copies) that hold a message with
usage are read as assistant lines. Claude Code on Bedrock or Vertex writes ``msg_bdrk_``/``msg_vrtx_``
ids: the id names the platform. ``usage.speed == "fast"`` (fast mode) is flagged ``speed_fast``.

Headless runs (``claude -p --output-format json|stream-json``) print ``system``/``assistant``/``user``
events keyed by ``session_id`` and one final ``result`` event holding the run's usage per model
(``modelUsage``, with ``costUSD``) and ``total_cost_usd``: the result is read (one row per model), and the
events before it are ``no_usage`` (their usage is inside the result; assistant events of stream-json also
repeat partial usage per content block).
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.anthropic import platform_of_id, usage_columns
from tokctl.ingest.values import Skip, count, money, obj, text, timestamp_us

_HEADLESS = frozenset({"system", "assistant", "user", "result", "stream_event"})


def is_transcript_line(value: dict[str, Any]) -> bool:
    if "sessionId" in value or "leafUuid" in value or ("parentUuid" in value and "type" in value):
        return True
    kind = value.get("type")
    if kind in ("file-history-snapshot", "queue-operation"):
        return True
    if "session_id" in value and kind in _HEADLESS:
        return True
    message = value.get("message")
    return kind is None and type(message) is dict and "usage" in message and "timestamp" in value


def parse_line(line: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
    kind = line.get("type")
    if "session_id" in line and "sessionId" not in line:
        return _headless(line)
    if kind is not None and kind != "assistant":
        raise Skip("no_usage", f"a transcript line of type {kind!r}")
    message = obj(line.get("message"))
    usage = message.get("usage")
    if usage is None:
        raise Skip("no_usage", "an assistant line without usage")
    if type(usage) is not dict:
        raise Skip("wrong_type", "message.usage is not an object")
    model = text(message.get("model"), "message.model")
    if model == "<synthetic>":
        raise Skip("synthetic", "a message Claude Code wrote itself")
    request_id = text(line.get("requestId"), "requestId")
    message_id = text(message.get("id"), "message.id")
    row: dict[str, Any] = {
        "source_format": "claude_code",
        "model_reported": model,
        "response_id": message_id,
        "request_id": request_id,
        "ts_start": timestamp_us(line.get("timestamp"), "timestamp"),
        "project": text(line.get("cwd"), "cwd"),
        "_hint": "anthropic",
        "_hard": False,
    }
    usage_columns(usage, row, "message.usage")
    tags = {}
    for key, name in (("sessionId", "session_id"), ("gitBranch", "git_branch"), ("version", "claude_code_version")):
        value = text(line.get(key), key)
        if value is not None:
            tags[name] = value
    if line.get("isSidechain") is True:
        tags["sidechain"] = "true"
    row["tags"] = tags or None
    if line.get("isApiErrorMessage") is True:
        row["status"] = "error"
    cost = line.get("costUSD")
    if cost is not None:
        row["cost_reported"] = money(cost, "costUSD")
        row["cost_reported_currency"] = "USD"
    platform_of_id(row)
    row["_key"] = message_id or request_id
    return row


def _headless(event: dict[str, Any]) -> list[dict[str, Any]]:
    if event.get("type") != "result":
        raise Skip("no_usage", f"a headless {event.get('type')} event (its usage is in the run's result)")
    session = text(event.get("session_id"), "session_id")
    per_model = event.get("modelUsage")
    rows: list[dict[str, Any]] = []
    if type(per_model) is dict and per_model:
        for model, usage in per_model.items():
            usage = obj(usage)
            row: dict[str, Any] = {
                "source_format": "claude_code.result",
                "model_reported": model,
                "input_uncached_tokens": count(usage.get("inputTokens"), "modelUsage.inputTokens"),
                "cache_read_tokens": count(usage.get("cacheReadInputTokens"), "modelUsage.cacheReadInputTokens"),
                "cache_write_tokens": count(
                    usage.get("cacheCreationInputTokens"), "modelUsage.cacheCreationInputTokens"
                ),
                "output_tokens": count(usage.get("outputTokens"), "modelUsage.outputTokens"),
                "web_search_requests": count(usage.get("webSearchRequests"), "modelUsage.webSearchRequests"),
                "cost_reported": money(usage.get("costUSD"), "modelUsage.costUSD"),
            }
            row["_key"] = f"{session}:{model}" if session else None
            rows.append(row)
    else:
        usage = event.get("usage")
        if type(usage) is not dict:
            raise Skip("no_usage", "a result without usage")
        row = {"source_format": "claude_code.result"}
        row["cost_reported"] = money(event.get("total_cost_usd"), "total_cost_usd")
        usage_columns(usage, row, "usage")
        row["_key"] = session
        rows.append(row)
    failed = event.get("is_error") is True or str(event.get("subtype", "success")) != "success"
    for row in rows:
        row["cost_reported_currency"] = "USD" if row.get("cost_reported") is not None else None
        row["_hint"], row["_hard"] = "anthropic", False
        if failed:
            row["status"] = "error"
            row["error_type"] = text(event.get("subtype"), "subtype")
        tags = {"session_id": session} if session else {}
        row["tags"] = tags or None
    return rows
