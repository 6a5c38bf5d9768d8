"""OpenAI shapes: chat completions, streamed chunks, Responses, Batch output; expected rows worked by hand
from formats.md 1.1-1.3 (cached tokens inside prompt_tokens, reasoning inside completion_tokens)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.usage_helpers import EXAMPLES, expect_tokens, read, read_records, tokens


def test_chat_completions_keep_cache_inside_the_input() -> None:
    rows, acc = read(EXAMPLES / "openai_chat.jsonl")
    assert (acc.records, acc.parsed, acc.skipped) == (3, 3, 0)
    first, _, reasoning = rows
    # 2150 prompt tokens of which 1920 cached: 230 uncached; nothing reported about writes.
    assert tokens(first) == expect_tokens(
        input_tokens=2150,
        input_uncached_tokens=230,
        cache_read_tokens=1920,
        output_tokens=412,
        reasoning_tokens=0,
        total_tokens_reported=2562,
    )
    assert first["source_format"] == "openai.chat"
    assert (first["provider"], first["model"], first["model_reported"]) == ("openai", "gpt-4o", "gpt-4o-2024-08-06")
    assert first["ts_start"] == dt.datetime(2026, 11, 16, 9, 2, tzinfo=dt.UTC)
    assert first["response_id"] == "chatcmpl-CQ1a9kZ2"
    assert first["service_tier"] == "standard"  # "default" is the standard tier
    assert first["flags"] == []
    assert tokens(reasoning)["reasoning_tokens"] == 1536 and reasoning["service_tier"] == "flex"


def test_stream_usage_comes_from_the_last_chunk(tmp_path) -> None:
    rows, acc = read(EXAMPLES / "openai_stream.sse")
    # 5 data lines (framing and [DONE] are not records); 3 chunks carry no usage. The finish chunk stands for
    # the request (a stream without include_usage would end there) and the usage chunk replaces it.
    assert (acc.records, acc.parsed, acc.skipped, acc.duplicates) == (5, 2, 3, 1)
    assert len(rows) == 1
    assert acc.reasons["no_usage"].first.endswith("openai_stream.sse:1")
    assert tokens(rows[0]) == expect_tokens(
        input_tokens=88,
        input_uncached_tokens=88,
        cache_read_tokens=0,
        output_tokens=31,
        reasoning_tokens=0,
        total_tokens_reported=119,
    )


def test_responses_objects_and_terminal_events() -> None:
    rows, _ = read(EXAMPLES / "openai_responses.jsonl")
    assert [r["source_format"] for r in rows] == ["openai.responses", "openai.responses"]
    assert tokens(rows[0]) == expect_tokens(
        input_tokens=5300,
        input_uncached_tokens=1204,
        cache_read_tokens=4096,
        cache_write_tokens=0,
        output_tokens=1880,
        reasoning_tokens=1536,
        total_tokens_reported=7180,
    )
    assert rows[0]["ts_start"] == dt.datetime(2026, 11, 16, 12, 0, 10, 500000, tzinfo=dt.UTC)
    assert rows[1]["response_id"] == "resp_68e1c0b7" and rows[1]["model"] == "gpt-5"


def test_batch_output_lines_are_batch_priced_and_errors_kept() -> None:
    rows, acc = read(EXAMPLES / "openai_batch_output.jsonl", price=True)
    ok, failed = rows
    assert ok["source_format"] == "openai.batch" and ok["is_batch"] is True and ok["service_tier"] == "batch"
    assert (ok["request_id"], ok["http_status"], dict(ok["tags"])) == ("req_7c2e9b", 200, {"custom_id": "invoice-0007"})
    assert tokens(ok)["input_tokens"] == 640
    # gpt-4o-mini 0.15 / 0.60 per 1M at half price in batch: (640 x 0.075 + 22 x 0.30) / 1M
    assert ok["cost"] == Decimal("0.0000546") and ok["currency"] == "USD"
    assert (failed["status"], failed["http_status"], failed["error_type"]) == ("error", 400, "invalid_value")
    assert tokens(failed) == expect_tokens()  # an error reports no usage: every count null, not 0
    assert acc.unpriced == 0  # a row without any count is not an unpriced request


def test_embeddings_and_missing_usage_details_stay_null(tmp_path) -> None:
    rows, _ = read_records(
        tmp_path,
        [
            {
                "object": "list",
                "data": [],
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            },
            {
                "id": "chatcmpl-x",
                "object": "chat.completion",
                "created": 1794873600,
                "model": "gpt-4o",
                "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
            },
        ],
    )
    assert rows[0]["source_format"] == "openai.embeddings"
    assert tokens(rows[0]) == expect_tokens(input_tokens=8, input_uncached_tokens=8, total_tokens_reported=8)
    # No prompt_tokens_details: cache reads were not reported, so they stay null (not 0).
    assert tokens(rows[1]) == expect_tokens(
        input_tokens=10, input_uncached_tokens=10, output_tokens=2, total_tokens_reported=12
    )


def test_invariants_are_flagged_not_fatal(tmp_path) -> None:
    rows, acc = read_records(
        tmp_path,
        [
            {
                "id": "a",
                "object": "chat.completion",
                "model": "gpt-4o",
                "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 999},
            },
            {
                "id": "b",
                "object": "chat.completion",
                "model": "gpt-4o",
                "usage": {
                    "prompt_tokens": 100,
                    "completion_tokens": 10,
                    "total_tokens": 110,
                    "prompt_tokens_details": {"cached_tokens": 150},
                    "completion_tokens_details": {"reasoning_tokens": 20},
                },
            },
        ],
    )
    assert acc.parsed == 2
    assert rows[0]["flags"] == ["total_mismatch"]
    assert rows[1]["flags"] == ["input_parts_mismatch", "reasoning_exceeds_output"]
    assert rows[1]["input_uncached_tokens"] is None  # 100 - 150 is not a count


def test_gemini_openai_compat_thoughts_are_derived_from_the_total(tmp_path) -> None:
    rows, _ = read_records(
        tmp_path,
        [
            {
                "id": "g",
                "object": "chat.completion",
                "model": "gemini-2.5-flash",
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 170},
            },
        ],
    )
    assert (rows[0]["output_tokens"], rows[0]["reasoning_tokens"]) == (70, 50)
    assert rows[0]["flags"] == ["gemini_compat_thoughts_derived"]
