"""Claude Code session transcripts: ``~/.claude/projects/<project>/<session>.jsonl`` (formats.md 5.4).

Only ``assistant`` lines carry usage, with Anthropic semantics (input exclusive of cache). One API
response is often written as several lines (one per content block) repeating the same usage, so the
natural key is (message id, request id) and the repeats collapse as duplicates. Lines with the model
``<synthetic>`` are Claude Code's own error notices, not API calls.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.anthropic import usage_columns
from tokctl.ingest.values import Skip, money, obj, text, timestamp_us


def is_transcript_line(value: dict[str, Any]) -> bool:
    return "sessionId" in value or "leafUuid" in value or ("parentUuid" in value and "type" in value)


def parse_line(line: dict[str, Any]) -> dict[str, Any]:
    if line.get("type") != "assistant":
        raise Skip("no_usage", f"a transcript line of type {line.get('type')!r}")
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
    if message_id is not None or request_id is not None:
        row["_key"] = f"{message_id}:{request_id}"
    return row
