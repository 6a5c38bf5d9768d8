"""Anthropic Messages, streams, batch results and Claude Code transcripts (formats.md 1.4, 1.5, 5.4):
input_tokens is the uncached part, so the canonical input adds cache reads and writes to it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.usage_helpers import EXAMPLES, expect_tokens, read, read_records, tokens


def test_messages_add_cache_outside_the_input_and_keep_the_wrapper_metadata() -> None:
    rows, acc = read(EXAMPLES / "anthropic_requests.jsonl", price=True)
    assert (acc.records, acc.parsed, acc.skipped, acc.unpriced) == (3, 3, 0, 0)
    sonnet, haiku, overloaded = rows
    assert tokens(sonnet) == expect_tokens(
        input_tokens=37 + 48210 + 1600,
        input_uncached_tokens=37,
        cache_read_tokens=48210,
        cache_write_tokens=1600,
        cache_write_5m_tokens=1600,
        cache_write_1h_tokens=0,
        output_tokens=903,
    )
    assert sonnet["ts_start"] == dt.datetime(2026, 11, 16, 9, 14, 2, 118000, tzinfo=dt.UTC)
    assert sonnet["ts_end"] - sonnet["ts_start"] == dt.timedelta(milliseconds=8280)
    assert sonnet["ts_first_token"] - sonnet["ts_start"] == dt.timedelta(milliseconds=890)
    assert (sonnet["project"], sonnet["api_key_id"], sonnet["user"]) == ("support", "apikey_01Xa", "u_42")
    assert dict(sonnet["tags"]) == {"feature": "summarize", "env": "prod"}
    assert (sonnet["request_id"], sonnet["response_id"], sonnet["http_status"]) == ("req_011CV7h2", "msg_01Hq7Zb", 200)
    # Sonnet 4.5: 3 input, 0.30 cache read, 3.75 5-minute write, 15 output per 1M.
    assert sonnet["cost"] == Decimal("0.034119")  # (37x3 + 48210x0.3 + 1600x3.75 + 903x15) / 1M
    # The 1-hour write is its own part of the writes.
    assert (haiku["cache_write_tokens"], haiku["cache_write_1h_tokens"], haiku["input_tokens"]) == (2048, 2048, 2460)
    assert (overloaded["status"], overloaded["http_status"], overloaded["error_type"]) == (
        "error",
        529,
        "overloaded_error",
    )
    assert overloaded["model"] == "claude-haiku-4-5" and tokens(overloaded) == expect_tokens()


def test_stream_events_combine_message_start_and_cumulative_delta() -> None:
    rows, acc = read(EXAMPLES / "anthropic_stream.sse")
    # 7 events: message_start and message_delta give rows (the same message twice: one collapses);
    # content_block_*, ping and message_stop carry no usage.
    assert (acc.records, acc.parsed, acc.skipped, acc.duplicates) == (7, 2, 5, 1)
    (row,) = rows
    assert row["source_format"] == "anthropic.stream" and row["status"] == "success"
    assert tokens(row) == expect_tokens(
        input_tokens=25 + 12480,
        input_uncached_tokens=25,
        cache_read_tokens=12480,
        cache_write_tokens=0,
        output_tokens=58,
    )
    assert row["flags"] == ["dedup_collapsed"]


def test_a_stream_cut_after_message_start_keeps_the_input(tmp_path) -> None:
    start = {
        "type": "message_start",
        "message": {"id": "msg_cut", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 10, "output_tokens": 1}},
    }
    rows, _ = read_records(tmp_path, [start])
    assert rows[0]["status"] == "cut" and rows[0]["input_tokens"] == 10
    rows, acc = read_records(tmp_path, [{"type": "message_delta", "delta": {}, "usage": {"output_tokens": 5}}])
    assert acc.reasons["orphan_stream_event"].count == 1 and rows == []


def test_wrapped_event_list_reduces_to_the_final_usage(tmp_path) -> None:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_w",
                "model": "claude-sonnet-4-5-20250929",
                "usage": {"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 1},
            },
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 40}},
    ]
    rows, acc = read_records(tmp_path, [{"timestamp": 1794787200, "user": "u1", "response": events}])
    assert acc.duplicates == 0
    assert tokens(rows[0]) == expect_tokens(
        input_tokens=105, input_uncached_tokens=5, cache_read_tokens=100, output_tokens=40
    )
    assert rows[0]["user"] == "u1" and rows[0]["status"] == "success"


def test_batch_results_are_batch_rows_and_expired_requests_stay_visible() -> None:
    rows, _acc = read(EXAMPLES / "anthropic_batch_results.jsonl")
    ok, expired = rows
    assert (ok["is_batch"], ok["service_tier"], ok["status"]) == (True, "batch", "success")
    assert tokens(ok) == expect_tokens(
        input_tokens=412, input_uncached_tokens=412, cache_read_tokens=0, cache_write_tokens=0, output_tokens=6
    )
    assert dict(ok["tags"]) == {"custom_id": "ticket-42"}
    assert (expired["status"], expired["input_tokens"]) == ("expired", None)


def test_claude_code_collapses_content_block_lines_of_one_response() -> None:
    rows, acc = read(EXAMPLES / "claude_code_session.jsonl", price=True)
    # 6 lines: 2 user lines and a summary have no usage; one response is written twice.
    assert (acc.records, acc.parsed, acc.skipped, acc.duplicates) == (6, 3, 3, 1)
    first, second = rows
    assert first["source_line"] == 3  # the last copy wins
    assert (first["response_id"], first["request_id"]) == ("msg_01Jk", "req_011CUx9")
    assert tokens(first) == expect_tokens(
        input_tokens=4 + 35120 + 812,
        input_uncached_tokens=4,
        cache_read_tokens=35120,
        cache_write_tokens=812,
        cache_write_5m_tokens=812,
        cache_write_1h_tokens=0,
        output_tokens=267,
    )
    assert first["project"] == "/home/dev/ledger"
    assert dict(first["tags"])["session_id"] == "3f2c9a1e-6b7d-4e21-9c0a-11d2e3f4a5b6"
    assert first["cost"] == Decimal("0.017598")  # (4x3 + 35120x0.3 + 812x3.75 + 267x15) / 1M
    assert second["cost"] == Decimal("0.0115101")  # (6x3 + 35932x0.3 + 154x3.75 + 9x15) / 1M


def test_claude_code_synthetic_messages_are_not_api_calls(tmp_path) -> None:
    line = {
        "type": "assistant",
        "sessionId": "s",
        "requestId": "r",
        "message": {"id": "m", "model": "<synthetic>", "usage": {"input_tokens": 0, "output_tokens": 0}},
    }
    rows, acc = read_records(tmp_path, [line])
    assert rows == [] and acc.reasons["synthetic"].count == 1
