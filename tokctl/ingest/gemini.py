"""Google Gemini / Vertex AI ``generateContent`` responses and their ``usageMetadata`` (formats.md 1.6).

* ``promptTokenCount`` includes ``cachedContentTokenCount``; ``toolUsePromptTokenCount`` (tool results fed
  back) is billed as input but sits outside it: canonical input = prompt + tool-use prompt.
* ``thoughtsTokenCount`` is billed as output but sits outside ``candidatesTokenCount``: canonical output =
  candidates + thoughts, reasoning = thoughts.
* Protobuf JSON leaves zero counts out, so an absent count is "not reported" (null), as everywhere.

Streams repeat a cumulative ``usageMetadata`` on chunks under one ``responseId``: the last one wins. Some
clients (the JS SDK's streams, older Vertex) log chunks without ``responseId``: a chunk without an id and
without a ``finishReason`` opens a stream that the next id-less chunks of the same model in the file
continue, up to the chunk that carries a ``finishReason``; the chunks share one natural key (the first
chunk's file:line), so the last cumulative count wins instead of every chunk being summed. Batch output
lines are ``{"key": ..., "response": {...}}``.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import Skip, add, count, obj, text, timestamp_us

TRAFFIC_TIERS = {  # usageMetadata.trafficType -> service tier
    "ON_DEMAND": "standard",
    "ON_DEMAND_PRIORITY": "priority",
    "ON_DEMAND_FLEX": "flex",
    "ON_DEMAND_OFFPEAK": "offpeak",
    "PROVISIONED_THROUGHPUT": "provisioned",
}


def is_response(value: dict[str, Any]) -> bool:
    return "usageMetadata" in value or ("candidates" in value and "modelVersion" in value)


def parse_response(
    response: dict[str, Any], source_format: str = "gemini", state: dict[str, Any] | None = None
) -> dict[str, Any]:
    usage = response.get("usageMetadata")
    if usage is None:
        raise Skip("no_usage", "a response or chunk without usageMetadata")
    if type(usage) is not dict:
        raise Skip("wrong_type", "usageMetadata is not an object")
    prompt = count(usage.get("promptTokenCount"), "usageMetadata.promptTokenCount")
    tool_prompt = count(usage.get("toolUsePromptTokenCount"), "usageMetadata.toolUsePromptTokenCount")
    cached = count(usage.get("cachedContentTokenCount"), "usageMetadata.cachedContentTokenCount")
    candidates = count(usage.get("candidatesTokenCount"), "usageMetadata.candidatesTokenCount")
    thoughts = count(usage.get("thoughtsTokenCount"), "usageMetadata.thoughtsTokenCount")
    traffic = usage.get("trafficType")
    row: dict[str, Any] = {
        "source_format": source_format,
        "model_reported": text(response.get("modelVersion"), "modelVersion"),
        "response_id": text(response.get("responseId"), "responseId"),
        "ts_start": timestamp_us(response.get("createTime"), "createTime"),
        "input_tokens": add(prompt, tool_prompt),
        "cache_read_tokens": cached,
        "output_tokens": add(candidates, thoughts),
        "reasoning_tokens": thoughts,
        "total_tokens_reported": count(usage.get("totalTokenCount"), "usageMetadata.totalTokenCount"),
        "service_tier": TRAFFIC_TIERS.get(traffic, traffic.lower()) if type(traffic) is str else None,
        "_hint": "google",
        "_hard": False,
    }
    row["_key"] = row["response_id"]
    if row["_key"] is None and state is not None:
        _id_less_stream(response, row, state)
    return row


def _id_less_stream(response: dict[str, Any], row: dict[str, Any], state: dict[str, Any]) -> None:
    open_stream = state.get("gemini_stream")
    model = row["model_reported"]
    chunks = open_stream[1] if open_stream is not None and open_stream[0] == model else []
    candidates = response.get("candidates")
    first = candidates[0] if type(candidates) is list and candidates and type(candidates[0]) is dict else {}
    if first.get("finishReason") is None:
        state["gemini_stream"] = (model, chunks)
    else:
        state.pop("gemini_stream", None)
    if chunks or first.get("finishReason") is None:
        row["_stream"] = chunks


def parse_batch_line(line: dict[str, Any]) -> dict[str, Any]:
    response = line.get("response")
    if type(response) is not dict:
        error = obj(line.get("error")) or obj(obj(line.get("status")))
        row: dict[str, Any] = {"source_format": "gemini.batch", "status": "error", "_hint": "google"}
        row["error_type"] = text(error.get("code") or error.get("status"), "error.code")
    else:
        row = parse_response(response, "gemini.batch")
    row["is_batch"] = True
    row["service_tier"] = "batch"
    key = text(line.get("key"), "key")
    if key is not None:
        row["tags"] = {"batch_key": key}
    return row
