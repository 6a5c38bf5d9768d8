"""Langfuse observations (public API ``/api/public/observations`` or a UI export) (formats.md 5.2).

``usageDetails`` is a free-form map whose keys depend on the integration. Langfuse itself treats every
key containing "input" as input and every key containing "output" as output, which only adds up when
the keys are disjoint; tokctl follows the same rule: ``input`` is the uncached part, keys naming
``cache_read``/``cached`` are cache reads, ``cache_creation``/``cache_write`` are writes, and keys naming
``reasoning`` are the reasoning part of the output. The deprecated ``usage{input,output,total}`` is read
when ``usageDetails`` is absent, and the oldest ``promptTokens``/``completionTokens``/``totalTokens`` when
both are. ``costDetails.total`` (USD), else ``calculatedTotalCost``, else ``usage.totalCost`` is the cost
Langfuse reports. A trace export (``{"id", "observations": [...]}``) is opened as a container of its
observations.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import Skip, count, money, obj, tag_map, text, timestamp_us

_USAGE_TYPES = frozenset({"GENERATION", "EMBEDDING", None})


def observations_of(trace: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The observations of a trace export (``GET /api/public/traces/{id}`` or a UI export), or None."""
    found = trace.get("observations")
    if type(found) is list and found and all(type(item) is dict for item in found):
        trace_id = trace.get("id")
        return [{"traceId": trace_id, **item, MARK: True} for item in found]
    return None


MARK = "_langfuse"  # an observation taken out of a trace export (it may carry neither traceId nor startTime)


def is_observation(value: dict[str, Any]) -> bool:
    return MARK in value or "usageDetails" in value or ("traceId" in value and "type" in value and "startTime" in value)


def parse_observation(observation: dict[str, Any]) -> dict[str, Any]:
    if observation.get("type") not in _USAGE_TYPES:
        raise Skip("no_usage", f"a {observation.get('type')} observation")
    details = observation.get("usageDetails")
    legacy = obj(observation.get("usage"))
    if details is None:
        if legacy.get("unit") not in (None, "TOKENS"):
            raise Skip("no_usage", f"usage counted in {legacy.get('unit')}")
        details = {k: legacy[k] for k in ("input", "output", "total") if legacy.get(k) is not None}
    if not details:
        # The oldest API: promptTokens / completionTokens / totalTokens at the top of the observation.
        details = {
            name: observation[key]
            for key, name in (("promptTokens", "input"), ("completionTokens", "output"), ("totalTokens", "total"))
            if observation.get(key) is not None
        }
    if type(details) is not dict:
        raise Skip("wrong_type", "usageDetails is not an object")
    if not details:
        raise Skip("no_usage", "an observation without usage")
    row: dict[str, Any] = {"source_format": "langfuse.observation"}
    _usage(details, row)
    row["model_reported"] = text(observation.get("model") or observation.get("providedModelName"), "model")
    row["ts_start"] = timestamp_us(observation.get("startTime"), "startTime")
    row["ts_end"] = timestamp_us(observation.get("endTime"), "endTime")
    row["ts_first_token"] = timestamp_us(observation.get("completionStartTime"), "completionStartTime")
    row["project"] = text(observation.get("projectId"), "projectId")
    row["user"] = text(observation.get("userId"), "userId")
    tags = tag_map(observation.get("tags")) or {}
    for key, name in (
        ("traceId", "trace_id"),
        ("sessionId", "session_id"),
        ("environment", "environment"),
        ("name", "name"),
    ):
        value = text(observation.get(key), key)
        if value is not None:
            tags[name] = value
    row["tags"] = tags or None
    if observation.get("level") == "ERROR":
        row["status"] = "error"
        row["error_type"] = text(observation.get("statusMessage"), "statusMessage")
    costs = obj(observation.get("costDetails"))
    total_cost = costs.get("total", observation.get("calculatedTotalCost"))
    if total_cost is None:
        total_cost = legacy.get("totalCost")
    row["cost_reported"] = money(total_cost, "costDetails.total")
    row["cost_reported_currency"] = "USD" if row["cost_reported"] is not None else None
    row["_key"] = text(observation.get("id"), "id")
    return row


def _usage(details: dict[str, Any], row: dict[str, Any]) -> None:
    uncached = read = write = output = reasoning = total = None
    for key, raw in details.items():
        value = count(raw, f"usageDetails.{key}")
        if value is None:
            continue
        name = key.lower()
        if name == "total":
            total = value
        elif "reasoning" in name:
            reasoning = (reasoning or 0) + value
            output = (output or 0) + value if "output" in name else output
        elif "cache_read" in name or "cached" in name:
            read = (read or 0) + value
        elif "cache_creation" in name or "cache_write" in name:
            write = (write or 0) + value
        elif "input" in name or name == "prompt_tokens":
            uncached = (uncached or 0) + value
        elif "output" in name or name == "completion_tokens":
            output = (output or 0) + value
    row["input_uncached_tokens"], row["cache_read_tokens"], row["cache_write_tokens"] = uncached, read, write
    row["output_tokens"], row["reasoning_tokens"], row["total_tokens_reported"] = output, reasoning, total
