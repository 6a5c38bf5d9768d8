"""Gemini usageMetadata and the OpenAI-shaped vendors (DeepSeek, DashScope, Zhipu, Moonshot, Ark, Mistral),
with prices worked by hand from the registry: DeepSeek CN peak and off-peak, Gemini thinking as output."""

from __future__ import annotations

from decimal import Decimal

from tests.usage_helpers import EXAMPLES, expect_tokens, read, read_records, tokens


def test_gemini_thoughts_sit_outside_candidates_and_are_priced_as_output() -> None:
    rows, acc = read(EXAMPLES / "gemini_responses.jsonl", price=True)
    flash, pro = rows
    # prompt 5210 (4096 cached) + candidates 640 + thoughts 1300 = total 7150.
    assert tokens(flash) == expect_tokens(
        input_tokens=5210,
        input_uncached_tokens=1114,
        cache_read_tokens=4096,
        output_tokens=640 + 1300,
        reasoning_tokens=1300,
        total_tokens_reported=7150,
    )
    assert flash["flags"] == [] and flash["model_reported"] == "gemini-2.5-flash"
    # Gemini 2.5 Flash: 0.30 input, 0.03 cached, 2.50 output (thinking included) per 1M tokens.
    assert flash["cost"] == Decimal("0.00530708")  # (1114x0.30 + 4096x0.03 + 1940x2.50) / 1M
    # Tool results fed back (toolUsePromptTokenCount) are input outside promptTokenCount.
    assert tokens(pro) == expect_tokens(
        input_tokens=980 + 310,
        input_uncached_tokens=1290,
        output_tokens=12 + 220,
        reasoning_tokens=220,
        total_tokens_reported=1522,
    )
    assert pro["cost"] == Decimal("0.0039325")  # 2.5 Pro <=200K: (1290x1.25 + 232x10) / 1M
    assert acc.unpriced == 0


def test_gemini_stream_chunks_collapse_to_the_last_cumulative_usage(tmp_path) -> None:
    chunk = {"responseId": "r1", "modelVersion": "gemini-2.5-flash", "candidates": []}
    rows, acc = read_records(
        tmp_path,
        [
            {**chunk, "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 5, "totalTokenCount": 105}},
            {**chunk, "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 50, "totalTokenCount": 150}},
        ],
    )
    assert acc.duplicates == 1 and rows[0]["output_tokens"] == 50


def test_deepseek_peak_and_off_peak_in_beijing_time() -> None:
    rows, _ = read(EXAMPLES / "deepseek_requests.jsonl", price=True)
    peak, evening, saturday = rows
    for row in rows:
        assert (row["provider"], row["model"], row["source_format"]) == (
            "deepseek-cn",
            "deepseek-v4-pro",
            "deepseek.chat",
        )
        # hit 1536 + miss 294 = prompt 1830; the miss is the uncached part.
        assert tokens(row) == expect_tokens(
            input_tokens=1830,
            input_uncached_tokens=294,
            cache_read_tokens=1536,
            output_tokens=256,
            total_tokens_reported=2086,
        )
        assert row["currency"] == "CNY"
    # Tuesday 10:30 Beijing is peak: 9 miss, 0.3 hit, 27 output CNY per 1M.
    assert peak["cost"] == Decimal("0.0100188")  # (294x9 + 1536x0.3 + 256x27) / 1M
    assert "#peak" in peak["price_ref"]
    # Tuesday 20:00 and Saturday 10:30 Beijing are off-peak: 4.5 / 0.15 / 13.5.
    assert evening["cost"] == saturday["cost"] == Decimal("0.0050094")


def test_deepseek_hit_and_miss_decide_over_cached_tokens(tmp_path) -> None:
    rows, _ = read_records(
        tmp_path,
        [
            {
                "id": "d",
                "object": "chat.completion",
                "model": "deepseek-chat",
                "usage": {
                    "prompt_tokens": 100,
                    "completion_tokens": 1,
                    "total_tokens": 101,
                    "prompt_cache_hit_tokens": 64,
                    "prompt_cache_miss_tokens": 30,
                },
            },
        ],
    )
    # 64 + 30 != 100: the vendor's own parts disagree with its total, flagged not fixed.
    assert (rows[0]["cache_read_tokens"], rows[0]["input_uncached_tokens"]) == (64, 30)
    assert rows[0]["flags"] == ["input_parts_mismatch"]


def test_dashscope_native_and_compatible_mode() -> None:
    rows, _ = read(EXAMPLES / "dashscope_requests.jsonl")
    native, compat = rows
    assert (native["source_format"], native["provider"], native["model"]) == (
        "dashscope.native",
        "alibaba-cn",
        "qwen-plus",
    )
    assert native["request_id"] == "5e1b7c2a-9f0e-9d11-a3b2-6a4f0c1d2e33"
    assert tokens(native) == expect_tokens(
        input_tokens=3019,
        input_uncached_tokens=971,
        cache_read_tokens=2048,
        output_tokens=104,
        total_tokens_reported=3123,
    )
    assert compat["source_format"] == "dashscope.compat"
    assert tokens(compat) == expect_tokens(
        input_tokens=29719,
        input_uncached_tokens=6,
        cache_read_tokens=0,
        cache_write_tokens=29713,
        cache_write_5m_tokens=29713,
        output_tokens=435,
        reasoning_tokens=382,
        total_tokens_reported=30154,
    )


def test_zhipu_moonshot_ark_mistral() -> None:
    (zhipu,), _ = read(EXAMPLES / "zhipu_responses.jsonl")
    assert (zhipu["source_format"], zhipu["provider"], zhipu["request_id"]) == ("zhipu.chat", "zhipu", "req-glm-0081")
    assert (zhipu["input_uncached_tokens"], zhipu["cache_read_tokens"]) == (226, 1024)
    (kimi,), acc = read(EXAMPLES / "moonshot_stream.jsonl")
    assert acc.skipped == 1 and kimi["source_format"] == "moonshot.chat"
    assert tokens(kimi) == expect_tokens(
        input_tokens=2989,
        input_uncached_tokens=173,
        cache_read_tokens=2816,
        output_tokens=120,
        total_tokens_reported=3109,
    )
    (ark,), _ = read(EXAMPLES / "ark_requests.jsonl")
    assert (ark["provider"], ark["model"], ark["reasoning_tokens"]) == ("volcengine", "doubao-seed-2.0-pro", 1190)
    (mistral,), _ = read(EXAMPLES / "mistral_responses.jsonl")
    assert (mistral["source_format"], mistral["cache_read_tokens"], mistral["input_uncached_tokens"]) == (
        "mistral.chat",
        768,
        33,
    )


def test_source_option_names_the_vendor_of_a_plain_chat_shape(tmp_path) -> None:
    record = {
        "id": "x1",
        "object": "chat.completion",
        "model": "doubao-seed-2.0-pro",
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }
    rows, _ = read_records(tmp_path, [record], source="ark")
    assert (rows[0]["source_format"], rows[0]["provider"]) == ("ark.chat", "volcengine")
    rows, acc = read_records(tmp_path, [record], source="anthropic")
    assert rows == [] and acc.reasons["unknown_shape"].count == 1
