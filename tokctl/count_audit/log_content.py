"""The request messages and the response text a log record carries, for recounting them locally.

The canonical usage table keeps counts, not text (text is large and often sensitive). ``tokctl audit``
re-opens each record's source file at its source line and takes the content from there, for the shapes that
carry it:

- request logs that wrap a request and its response (``{"request": {...}, "response": {...}, ...}``);
- LiteLLM SpendLogs with ``messages`` and ``response`` stored (``store_prompts_in_spend_logs``), tools from
  ``proxy_server_request``;
- OpenTelemetry GenAI spans with content capture: ``gen_ai.input.messages`` / ``gen_ai.system_instructions``
  / ``gen_ai.output.messages``, or the older indexed ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``.

Requests in the OpenAI chat, Anthropic Messages and Gemini shapes become OpenAI-style messages (role, content,
name) for the chat counting rules. Response text comes from OpenAI chat choices, Responses API output
items, Anthropic content blocks and Gemini candidate parts. What cannot be recounted faithfully says why in
``input_note`` / ``output_note`` (tool calls, images, thinking blocks, Responses API input).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Content:
    messages: list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    output_texts: list[str] | None = None
    input_note: str | None = None
    output_note: str | None = None
    ids: set[str] = field(default_factory=set)


def contents_at(path: str, lines: Iterable[int]) -> dict[int, list[Content]]:
    """The content records at these source lines of ``path``, numbered as the readers number them
    (tokctl/ingest/pipeline.py): a JSONL line, a CSV row, an item of a JSON list; the spans of a JSON
    document that is one OTLP export are numbered from 1, while the spans of an OTLP export on one JSONL
    line all share that line (audit tells them apart by response id)."""
    from tokctl.ingest.detection import containers
    from tokctl.ingest.inputs import Bad, open_stream, records

    wanted = set(lines)
    found: dict[int, list[Content]] = {}
    stream, raw_file = open_stream(Path(path))
    try:
        for line, value in records(stream, Path(path)):
            if isinstance(value, Bad):
                continue
            if _is_container(value):
                for sub, item in enumerate(containers(value)):
                    number = sub + 1 if line == 0 else line
                    if number in wanted and not isinstance(item, Bad):
                        found.setdefault(number, []).extend(extract(item))
            elif (line or 1) in wanted:
                found.setdefault(line or 1, []).extend(extract(value))
    finally:
        raw_file.close()
    return found


def _is_container(value: Any) -> bool:
    """The readers' rule (pipeline.py): a list, an OTLP export, or a page with a ``data`` list."""
    if not isinstance(value, dict):
        return True
    return "resourceSpans" in value or isinstance(value.get("data"), list)


# --- record shapes -----------------------------------------------------------------------------------------


def extract(raw: Any) -> list[Content]:
    """Every content record in one raw record (several for an OTLP export, else one)."""
    if not isinstance(raw, dict):
        return [Content(input_note="not a JSON object", output_note="not a JSON object")]
    if "resourceSpans" in raw:
        return [_span(span) for span in _spans(raw)]
    if "traceId" in raw and "attributes" in raw:
        return [_span(raw)]
    if (
        "request_id" in raw
        and ("messages" in raw or "response" in raw)
        and ("call_type" in raw or "spend" in raw or "startTime" in raw)
    ):
        return [_litellm(raw)]
    request = _first_dict(raw, ("request", "request_body", "req"))
    response = _first_dict(raw, ("response", "response_body", "resp"))
    if request is None and response is None:
        response = raw  # a bare vendor response
    content = Content()
    if request is not None:
        content.messages, content.tools, content.input_note = request_messages(request)
    else:
        content.input_note = "the record holds no request"
    stream = _maybe_json(raw.get("response"))
    if isinstance(stream, list):
        content.output_texts, content.output_note = stream_texts(stream)
    elif response is not None:
        content.output_texts, content.output_note = response_texts(response)
        content.ids |= _ids(response)
    else:
        content.output_note = "the record holds no response"
    content.ids |= _ids(raw)
    return [content]


