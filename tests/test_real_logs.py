"""Records written by others (tests/data/real/, sources in SOURCES.md) read through the CLI and the Python
API, every expected field compared; and one test per failure class of issue 13, each failing before its fix.

expected.jsonl holds one row per usage row in file order; every value in it was checked by hand against the
source record (the arithmetic is in SOURCES.md).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import tokctl
from tokctl.cli import app

REAL_DIR = Path(__file__).resolve().parent / "data" / "real"
REAL = REAL_DIR / "logs"
EXPECTED = [json.loads(line) for line in (REAL_DIR / "expected.jsonl").read_text(encoding="utf-8").splitlines()]


def _rows(table: Any) -> list[dict[str, Any]]:
    fields = list(EXPECTED[0])
    rows = []
    for row in table.select(fields).to_pylist():
        row["source_file"] = Path(row["source_file"]).name
        if row["cost_reported"] is not None:
            row["cost_reported"] = str(row["cost_reported"].normalize())
        rows.append(row)
    return sorted(rows, key=lambda r: (r["source_file"], r["source_line"]))


def test_python_api_reads_every_real_record_as_expected() -> None:
    result = tokctl.read_usage_with_accounting([str(REAL)])
    assert _rows(result.table) == sorted(EXPECTED, key=lambda r: (r["source_file"], r["source_line"]))
    acc = result.accounting.to_dict()
    assert acc["records"] == acc["parsed"] + acc["skipped"]
    assert set(acc["skipped_by_reason"]) == {"no_usage"}


def test_cli_export_reads_every_real_record_as_expected(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "real.parquet"
    result = CliRunner().invoke(app, ["usage", "export", str(REAL), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _rows(pq.read_table(out)) == sorted(EXPECTED, key=lambda r: (r["source_file"], r["source_line"]))


def test_cli_report_totals_match_the_expected_rows() -> None:
    result = CliRunner().invoke(app, ["usage", "report", str(REAL), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert sum(row["requests"] for row in document["rows"]) == len(EXPECTED)
    assert sum(row["input_tokens"] or 0 for row in document["rows"]) == sum(r["input_tokens"] or 0 for r in EXPECTED)
    assert sum(row["output_tokens"] or 0 for row in document["rows"]) == sum(r["output_tokens"] or 0 for r in EXPECTED)


def read(tmp_path: Path, *records: Any, name: str = "log.jsonl") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = tokctl.read_usage_with_accounting([str(path)])
    return result.table.to_pylist(), result.accounting.to_dict()


# ---------------------------------------------------------------------------------------------- 1. LiteLLM

SPEND_ROW = {
    "request_id": "chatcmpl-7f2a",
    "call_type": "acompletion",
    "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
    "spend": 0.007095,
    "total_tokens": 2562,
    "prompt_tokens": 2150,
    "completion_tokens": 412,
    "startTime": "2026-01-14T10:02:11.120Z",
    "endTime": "2026-01-14T10:02:13.004Z",
    "model": "gpt-4o-2024-08-06",
    "custom_llm_provider": "openai",
    "api_base": "https://api.openai.com/v1",
    "user": "u_42",
    "status": "success",
    "messages": "{}",
    "response": "{}",
    "proxy_server_request": "{}",
}


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"response": {}},
        {"metadata": json.dumps({"usage_object": {"prompt_tokens": 2150, "completion_tokens": 412}})},
    ],
    ids=["response-as-text", "response-as-object", "metadata-as-text"],
)
def test_litellm_spend_rows_as_stored_are_spend_rows_not_wrappers(tmp_path: Path, stored: dict[str, Any]) -> None:
    rows, acc = read(tmp_path, {**SPEND_ROW, **stored})
    assert acc["skipped"] == 0
    (row,) = rows
    assert row["source_format"] == "litellm.spendlogs"
    assert (row["input_tokens"], row["output_tokens"]) == (2150, 412)
    assert row["cost_reported"] == Decimal("0.007095") and row["cost_reported_currency"] == "USD"
    assert row["provider"] == "openai" and row["platform_signal"] == "record"


def test_litellm_csv_export_with_the_response_column(tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    header = [
        "request_id",
        "call_type",
        "spend",
        "prompt_tokens",
        "completion_tokens",
        "startTime",
        "model",
        "response",
    ]
    path.write_text(
        ",".join(header) + "\nchatcmpl-1,acompletion,0.5,10,5,2026-01-14T10:02:11Z,gpt-4o-2024-08-06,{}\n",
        encoding="utf-8",
    )
    (row,) = tokctl.read_usage([str(path)]).to_pylist()
    assert row["source_format"] == "litellm.spendlogs" and row["input_tokens"] == 10


def test_litellm_stored_rows_fall_back_from_the_fast_path_with_equal_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [{**SPEND_ROW, "request_id": f"r{i}", "prompt_tokens": 100 + i} for i in range(50)]
    path = tmp_path / "spend.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    fast = tokctl.read_usage([str(path)])
    monkeypatch.setenv("TOKCTL_ROW_READER", "1")
    slow = tokctl.read_usage([str(path)])
    assert fast.to_pylist() == slow.to_pylist()
    assert {r["source_format"] for r in fast.to_pylist()} == {"litellm.spendlogs"}


# ---------------------------------------------------------------------------------------- 2. usage rules


def test_xai_reasoning_is_outside_completion_tokens(tmp_path: Path) -> None:
    # The shape of docs.x.ai's usage object with reasoning: total = prompt + completion + reasoning.
    usage = {
        "prompt_tokens": 32,
        "completion_tokens": 2,
        "total_tokens": 159,
        "completion_tokens_details": {"reasoning_tokens": 125},
        "num_sources_used": 0,
        "cost_in_usd_ticks": 37756000,
    }
    (row,), _ = read(tmp_path, {"object": "chat.completion", "model": "grok-3-mini", "usage": usage})
    assert (row["output_tokens"], row["reasoning_tokens"]) == (127, 125)
    assert "reasoning_outside_completion" in row["flags"]
    assert row["cost_reported"] == Decimal("0.0037756") and row["provider"] == "xai"


def test_gemini_stream_without_response_id_counts_the_last_cumulative_chunk(tmp_path: Path) -> None:
    chunks = [
        {"candidates": [{"content": {}}], "usageMetadata": {"promptTokenCount": 700, "candidatesTokenCount": n}}
        for n in (5, 20, 40, 60, 80, 100)
    ]
    chunks.append(
        {
            "candidates": [{"finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 700, "candidatesTokenCount": 120, "totalTokenCount": 820},
            "modelVersion": None,
        }
    )
    for chunk in chunks:
        chunk["modelVersion"] = "gemini-2.5-flash"
    rows, acc = read(tmp_path, *chunks)
    assert len(rows) == 1 and acc["duplicates"] == 6
    assert (rows[0]["input_tokens"], rows[0]["output_tokens"]) == (700, 120)


def test_groq_stream_usage_in_x_groq(tmp_path: Path) -> None:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "llama-3.1-8b-instant",
        "choices": [],
        "x_groq": {"id": "req_1", "usage": {"prompt_tokens": 40, "completion_tokens": 25, "total_tokens": 65}},
    }
    (row,), _ = read(tmp_path, chunk)
    assert (row["input_tokens"], row["output_tokens"], row["provider"]) == (40, 25, "groq")


# ------------------------------------------------------------------------------------------ 4. attribution


@pytest.mark.parametrize(
    ("record", "provider", "signal", "model"),
    [
        (
            {
                "id": "msg_bdrk_01QjKY4iZgTq69BYEKRD112G",
                "type": "message",
                "model": "claude-opus-4-20250514",
                "usage": {
                    "input_tokens": 10,
                    "cache_creation_input_tokens": 5,
                    "cache_read_input_tokens": 3,
                    "output_tokens": 18,
                },
            },
            "bedrock",
            "id_prefix",
            "claude-opus-4",
        ),
        (
            {
                "id": "msg_vrtx_01",
                "type": "message",
                "model": "claude-sonnet-4-5@20250929",
                "usage": {"input_tokens": 1, "output_tokens": 2},
            },
            "vertex",
            "id_prefix",
            "claude-sonnet-4-5",
        ),
        (
            {
                "id": "x1",
                "type": "message",
                "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "usage": {"input_tokens": 1, "output_tokens": 2},
            },
            "bedrock",
            "model_id",
            "claude-sonnet-4-5",
        ),
        (
            {
                "timestamp": "2026-01-14T10:02:11Z",
                "base_url": "https://api.z.ai/api/paas/v4",
                "response": {
                    "id": "c1",
                    "object": "chat.completion",
                    "model": "glm-4.6",
                    "usage": {"prompt_tokens": 10, "completion_tokens": 2},
                },
            },
            "zai",
            "record",
            None,
        ),
    ],
    ids=["msg_bdrk_", "msg_vrtx_", "bedrock-profile-id", "api.z.ai"],
)
def test_platform_from_every_signal(tmp_path: Path, record: Any, provider: str, signal: str, model: Any) -> None:
    (row,), _ = read(tmp_path, record)
    assert (row["provider"], row["platform_signal"]) == (provider, signal)
    if model is not None:
        assert row["model"] == model


# ------------------------------------------------------------------------------------------- 3. costs


def test_server_tool_charges_are_kept(tmp_path: Path) -> None:
    message = {
        "id": "msg_01Hq7",
        "type": "message",
        "model": "claude-sonnet-4-5-20250929",
        "usage": {"input_tokens": 37, "output_tokens": 903, "server_tool_use": {"web_search_requests": 2}},
    }
    (row,), _ = read(tmp_path, message)
    assert row["web_search_requests"] == 2


# ------------------------------------------------------------------------------------------- 7. Claude Code


def test_claude_code_same_message_under_a_new_request_id_counts_once(tmp_path: Path) -> None:
    line = {
        "parentUuid": "a1",
        "sessionId": "s1",
        "type": "assistant",
        "timestamp": "2026-01-15T09:12:44.318Z",
        "requestId": "req_1",
        "message": {
            "id": "msg_01Jk",
            "model": "claude-sonnet-4-5-20250929",
            "usage": {"input_tokens": 4, "output_tokens": 267},
        },
    }
    rows, acc = read(tmp_path, line, {**line, "requestId": "req_2", "isSidechain": True})
    assert len(rows) == 1 and acc["duplicates"] == 1


def test_claude_code_bookkeeping_lines_are_no_usage(tmp_path: Path) -> None:
    snapshot = {"type": "file-history-snapshot", "messageId": "m1", "snapshot": {}, "isSnapshotUpdate": False}
    typeless = {
        "timestamp": "2026-03-26T22:00:00Z",
        "message": {
            "id": "msg_bdrk_abc",
            "model": "claude-opus-4-6",
            "usage": {"input_tokens": 3, "output_tokens": 10},
        },
    }
    rows, acc = read(tmp_path, snapshot, typeless)
    assert acc["skipped_by_reason"]["no_usage"]["count"] == 1 and "unknown_shape" not in acc["skipped_by_reason"]
    assert rows[0]["provider"] == "bedrock"


def test_claude_code_fast_mode_is_flagged(tmp_path: Path) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "model": "claude-opus-4-6",
        "usage": {"input_tokens": 1, "output_tokens": 2, "speed": "fast"},
    }
    (row,), _ = read(tmp_path, message)
    assert "speed_fast" in row["flags"]


# ----------------------------------------------------------------------------------------------- 5. Codex


def test_codex_re_emitted_token_count_counts_once(tmp_path: Path) -> None:
    event = {
        "timestamp": "2026-04-16T16:02:10.000Z",
        "type": "event_msg",
        "payload": {
            "type": "token_count",
            "info": {
                "total_token_usage": {
                    "input_tokens": 1000,
                    "cached_input_tokens": 0,
                    "output_tokens": 50,
                    "reasoning_output_tokens": 20,
                    "total_tokens": 1050,
                },
                "last_token_usage": {
                    "input_tokens": 1000,
                    "cached_input_tokens": 0,
                    "output_tokens": 50,
                    "reasoning_output_tokens": 20,
                    "total_tokens": 1050,
                },
            },
        },
    }
    rows, acc = read(tmp_path, event, event)
    assert len(rows) == 1 and rows[0]["output_tokens"] == 50 and acc["skipped_by_reason"]["no_usage"]["count"] == 1


# ------------------------------------------------------------------------------------ 6. vanishing requests

CHUNKS = [
    {
        "id": "chatcmpl-CQ2s8vQ3",
        "object": "chat.completion.chunk",
        "created": 1794826800,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": "Your invoice"}, "finish_reason": None}],
    },
    {
        "id": "chatcmpl-CQ2s8vQ3",
        "object": "chat.completion.chunk",
        "created": 1794826800,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    },
]


def test_stream_without_include_usage_is_a_request_with_null_counts(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, *CHUNKS)
    (row,) = rows
    assert row["status"] == "success" and row["input_tokens"] is None and row["output_tokens"] is None
    assert "usage_not_streamed" in row["flags"] and row["model"] == "gpt-4o-mini"
    wrapped, _ = read(tmp_path, {"timestamp": "2026-11-16T09:14:02Z", "response": CHUNKS}, name="wrapped.jsonl")
    assert wrapped[0]["status"] == "success" and "usage_not_streamed" in wrapped[0]["flags"]


# ----------------------------------------------------------------------------------------------- OTel logs


def _kv(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": {"intValue": str(value)} if type(value) is int else {"stringValue": value}}


def otlp_logs(*records: list[dict[str, Any]], service: str = "claude-code") -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [_kv("service.name", service)]},
                "scopeLogs": [
                    {"logRecords": [{"timeUnixNano": "1708185600000000000", "attributes": attrs} for attrs in records]}
                ],
            }
        ]
    }


def test_claude_code_otel_api_request_events_with_their_cost(tmp_path: Path) -> None:
    request = [
        _kv("event.name", "claude_code.api_request"),
        _kv("session.id", "abc-123-def"),
        _kv("event.sequence", 4),
        _kv("model", "claude-sonnet-4-5-20250929"),
        _kv("input_tokens", "12"),
        _kv("cache_read_tokens", "18116"),
        _kv("cache_creation_tokens", "1120"),
        _kv("output_tokens", "992"),
        _kv("cost_usd", "0.0245"),
        _kv("duration_ms", "8280"),
    ]
    tool = [_kv("event.name", "claude_code.tool_result"), _kv("tool_name", "Bash")]
    rows, acc = read(tmp_path, otlp_logs(request, tool))
    (row,) = rows
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (19248, 18116, 992)
    assert row["cost_reported"] == Decimal("0.0245") and row["provider"] == "anthropic"
    assert acc["skipped_by_reason"]["no_usage"]["count"] == 1


def test_codex_otel_response_completed_event(tmp_path: Path) -> None:
    event = [
        _kv("event.name", "codex.sse_event"),
        _kv("event.kind", "response.completed"),
        _kv("conversation.id", "conv-1"),
        _kv("model", "gpt-5.1"),
        _kv("input_token_count", 100),
        _kv("cached_token_count", 40),
        _kv("output_token_count", 10),
        _kv("reasoning_token_count", 5),
    ]
    (row,), _ = read(tmp_path, otlp_logs(event, service="codex_cli_rs"))
    assert (row["input_tokens"], row["input_uncached_tokens"], row["output_tokens"]) == (100, 60, 10)


def test_otel_span_cost_is_kept(tmp_path: Path) -> None:
    span = {
        "traceId": "t1",
        "spanId": "s1",
        "attributes": {
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 2,
            "gen_ai.usage.cost": 0.00013,
        },
    }
    (row,), _ = read(tmp_path, span)
    assert row["cost_reported"] == Decimal("0.00013") and row["cost_reported_currency"] == "USD"


# -------------------------------------------------------------------------------------------------- Langfuse


def test_langfuse_trace_export_with_nested_observations_and_legacy_fields(tmp_path: Path) -> None:
    trace = {
        "id": "trace-abc123",
        "name": "pipeline-run",
        "timestamp": "2026-05-25T10:00:00.000Z",
        "observations": [
            {"id": "span-1", "type": "SPAN", "name": "Supervisor agent", "startTime": "2026-06-06T03:00:01Z"},
            {
                "id": "obs-001",
                "type": "GENERATION",
                "model": "claude-sonnet-4-6",
                "usage": {"input": 100, "output": 50},
                "calculatedTotalCost": 0.0042,
            },
            {
                "id": "obs-002",
                "type": "GENERATION",
                "model": "gpt-4.1-mini",
                "startTime": "2025-12-10T10:05:00Z",
                "promptTokens": 500,
                "completionTokens": 150,
                "totalTokens": 650,
                "calculatedTotalCost": 0.002,
            },
        ],
    }
    rows, acc = read(tmp_path, trace)
    assert [(r["input_tokens"], r["output_tokens"], r["cost_reported"]) for r in rows] == [
        (100, 50, Decimal("0.0042")),
        (500, 150, Decimal("0.002")),
    ]
    assert dict(rows[0]["tags"])["trace_id"] == "trace-abc123"
    assert acc["skipped_by_reason"]["no_usage"]["count"] == 1


def test_a_file_pinned_to_a_platform_by_a_provider_only_mapping(tmp_path: Path) -> None:
    log = tmp_path / "aoai.jsonl"
    log.write_text(
        json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "gpt-4o-2024-08-06",
                "usage": {"prompt_tokens": 10, "completion_tokens": 2},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    before = tokctl.read_usage([str(log)]).to_pylist()[0]
    assert (before["provider"], before["platform_signal"]) == ("openai", "model")
    (tmp_path / "aoai.mapping.toml").write_text('provider = "azure"\n', encoding="utf-8")
    (row,) = tokctl.read_usage([str(log)]).to_pylist()
    assert (row["provider"], row["platform_signal"], row["model"]) == ("azure", "pin", "gpt-4o")
    assert row["source_format"] == "openai.chat" and row["input_tokens"] == 10
