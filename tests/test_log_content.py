"""tokctl.count_audit.log_content: request messages and response text out of each log shape that carries them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tokctl.count_audit.log_content import contents_at, extract

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi", "name": "bob"}]
CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there."}}],
    "usage": {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23},
}


def test_request_log_wrapper_with_openai_chat() -> None:
    (content,) = extract(
        {
            "timestamp": "2026-01-01T00:00:00Z",
            "request": {"model": "gpt-4o", "messages": MESSAGES, "tools": [{"type": "function"}]},
            "response": CHAT,
        }
    )
    assert content.messages == MESSAGES
    assert content.tools == [{"type": "function"}]
    assert content.output_texts == ["Hello there."]
    assert "chatcmpl-1" in content.ids


def test_anthropic_request_and_response_become_openai_style() -> None:
    request = {
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }
    response = {
        "id": "msg_1",
        "type": "message",
        "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there."}],
    }
    (content,) = extract({"request": request, "response": response})
    assert content.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert content.output_texts == ["Hello", " there."]


def test_what_cannot_be_recounted_says_why() -> None:
    tool_call = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}}]}
    image = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
    (content,) = extract({"request": image, "response": tool_call})
    assert content.messages is None and "non-text" in (content.input_note or "")
    assert content.output_texts is None and "tool calls" in (content.output_note or "")
    thinking = {"type": "message", "content": [{"type": "thinking", "thinking": "..."}, {"type": "text", "text": "4"}]}
    (content,) = extract({"request": {"input": "hi"}, "response": thinking})
    assert "Responses API" in (content.input_note or "") and "thinking" in (content.output_note or "")


def test_responses_and_gemini_outputs() -> None:
    responses = {
        "output": [
            {"type": "reasoning", "summary": []},
            {"type": "message", "content": [{"type": "output_text", "text": "Done."}]},
        ]
    }
    assert extract({"response": responses, "latency_ms": 5})[0].output_texts == ["Done."]
    gemini = {"candidates": [{"content": {"parts": [{"text": "plan", "thought": True}, {"text": "Answer"}]}}]}
    request = {
        "contents": [{"role": "user", "parts": [{"text": "Q"}]}],
        "systemInstruction": {"parts": [{"text": "S"}]},
    }
    (content,) = extract({"request": request, "response": gemini})
    assert content.output_texts == ["Answer"]
    assert content.messages == [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]


def test_streamed_responses_are_assembled() -> None:
    chunks = [
        {"choices": [{"delta": {"role": "assistant"}}]},
        {"choices": [{"delta": {"content": "Hel"}}]},
        {"choices": [{"delta": {"content": "lo"}}]},
        {"choices": [], "usage": {"completion_tokens": 2}},
    ]
    assert extract({"request": {"messages": MESSAGES}, "response": chunks})[0].output_texts == ["Hello"]
    events = [
        {"type": "content_block_start", "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi!"}},
    ]
    assert extract({"request": {"messages": MESSAGES}, "response": events})[0].output_texts == ["Hi!"]


def test_litellm_spend_log_with_stored_prompts() -> None:
    log = {
        "request_id": "r1",
        "call_type": "acompletion",
        "spend": 0.1,
        "startTime": "2026-01-01T00:00:00Z",
        "messages": json.dumps(MESSAGES),
        "response": CHAT,
        "proxy_server_request": {"messages": MESSAGES, "tools": [{"type": "function"}]},
    }
    (content,) = extract(log)
    assert content.messages == MESSAGES and content.tools == [{"type": "function"}]
    assert content.output_texts == ["Hello there."]
    (bare,) = extract({**log, "messages": None, "response": {}, "proxy_server_request": None})
    assert "store_prompts_in_spend_logs" in (bare.input_note or "")
    assert "store_prompts_in_spend_logs" in (bare.output_note or "")


def test_otel_spans_with_content_capture() -> None:
    def attr(key: str, value: str) -> dict:
        return {"key": key, "value": {"stringValue": value}}

    current = {
        "spanId": "a1",
        "attributes": [
            attr("gen_ai.response.id", "resp-1"),
            attr("gen_ai.system_instructions", json.dumps([{"type": "text", "content": "Be brief."}])),
            attr("gen_ai.input.messages", json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}])),
            attr(
                "gen_ai.output.messages",
                json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "reasoning", "content": "hmm"}, {"type": "text", "content": "Hello"}],
                        }
                    ]
                ),
            ),
        ],
    }
    legacy = {
        "spanId": "b2",
        "attributes": [
            attr("gen_ai.prompt.0.role", "user"),
            attr("gen_ai.prompt.0.content", "Q"),
            attr("gen_ai.completion.0.content", "A"),
        ],
    }
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [current, legacy, {"spanId": "c3", "attributes": []}]}]}]}
    first, second, third = extract(export)
    assert first.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert first.output_texts == ["Hello"] and {"resp-1", "a1"} <= first.ids
    assert second.messages == [{"role": "user", "content": "Q"}] and second.output_texts == ["A"]
    assert "content capture" in (third.input_note or "")


def test_contents_at_numbers_records_as_the_readers_do(tmp_path: Path) -> None:
    jsonl = tmp_path / "log.jsonl.gz"
    lines = [
        json.dumps({"request": {"messages": MESSAGES}, "response": CHAT}),
        "",
        "not json",
        json.dumps({"request": {"messages": [{"role": "user", "content": "x"}]}, "response": CHAT}),
    ]
    jsonl.write_bytes(gzip.compress("\n".join(lines).encode()))
    found = contents_at(str(jsonl), [1, 3, 4])
    assert sorted(found) == [1, 4]
    assert found[4][0].messages == [{"role": "user", "content": "x"}]
    document = tmp_path / "doc.json"
    document.write_text(json.dumps([{"response": CHAT}, {"request": {"messages": MESSAGES}, "response": CHAT}]))
    assert contents_at(str(document), [2])[2][0].messages == MESSAGES