def _first_dict(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The first of ``keys`` that holds an object; a wrapper's ``body`` (an HTTP capture) is unwrapped."""
    for key in keys:
        value = _maybe_json(raw.get(key))
        if isinstance(value, dict):
            body = _maybe_json(value.get("body"))
            return body if isinstance(body, dict) and not _PAYLOAD_KEYS & value.keys() else value
    return None


_PAYLOAD_KEYS = {"messages", "contents", "input", "choices", "content", "output", "candidates"}


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _ids(record: dict[str, Any]) -> set[str]:
    keys = ("id", "request_id", "response_id", "requestId", "responseId")
    return {str(record[k]) for k in keys if isinstance(record.get(k), str | int)}


def _litellm(raw: dict[str, Any]) -> Content:
    content = Content(ids=_ids(raw))
    messages = _maybe_json(raw.get("messages"))
    proxy = _maybe_json(raw.get("proxy_server_request"))
    proxy = proxy if isinstance(proxy, dict) else {}
    if not messages:
        messages = proxy.get("messages")
    if isinstance(messages, list) and messages:
        request = {"messages": messages, "tools": proxy.get("tools")}
        content.messages, content.tools, content.input_note = request_messages(request)
    else:
        content.input_note = "messages not stored (LiteLLM store_prompts_in_spend_logs is off)"
    response = _maybe_json(raw.get("response"))
    if isinstance(response, dict) and response:
        content.output_texts, content.output_note = response_texts(response)
    else:
        content.output_note = "response not stored (LiteLLM store_prompts_in_spend_logs is off)"
    return content


# --- requests ----------------------------------------------------------------------------------------------


def request_messages(request: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, list[Any] | None, str | None]:
    """(messages, tools, note): OpenAI-style messages from a chat, Anthropic or Gemini request."""
    tools = request.get("tools") or None
    if "input" in request and "messages" not in request:
        return None, None, "Responses API input: the chat counting rules do not apply"
    messages: list[dict[str, Any]] = []
    system = request.get("system") or request.get("systemInstruction") or request.get("system_instruction")
    if system:
        text = _text(system)
        if text is None:
            return None, None, "a system prompt with non-text parts"
        messages.append({"role": "system", "content": text})
    raw_messages = request.get("messages") if "messages" in request else request.get("contents")
    if not isinstance(raw_messages, list) or not raw_messages:
        return None, None, "the request holds no messages"
    for raw in raw_messages:
        if not isinstance(raw, dict):
            return None, None, "a message is not an object"
        if raw.get("tool_calls") or raw.get("function_call") or raw.get("role") in ("tool", "function"):
            return None, None, "tool calls in the conversation (their token overhead is not published)"
        text = _text(raw.get("content") if "content" in raw else raw.get("parts"))
        if text is None:
            return None, None, "non-text message content (images, audio, files, tool blocks)"
        message = {"role": "assistant" if raw.get("role") == "model" else str(raw.get("role", "user")), "content": text}
        if isinstance(raw.get("name"), str):
            message["name"] = raw["name"]
        messages.append(message)
    return messages, tools, None


def _text(value: Any) -> str | None:
    """Text of a content value: a string, or text parts only; None when any part is not text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = value.get("parts", [value])
    if not isinstance(value, list):
        return None
    texts = []
    for part in value:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type", "text") in ("text", "input_text") and "text" in part:
            texts.append(str(part["text"]))
        elif isinstance(part, dict) and part.get("type") == "text" and "content" in part:
            texts.append(str(part["content"]))
        else:
            return None
    return "".join(texts)


# --- responses ---------------------------------------------------------------------------------------------


def response_texts(response: dict[str, Any]) -> tuple[list[str] | None, str | None]:
    """(texts, note): the visible output text of a chat, Responses, Anthropic or Gemini response."""
    if isinstance(response.get("choices"), list):
        return _chat_choices(response["choices"])
    if isinstance(response.get("output"), list):
        return _responses_output(response["output"])
    if isinstance(response.get("content"), list) and response.get("type", "message") == "message":
        return _anthropic_blocks(response["content"])
    if isinstance(response.get("candidates"), list):
        return _gemini_candidates(response["candidates"])
    return None, "no response text in the record"


def _chat_choices(choices: list[Any]) -> tuple[list[str] | None, str | None]:
    texts = []
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            return None, "a choice without a message (streamed without being assembled?)"
        if message.get("tool_calls") or message.get("function_call"):
            return None, "tool calls in the output (their token overhead is not published)"
        content = message.get("content")
        if not isinstance(content, str | type(None)):
            return None, "non-text output"
        texts.append(content or "")
    return texts, None


def _responses_output(items: list[Any]) -> tuple[list[str] | None, str | None]:
    texts = []
    for item in items:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "reasoning":
            continue  # billed in reasoning_tokens, which the audit takes off the output
        if kind != "message":
            return None, f"{kind} items in the output"
        for part in item.get("content", []):
            if part.get("type") != "output_text":
                return None, f"{part.get('type')} parts in the output"
            texts.append(part.get("text", ""))
    return texts, None


def _anthropic_blocks(blocks: list[Any]) -> tuple[list[str] | None, str | None]:
    texts = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind != "text":
            return None, f"{kind} blocks in the output"
        texts.append(block.get("text", ""))
    return texts, None


def _gemini_candidates(candidates: list[Any]) -> tuple[list[str] | None, str | None]:
    texts = []
    for candidate in candidates:
        for part in ((candidate or {}).get("content") or {}).get("parts", []):
            if part.get("thought"):
                continue  # thinking: billed as thoughtsTokenCount, taken off the output
            if "text" not in part:
                return None, "non-text parts in the output"
            texts.append(part["text"])
    return texts, None


def stream_texts(chunks: list[Any]) -> tuple[list[str] | None, str | None]:
    """The text a logged stream delivered: OpenAI chunk deltas, Anthropic text deltas, Gemini chunk parts."""
    texts: list[str] = []
    for chunk in chunks:
        if not isinstance(chunk, dict):
            return None, "a stream chunk is not an object"
        delta = chunk.get("delta")
        if chunk.get("type") == "content_block_delta" and isinstance(delta, dict):
            if delta.get("type") != "text_delta":
                return None, f"{delta.get('type')} events in the stream"
            texts.append(str(delta.get("text", "")))
        elif chunk.get("type") == "content_block_start":
            block = chunk.get("content_block") or {}
            if block.get("type") != "text":
                return None, f"{block.get('type')} blocks in the stream"
        for choice in chunk.get("choices") or []:
            delta = (choice or {}).get("delta") or {}
            if delta.get("tool_calls") or delta.get("function_call"):
                return None, "tool calls in the output (their token overhead is not published)"
            if isinstance(delta.get("content"), str):
                texts.append(delta["content"])
        if isinstance(chunk.get("candidates"), list):
            parts, note = _gemini_candidates(chunk["candidates"])
            if parts is None:
                return None, note
            texts.extend(parts)
    return ["".join(texts)], None


# --- OpenTelemetry -----------------------------------------------------------------------------------------


def _spans(export: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource in export.get("resourceSpans") or []:
        for scope in resource.get("scopeSpans") or resource.get("instrumentationLibrarySpans") or []:
            yield from scope.get("spans") or []


def _attributes(items: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items or []:
        if isinstance(item, dict) and "key" in item:
            found[item["key"]] = _otel_value(item.get("value") or {})
    return found


def _otel_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in value:
            return value[key]
    if "arrayValue" in value:
        return [_otel_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values"))
    return None


def _span(span: dict[str, Any]) -> Content:
    attrs = _attributes(span.get("attributes"))
    content = Content(ids={str(v) for k, v in attrs.items() if k in ("gen_ai.response.id",) and v})
    if span.get("spanId"):
        content.ids.add(str(span["spanId"]))
    inputs = _maybe_json(attrs.get("gen_ai.input.messages"))
    outputs = _maybe_json(attrs.get("gen_ai.output.messages"))
    if inputs is None and "gen_ai.prompt.0.role" in attrs:
        inputs = _indexed(attrs, "gen_ai.prompt")
    if outputs is None and "gen_ai.completion.0.content" in attrs:
        outputs = _indexed(attrs, "gen_ai.completion")
    if isinstance(inputs, list):
        system = _maybe_json(attrs.get("gen_ai.system_instructions"))
        messages = [{"role": "system", "parts": system}] if isinstance(system, list) and system else []
        converted = [_otel_message(m) for m in [*messages, *inputs]]
        if any(m is None for m in converted):
            content.input_note = "non-text or tool parts in gen_ai.input.messages"
        else:
            content.messages = [m for m in converted if m is not None]
    else:
        content.input_note = "no captured input (enable content capture: gen_ai.input.messages)"
    if isinstance(outputs, list):
        converted = [_otel_message(m) for m in outputs]
        if any(m is None for m in converted):
            content.output_note = "non-text or tool parts in gen_ai.output.messages"
        else:
            content.output_texts = [m["content"] for m in converted if m is not None]
    else:
        content.output_note = "no captured output (enable content capture: gen_ai.output.messages)"
    return content


def _indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    messages, index = [], 0
    while f"{prefix}.{index}.content" in attrs or f"{prefix}.{index}.role" in attrs:
        if f"{prefix}.{index}.tool_calls.0.name" in attrs:
            messages.append({"role": "assistant", "parts": [{"type": "tool_call"}]})
        else:
            messages.append(
                {
                    "role": attrs.get(f"{prefix}.{index}.role", "assistant"),
                    "content": attrs.get(f"{prefix}.{index}.content", ""),
                }
            )
        index += 1
    return messages


def _otel_message(message: Any) -> dict[str, Any] | None:
    if not isinstance(message, dict):
        return None
    if "parts" not in message:
        text = _text(message.get("content"))
        return None if text is None else {"role": str(message.get("role", "user")), "content": text}
    texts = []
    for part in message["parts"] or []:
        if not isinstance(part, dict):
            return None
        if part.get("type") == "reasoning":
            continue  # billed in reasoning tokens, which the audit takes off the output
        if part.get("type") != "text":
            return None
        texts.append(str(part.get("content", "")))
    return {"role": str(message.get("role", "user")), "content": "".join(texts)}
