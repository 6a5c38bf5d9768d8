"""Codex CLI session rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``.

Each line is ``{"timestamp", "type", "payload"}``. ``session_meta`` names the session (id, cwd, CLI
version), ``turn_context`` the model of the turns that follow, and ``event_msg`` lines whose payload type is
``token_count`` carry ``info.total_token_usage`` (cumulative for the session) and ``info.last_token_usage``
(the last request). Usage has OpenAI semantics: ``input_tokens`` includes ``cached_input_tokens`` and
``output_tokens`` includes ``reasoning_output_tokens`` (total = input + output).

Codex writes each ``token_count`` event twice in a row, and a resumed or forked session replays its parent's
events: a turn is the growth of the cumulative total, so each row is the difference from the previous
total seen in the file (the first event: its ``last_token_usage``, else its total), an event that does not
grow the total is ``no_usage``, and the natural key is the session id with the cumulative total, so the
same turn read from two files collapses as a duplicate.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import Skip, count, obj, text, timestamp_us

_KINDS = frozenset({"session_meta", "turn_context", "event_msg", "response_item", "compacted"})
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")


def is_rollout_line(value: dict[str, Any]) -> bool:
    return value.get("type") in _KINDS and type(value.get("payload")) is dict and "timestamp" in value


def parse_line(line: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    kind = line["type"]
    payload = line["payload"]
    if kind == "session_meta":
        state["codex_session"] = payload
        raise Skip("no_usage", "a Codex session_meta line")
    if kind == "turn_context":
        state["codex_model"] = text(payload.get("model"), "payload.model")
        raise Skip("no_usage", "a Codex turn_context line")
    if kind != "event_msg" or payload.get("type") != "token_count":
        raise Skip("no_usage", f"a Codex {kind} line")
    info = obj(payload.get("info"))
    total = _usage(obj(info.get("total_token_usage")), "total_token_usage")
    last = _usage(obj(info.get("last_token_usage")), "last_token_usage")
    if total["total_tokens"] is None and last["total_tokens"] is None:
        raise Skip("no_usage", "a token_count event without usage")
    previous = state.get("codex_total")
    if total["total_tokens"] is not None:
        if previous is not None and total["total_tokens"] == previous["total_tokens"]:
            raise Skip("no_usage", "a token_count event repeating the session's total (re-emitted)")
        state["codex_total"] = total
    if previous is not None and total["total_tokens"] is not None and total["total_tokens"] > previous["total_tokens"]:
        turn = {name: _minus(total[name], previous[name]) for name in _FIELDS}
    else:
        turn = last if last["total_tokens"] is not None else total
    session = obj(state.get("codex_session"))
    session_id = text(session.get("id"), "session_meta.id")
    row: dict[str, Any] = {
        "source_format": "codex.rollout",
        "model_reported": state.get("codex_model"),
        "ts_start": timestamp_us(line.get("timestamp"), "timestamp"),
        "input_tokens": turn["input_tokens"],
        "cache_read_tokens": turn["cached_input_tokens"],
        "output_tokens": turn["output_tokens"],
        "reasoning_tokens": turn["reasoning_output_tokens"],
        "total_tokens_reported": turn["total_tokens"],
        "project": text(session.get("cwd"), "session_meta.cwd"),
        "_hint": "openai",
        "_hard": False,
    }
    tags = {}
    for key, name in (("id", "session_id"), ("cli_version", "codex_version"), ("originator", "originator")):
        value = text(session.get(key), f"session_meta.{key}")
        if value is not None:
            tags[name] = value
    row["tags"] = tags or None
    cumulative = total["total_tokens"]
    if session_id is not None and cumulative is not None:
        row["_key"] = f"{session_id}:{cumulative}"
    return row


def _usage(usage: dict[str, Any], where: str) -> dict[str, int | None]:
    return {name: count(usage.get(name), f"{where}.{name}") for name in _FIELDS}


def _minus(now: int | None, before: int | None) -> int | None:
    if now is None:
        return None
    return max(now - (before or 0), 0)
