"""OpenTelemetry spans, LiteLLM SpendLogs (JSON and CSV), Langfuse, Helicone, OpenRouter and generic logs
with a column mapping (formats.md 4.1, 5.1-5.5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.usage_helpers import EXAMPLES, expect_tokens, read, read_records, tokens
from tokctl.errors import InputFormatError, UsageError


def test_otlp_spans_skip_agent_and_tool_spans() -> None:
    rows, acc = read(EXAMPLES / "otel_spans.json")
    # 4 spans: the invoke_agent span repeats its children's usage, the tool span has none.
    assert (acc.records, acc.parsed, acc.reasons["aggregate_span"].count, acc.reasons["no_usage"].count) == (4, 2, 1, 1)
    first = rows[0]
    assert (first["provider"], first["model"], first["response_id"]) == ("openai", "gpt-4o-mini", "chatcmpl-Ot81kQ2")
    assert tokens(first) == expect_tokens(
        input_tokens=2150, input_uncached_tokens=230, cache_read_tokens=1920, output_tokens=412
    )
    assert first["ts_start"] == dt.datetime(2026, 11, 16, 14, 0, 0, 100000, tzinfo=dt.UTC)
    assert first["ts_end"] - first["ts_start"] == dt.timedelta(milliseconds=1240)
    assert dict(first["tags"])["service.name"] == "invoice-bot"


def test_otel_exclusive_input_is_recognised(tmp_path) -> None:
    span = {
        "traceId": "t",
        "spanId": "s",
        "attributes": {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.response.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 37,
            "gen_ai.usage.cache_read.input_tokens": 48210,
            "gen_ai.usage.output_tokens": 903,
        },
    }
    rows, _ = read_records(tmp_path, [span])
    assert (rows[0]["input_tokens"], rows[0]["input_uncached_tokens"]) == (48247, 37)
    assert rows[0]["flags"] == ["otel_input_exclusive"]


@pytest.mark.parametrize("name", ["litellm_spendlogs.jsonl", "litellm_spendlogs.csv"])
def test_litellm_spend_logs_json_and_csv_agree(name: str) -> None:
    rows, _acc = read(EXAMPLES / name)
    ok, limited = rows[:2]
    assert ok["source_format"] == "litellm.spendlogs"
    assert tokens(ok) == expect_tokens(
        input_tokens=2150,
        input_uncached_tokens=230,
        cache_read_tokens=1920,
        output_tokens=412,
        total_tokens_reported=2562,
    )
    assert (ok["provider"], ok["model"], ok["api_key_id"], ok["project"], ok["user"]) == (
        "openai",
        "gpt-4o",
        "fin-backend",
        "team-fin",
        "cust-9",
    )
    assert dict(ok["tags"]) == {"invoice": "true", "env": "prod"}
    assert (ok["cost_reported"], ok["cost_reported_currency"]) == (Decimal("0.007095"), "USD")
    assert ok["ts_first_token"] - ok["ts_start"] == dt.timedelta(milliseconds=570)
    assert (limited["status"], limited["http_status"], limited["error_type"]) == ("rate_limited", 429, "RateLimitError")


def test_litellm_anthropic_upstream_prompt_includes_cache() -> None:
    rows, _ = read(EXAMPLES / "litellm_spendlogs.jsonl", price=True)
    claude = rows[2]
    assert tokens(claude) == expect_tokens(
        input_tokens=49847,
        input_uncached_tokens=37,
        cache_read_tokens=48210,
        cache_write_tokens=1600,
        output_tokens=903,
        total_tokens_reported=50750,
    )
    assert claude["cost"] == Decimal("0.034119")


def test_langfuse_observations_sum_disjoint_usage_keys() -> None:
    rows, acc = read(EXAMPLES / "langfuse_observations.json")
    assert (acc.records, acc.parsed, acc.skipped) == (3, 2, 1)  # the SPAN has no usage
    claude, mini = rows
    assert tokens(claude) == expect_tokens(
        input_tokens=49847,
        input_uncached_tokens=37,
        cache_read_tokens=48210,
        cache_write_tokens=1600,
        output_tokens=903,
        total_tokens_reported=50750,
    )
    assert claude["flags"] == [] and claude["cost_reported"] == Decimal("0.034119")
    assert dict(claude["tags"])["trace_id"] == "tr_88a" and claude["source_line"] == 1
    assert mini["source_line"] == 3 and mini["project"] == "lf-support"


def test_helicone_total_tells_whether_the_prompt_holds_the_cache() -> None:
    rows, _ = read(EXAMPLES / "helicone_requests.jsonl")
    anthropic, openai = rows
    # 37 + 48210 + 1600 + 903 = 50750: the prompt was the uncached part.
    assert (anthropic["input_tokens"], anthropic["input_uncached_tokens"]) == (49847, 37)
    # 2150 + 412 = 2562: the prompt included the 1920 cached tokens.
    assert (openai["input_tokens"], openai["input_uncached_tokens"]) == (2150, 230)
    assert anthropic["ts_first_token"] - anthropic["ts_start"] == dt.timedelta(milliseconds=890)
    assert dict(anthropic["tags"]) == {"feature": "summarize"}


def test_openrouter_generation_is_billed_by_openrouter() -> None:
    (row,), acc = read(EXAMPLES / "openrouter_generations.jsonl", price=True)
    assert (row["provider"], row["model"], row["model_reported"]) == (
        "openrouter",
        "claude-sonnet-4-5",
        "anthropic/claude-sonnet-4.5",
    )
    assert tokens(row) == expect_tokens(
        input_tokens=612, input_uncached_tokens=100, cache_read_tokens=512, output_tokens=44, reasoning_tokens=0
    )
    assert (row["cost_reported"], row["request_id"]) == (Decimal("0.00214"), "chatcmpl-791bcf62")
    assert row["cost"] is None and acc.unpriced == 1  # no OpenRouter price file: unpriced, never 0


def test_generic_csv_with_a_mapping() -> None:
    rows, _ = read(EXAMPLES / "gateway_usage.csv", mapping=EXAMPLES / "gateway_usage.mapping.toml", price=True)
    first, second = rows
    assert (first["source_format"], first["provider"], first["model"], first["project"]) == (
        "acme.gateway",
        "openai",
        "gpt-4o-mini",
        "growth",
    )
    assert tokens(second) == expect_tokens(
        input_tokens=3400, input_uncached_tokens=1352, cache_read_tokens=2048, output_tokens=510
    )
    assert second["cost"] == Decimal("0.01104")  # gpt-4o: (1352x2.5 + 2048x1.25 + 510x10) / 1M
    assert second["cost_reported"] == Decimal("0.00967")


def test_a_mapping_beside_the_log_applies_to_that_file_only(tmp_path) -> None:
    rows, acc = read(EXAMPLES / "gateway_usage.csv")  # gateway_usage.mapping.toml sits beside it
    assert [r["source_format"] for r in rows] == ["acme.gateway", "acme.gateway"] and acc.skipped == 0
    (tmp_path / "other.csv").write_bytes((EXAMPLES / "gateway_usage.csv").read_bytes())
    rows, acc = read(tmp_path / "other.csv")
    assert rows == [] and acc.reasons["unknown_shape"].count == 2


def test_generic_mapping_errors_say_how_to_fix(tmp_path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\ncost = "x"\n')
    with pytest.raises(InputFormatError, match="cannot map column cost"):
        read(EXAMPLES / "gateway_usage.csv", mapping=mapping)
    with pytest.raises(UsageError, match="needs a column mapping"):
        read(EXAMPLES / "gateway_usage.csv", source="generic")


def test_generic_jsonl_with_dotted_paths_and_exclusive_input(tmp_path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'input_includes_cache = false\n[columns]\nmodel_reported = "m"\n'
        'input_tokens = "u.in"\ncache_read_tokens = "u.cached"\noutput_tokens = "u.out"\n'
        '[tags]\nteam = "meta.team"\n'
    )
    rows, _ = read_records(
        tmp_path, [{"m": "gpt-4o", "u": {"in": 10, "cached": 90, "out": 3}, "meta": {"team": "a"}}], mapping=mapping
    )
    assert tokens(rows[0]) == expect_tokens(
        input_tokens=100, input_uncached_tokens=10, cache_read_tokens=90, output_tokens=3
    )
    assert dict(rows[0]["tags"]) == {"team": "a"}
