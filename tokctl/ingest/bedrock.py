"""AWS Bedrock runtime records: Converse responses, ConverseStream ``metadata`` events and model-invocation
logs (CloudWatch Logs or S3, ``schemaType: ModelInvocationLog``) (formats.md 1.14).

* Converse ``usage``: ``inputTokens``, ``outputTokens``, ``totalTokens``, ``cacheReadInputTokens``,
  ``cacheWriteInputTokens``. ``inputTokens`` leaves the cache out (AWS TokenUsage; total = input + output +
  cache read + cache write); when the total shows the cache inside (total = input + output) it is read
  as inclusive.
* Invocation logs: ``input.inputTokenCount`` (uncached), ``input.cacheReadInputTokenCount``,
  ``input.cacheWriteInputTokenCount``, ``output.outputTokenCount``, with ``modelId`` (a model id, an
  inference profile such as ``us.anthropic.claude-...-v1:0``, or an ARN), ``requestId``, ``timestamp``,
  ``region``, ``operation`` and ``identity.arn``.

The platform that bills is Bedrock, whatever model vendor served the request.
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import Skip, count, duration_us, obj, text, timestamp_us


def is_record(value: dict[str, Any]) -> bool:
    if value.get("schemaType") == "ModelInvocationLog":
        return True
    usage = value.get("usage")
    if type(usage) is dict and "inputTokens" in usage:
        return "output" in value or "stopReason" in value or "metrics" in value
    metadata = value.get("metadata")
    return type(metadata) is dict and type(metadata.get("usage")) is dict and "inputTokens" in metadata["usage"]


def parse_record(value: dict[str, Any]) -> dict[str, Any]:
    if value.get("schemaType") == "ModelInvocationLog":
        return _invocation_log(value)
    body = obj(value.get("metadata")) if "metadata" in value and "usage" not in value else value
    usage = obj(body.get("usage"))
    row: dict[str, Any] = {"source_format": "bedrock.converse"}
    _token_usage(usage, row)
    headers = obj(obj(value.get("ResponseMetadata")).get("HTTPHeaders"))
    row["request_id"] = text(
        obj(value.get("ResponseMetadata")).get("RequestId") or headers.get("x-amzn-requestid"), "RequestId"
    )
    stop = value.get("stopReason")
    if stop is not None:
        row["status"] = "success"
    latency = duration_us(obj(body.get("metrics")).get("latencyMs"), "metrics.latencyMs", 1e-3)
    if latency is not None:
        row["tags"] = {"latency_ms": str(obj(body.get("metrics")).get("latencyMs"))}
    row["_hint"], row["_hard"] = "bedrock", True
    row["_key"] = row["request_id"]
    return row


def _token_usage(usage: dict[str, Any], row: dict[str, Any]) -> None:
    given = count(usage.get("inputTokens"), "usage.inputTokens")
    read = count(usage.get("cacheReadInputTokens"), "usage.cacheReadInputTokens")
    write = count(usage.get("cacheWriteInputTokens"), "usage.cacheWriteInputTokens")
    output = count(usage.get("outputTokens"), "usage.outputTokens")
    total = count(usage.get("totalTokens"), "usage.totalTokens")
    if given is None and output is None:
        raise Skip("no_usage", "a Bedrock record without token counts")
    inclusive = (read or write) and total is not None and given is not None and total == given + (output or 0)
    row["input_tokens" if inclusive else "input_uncached_tokens"] = given
    row["cache_read_tokens"], row["cache_write_tokens"] = read, write
    row["output_tokens"] = output
    row["total_tokens_reported"] = total  # input + output in both readings: the canonical input holds the cache


def _invocation_log(log: dict[str, Any]) -> dict[str, Any]:
    given, produced = obj(log.get("input")), obj(log.get("output"))
    uncached = count(given.get("inputTokenCount"), "input.inputTokenCount")
    output = count(produced.get("outputTokenCount"), "output.outputTokenCount")
    row: dict[str, Any] = {
        "source_format": "bedrock.invocation_log",
        "model_reported": text(log.get("modelId"), "modelId"),
        "request_id": text(log.get("requestId"), "requestId"),
        "ts_start": timestamp_us(log.get("timestamp"), "timestamp"),
        "input_uncached_tokens": uncached,
        "cache_read_tokens": count(given.get("cacheReadInputTokenCount"), "input.cacheReadInputTokenCount"),
        "cache_write_tokens": count(given.get("cacheWriteInputTokenCount"), "input.cacheWriteInputTokenCount"),
        "output_tokens": output,
        "project": text(log.get("accountId"), "accountId"),
        "_hint": "bedrock",
        "_hard": True,
    }
    body = obj(produced.get("outputBodyJson"))
    response_id = body.get("id")
    row["response_id"] = text(response_id, "outputBodyJson.id") if type(response_id) is str else None
    error = log.get("errorCode")
    if error is not None:
        row["status"] = "error"
        row["error_type"] = text(error, "errorCode")
    elif uncached is None and output is None:
        raise Skip("no_usage", "an invocation log without token counts")
    tags = {}
    for key, value in (
        ("region", log.get("region")),
        ("operation", log.get("operation")),
        ("inference_region", log.get("inferenceRegion")),
        ("aws_principal", obj(log.get("identity")).get("arn")),
    ):
        found = text(value, key)
        if found is not None:
            tags[key] = found
    row["tags"] = tags or None
    row["_key"] = row["request_id"]
    return row
