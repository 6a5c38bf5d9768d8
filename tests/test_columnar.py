"""The columnar fast path reads exactly what the per-record readers read, or hands the block back.

Every test reads the same file twice, with the fast path off (``TOKCTL_ROW_READER=1``) and on, and compares
the canonical tables column by column and the accountings; a spy on :func:`columnar.read_block` proves which
path ran, so a fast path that silently never runs fails here too.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tokctl.ingest import columnar, pipeline
from tokctl.ingest.accounting import Accounting
from tokctl.ingest.pipeline import line_blocks
from tokctl.ingest.read import iter_batches

START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


class Spy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fast = 0
        self.fallback = 0
        real = columnar.read_block

        def spy(data: bytes, display: str, first_line: int, newlines: int | None = None) -> Any:
            result = real(data, display, first_line, newlines)
            if result is None:
                self.fallback += 1
            else:
                self.fast += 1
            return result

        monkeypatch.setattr(columnar, "read_block", spy)


def _read(path: Path, monkeypatch: pytest.MonkeyPatch, row_reader: bool, **kwargs: Any) -> tuple[Any, Accounting]:
    monkeypatch.setenv("TOKCTL_ROW_READER", "1" if row_reader else "0")
    acc = Accounting()
    batches = [batch for batch, _ in iter_batches([str(path)], accounting=acc, **kwargs)]
    table = pa.Table.from_batches(batches) if batches else None
    return table, acc


def _plain(table: Any) -> dict[str, list[Any]]:
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(pa.string())
        out[name] = column.to_pylist()
    return out


def both_ways(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[Spy, Any, Accounting]:
    slow, slow_acc = _read(path, monkeypatch, True, **kwargs)
    spy = Spy(monkeypatch)
    fast, fast_acc = _read(path, monkeypatch, False, **kwargs)
    assert fast_acc == slow_acc
    if slow is None:
        assert fast is None
        return spy, fast, fast_acc
    assert fast.schema == slow.schema
    a, b = _plain(slow), _plain(fast)
    for name in a:
        assert b[name] == a[name], f"column {name} differs"
    return spy, fast, fast_acc


def write(path: Path, records: list[Any]) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
    path.write_bytes(text.encode("utf-8", "surrogateescape"))  # a lone \udcff becomes the invalid byte 0xff
    return path


# ------------------------------------------------------------------------------------------- generators


def _maybe(rng: random.Random, value: Any, p: float = 0.8) -> Any:
    """The value, or no value in one of the ways logs write none (empty text only where text belongs)."""
    if rng.random() < p:
        return value
    return rng.choice([None, "", "absent"] if isinstance(value, str) else [None, "absent"])


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value != "absent":
        target[key] = value


def _iso(rng: random.Random, moment: dt.datetime) -> str:
    form = rng.randrange(5)
    if form == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if form == 1:
        return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
    if form == 2:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if form == 3:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(rng: random.Random) -> dt.datetime:
    return START + dt.timedelta(seconds=rng.random() * 20 * 86400, microseconds=rng.randrange(1000) * 1000)


def _count(rng: random.Random, top: int = 50_000) -> Any:
    return _maybe(rng, rng.randrange(top), 0.9) if rng.random() < 0.95 else rng.randrange(top)


def chat(rng: random.Random, i: int, deepseek: bool = False) -> dict[str, Any]:
    prompt, completion = rng.randrange(1, 90_000), rng.randrange(1, 4000)
    cached = rng.choice([0, prompt // 2, prompt, prompt + 5])  # the last one makes input_parts_mismatch
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    _put(usage, "total_tokens", rng.choice([prompt + completion, prompt + completion, prompt, "absent", None]))
    if rng.random() < 0.7:
        usage["prompt_tokens_details"] = rng.choice([{"cached_tokens": cached, "audio_tokens": 0}, None, {}])
    if rng.random() < 0.6:
        reasoning = rng.choice([0, completion // 2, completion + 1])
        usage["completion_tokens_details"] = rng.choice([{"reasoning_tokens": reasoning}, None])
    if deepseek:
        usage["prompt_cache_hit_tokens"] = cached
        usage["prompt_cache_miss_tokens"] = rng.choice([prompt - cached, prompt])
    record: dict[str, Any] = {"object": "chat.completion", "usage": usage, "choices": [{"index": 0}]}
    _put(record, "id", _maybe(rng, f"chatcmpl-{i}"))
    created = rng.choice([int(_moment(rng).timestamp()), int(_moment(rng).timestamp() * 1000)])
    _put(record, "created", _maybe(rng, created))
    models = ["gpt-4o-2024-08-06", "gpt-4.1-mini", "o4-mini", "no-such-model-9", "deepseek-v4-pro", "deepseek-chat"]
    _put(record, "model", _maybe(rng, rng.choice(models)))
    _put(record, "service_tier", _maybe(rng, rng.choice(["default", "scale", "flex", "priority", "Batch", "auto"])))
    _put(record, "system_fingerprint", _maybe(rng, "fp_1"))
    return record


def message(rng: random.Random, i: int) -> dict[str, Any]:
    usage: dict[str, Any] = {}
    for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens"):
        _put(usage, key, _count(rng))
    if rng.random() < 0.5:
        five, hour = rng.randrange(3000), rng.choice([0, 0, 1024])
        usage["cache_creation"] = rng.choice(
            [{"ephemeral_5m_input_tokens": five, "ephemeral_1h_input_tokens": hour}, None, {}]
        )
    if rng.random() < 0.3:
        usage["output_tokens_details"] = {"thinking_tokens": rng.randrange(5000)}
    _put(usage, "service_tier", _maybe(rng, rng.choice(["standard", "priority", "batch"])))
    record: dict[str, Any] = {"type": "message", "role": "assistant", "usage": usage}
    _put(record, "id", _maybe(rng, f"msg_{i:08d}"))
    _put(record, "model", _maybe(rng, rng.choice(["claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-x"])))
    record["content"] = [{"type": "text", "text": "ok"}]
    record["stop_reason"] = "end_turn"
    return record


def gemini(rng: random.Random, i: int) -> dict[str, Any]:
    usage: dict[str, Any] = {}
    for key in (
        "promptTokenCount",
        "candidatesTokenCount",
        "totalTokenCount",
        "cachedContentTokenCount",
        "thoughtsTokenCount",
        "toolUsePromptTokenCount",
    ):
        _put(usage, key, _count(rng))
    _put(usage, "trafficType", _maybe(rng, rng.choice(["ON_DEMAND", "ON_DEMAND_FLEX", "PROVISIONED_THROUGHPUT", "X"])))
    record: dict[str, Any] = {"usageMetadata": usage, "candidates": [{"finishReason": "STOP"}]}
    _put(record, "responseId", _maybe(rng, f"gem{i}"))
    _put(record, "modelVersion", _maybe(rng, rng.choice(["gemini-2.5-flash", "gemini-2.5-pro", "gemini-x"])))
    _put(record, "createTime", _maybe(rng, _iso(rng, _moment(rng))))
    return record


def wrapped(rng: random.Random, i: int, inner: dict[str, Any]) -> dict[str, Any]:
    log: dict[str, Any] = {}
    _put(log, "timestamp", _maybe(rng, _iso(rng, _moment(rng)), 0.9) or "absent")
    _put(log, "latency_ms", _maybe(rng, rng.choice([rng.randrange(100, 20000), rng.random() * 9000]), 0.9) or "absent")
    _put(log, "ttft_ms", rng.choice([rng.randrange(50, 900), 12.5, "absent"]))
    for key in ("project", "api_key_id", "user"):
        _put(log, key, _maybe(rng, rng.choice([f"{key}-{i % 7}", "shared"])))
    if rng.random() < 0.7:
        tags = {"feature": rng.choice(["summary", "chat"])}
        if rng.random() < 0.5:
            tags["env"] = rng.choice(["prod", None])
        log["tags"] = tags
    _put(log, "provider", rng.choice(["anthropic", "deepseek-cn", "deepseek", "azure", "absent", None, ""]))
    _put(log, "base_url", rng.choice(["https://api.deepseek.com", "https://example.org/v1", "absent"]))
    _put(log, "request_id", _maybe(rng, f"req_{i}"))
    _put(log, "http_status", rng.choice([200, 200, 429, 500, 408, 504, "absent", None]))
    request: dict[str, Any] = {"max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    _put(request, "model", rng.choice(["claude-haiku-4-5", "deepseek-chat", "absent"]))
    _put(request, "service_tier", rng.choice(["flex", "absent"]))
    log["request"] = request
    log["response"] = inner
    if not (log.keys() - {"response"}):
        log["project"] = "p"
    return log


def litellm(rng: random.Random, i: int, with_usage_object: bool = True) -> dict[str, Any]:
    prompt, completion = rng.randrange(1, 90_000), rng.randrange(1, 4000)
    start = _moment(rng)
    log: dict[str, Any] = {"request_id": f"chatcmpl-l{i}", "call_type": "acompletion"}
    log["spend"] = rng.choice([round(prompt * 2.5e-6 + completion * 1e-5, 6), 0.1, 0, 1234.5678, 3])
    _put(log, "api_key", rng.choice(["88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b", "sk-live-x"]))
    log["prompt_tokens"] = prompt  # a spend log with neither count is skipped (and sends its block back)
    _put(log, "completion_tokens", _maybe(rng, completion, 0.9))
    _put(log, "total_tokens", rng.choice([prompt + completion, prompt, "absent"]))
    _put(log, "startTime", _iso(rng, start))
    _put(log, "endTime", _maybe(rng, _iso(rng, start + dt.timedelta(seconds=3))))
    _put(log, "completionStartTime", _maybe(rng, _iso(rng, start + dt.timedelta(seconds=1))))
    _put(log, "model", _maybe(rng, rng.choice(["gpt-4o-2024-08-06", "claude-haiku-4-5", "deepseek/deepseek-chat"])))
    _put(log, "model_group", _maybe(rng, rng.choice(["gpt-4o", "claude-haiku"])))
    _put(log, "custom_llm_provider", rng.choice(["openai", "anthropic", "deepseek", "", "absent", "bedrock"]))
    _put(log, "api_base", rng.choice(["https://api.openai.com/v1", "https://api.anthropic.com", "absent"]))
    for key in ("user", "end_user", "team_id"):
        _put(log, key, _maybe(rng, f"{key}-{i % 5}", 0.6))
    _put(log, "request_tags", rng.choice([["invoice", "env:prod"], [], ["a:b:c", " k : v ", "x", "x:1"], "absent"]))
    _put(log, "status", rng.choice(["success", "failure", "error", "", "absent"]))
    metadata: dict[str, Any] = {}
    _put(metadata, "user_api_key_alias", _maybe(rng, "fin-backend", 0.5))
    _put(metadata, "user_api_key_team_alias", _maybe(rng, "team-alias", 0.5))
    if with_usage_object:
        cached = rng.choice([0, prompt // 3, prompt + 1])
        usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
        if rng.random() < 0.5:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        if rng.random() < 0.3:
            usage["cache_read_input_tokens"] = cached
            usage["cache_creation_input_tokens"] = rng.choice([0, 2048])
        if rng.random() < 0.3:
            usage["completion_tokens_details"] = {"reasoning_tokens": completion // 2}
        metadata["usage_object"] = usage
    log["metadata"] = metadata
    return log


def responses(rng: random.Random, i: int) -> dict[str, Any]:
    usage: dict[str, Any] = {}
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        _put(usage, key, _count(rng))
    if rng.random() < 0.7:
        details: dict[str, Any] = {}
        _put(details, "cached_tokens", _count(rng))
        _put(details, "cache_write_tokens", rng.choice([0, 1024, "absent", None]))
        usage["input_tokens_details"] = rng.choice([details, None])
    if rng.random() < 0.6:
        usage["output_tokens_details"] = {"reasoning_tokens": rng.randrange(3000)}
    record: dict[str, Any] = {"object": "response", "usage": usage, "error": None, "output": [{"type": "message"}]}
    _put(record, "id", _maybe(rng, f"resp_{i}"))
    moment = _moment(rng).timestamp()
    _put(record, "created_at", _maybe(rng, rng.choice([int(moment), round(moment, 1), moment])))
    _put(record, "model", _maybe(rng, rng.choice(["gpt-5-2025-08-07", "o4-mini-2025-04-16", "gpt-x"])))
    _put(record, "service_tier", _maybe(rng, rng.choice(["default", "flex", "priority"])))
    _put(record, "status", _maybe(rng, rng.choice(["completed", "incomplete", "failed", "cancelled", "queued"])))
    _put(record, "instructions", rng.choice([None, "be brief"]))
    return record


def generate(kind: str, seed: int, n: int = 300) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    make = {
        "chat": lambda i: chat(rng, i),
        "deepseek": lambda i: chat(rng, i, deepseek=True),
        "message": lambda i: message(rng, i),
        "gemini": lambda i: gemini(rng, i),
        "wrapped_chat": lambda i: wrapped(rng, i, chat(rng, i)),
        "wrapped_deepseek": lambda i: wrapped(rng, i, chat(rng, i, deepseek=True)),
        "wrapped_message": lambda i: wrapped(rng, i, message(rng, i)),
        "litellm": lambda i: litellm(rng, i),
        "litellm_top_level": lambda i: litellm(rng, i, with_usage_object=False),
        "responses": lambda i: responses(rng, i),
        "wrapped_responses": lambda i: wrapped(rng, i, responses(rng, i)),
    }[kind]
    return [make(i) for i in range(n)]


KINDS = [
    "chat",
    "deepseek",
    "message",
    "gemini",
    "wrapped_chat",
    "wrapped_deepseek",
    "wrapped_message",
    "litellm",
    "litellm_top_level",
    "responses",
    "wrapped_responses",
]


# ------------------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_reads_what_the_record_readers_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, seed: int
) -> None:
    records = generate(kind, seed)
    records = [r for r in records if not _has_negative(r)]
    spy, table, acc = both_ways(write(tmp_path / f"{kind}.jsonl", records), monkeypatch)
    assert spy.fast == 1 and spy.fallback == 0
    assert acc.parsed == len(records) and acc.skipped == 0
    assert table.num_rows == len(records)


def _has_negative(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_negative(v) for v in value.values())
    return isinstance(value, int) and not isinstance(value, bool) and value < 0


def test_fast_path_fills_the_columns_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One wrapped DeepSeek record worked out by hand, among 63 others like it."""
    record = {
        "timestamp": "2026-11-03T16:30:00+08:00",
        "latency_ms": 1500.5,
        "project": "cn",
        "tags": {"feature": "faq"},
        "provider": "deepseek-cn",
        "request_id": "req_1",
        "http_status": 200,
        "request": {"model": "deepseek-v4-pro"},
        "response": {
            "id": "ds-1",
            "object": "chat.completion",
            "model": "deepseek-v4-pro",
            "usage": {
                "prompt_tokens": 1000,
                "completion_tokens": 50,
                "total_tokens": 1050,
                "prompt_cache_hit_tokens": 600,
                "prompt_cache_miss_tokens": 400,
            },
        },
    }
    others = [{**record, "request_id": f"req_{i}"} for i in range(2, 65)]
    spy, table, _ = both_ways(write(tmp_path / "ds.jsonl", [record, *others]), monkeypatch)
    assert spy.fast == 1
    row = table.slice(0, 1).to_pylist()[0]
    assert row["source_format"] == "deepseek.chat"
    assert (row["provider"], row["model"]) == ("deepseek-cn", "deepseek-v4-pro")
    assert row["ts_start"] == dt.datetime(2026, 11, 3, 8, 30, tzinfo=dt.UTC)
    assert row["ts_end"] == dt.datetime(2026, 11, 3, 8, 30, 1, 500500, tzinfo=dt.UTC)
    assert (row["input_tokens"], row["input_uncached_tokens"], row["cache_read_tokens"]) == (1000, 400, 600)
    assert (row["output_tokens"], row["total_tokens_reported"], row["cache_write_tokens"]) == (50, 1050, None)
    assert (row["status"], row["http_status"], row["token_basis"]) == ("success", 200, "reported")
    assert row["tags"] == [("feature", "faq")]
    assert row["flags"] == []
    assert (row["source_file"], row["source_line"]) == (str(tmp_path / "ds.jsonl"), 1)


BAD_LINES = {
    "count as text": lambda r: r["usage"].update(prompt_tokens="12"),
    "count as 12.0": lambda r: r["usage"].update(prompt_tokens=12.0),
    "fractional count": lambda r: r["usage"].update(completion_tokens=1.5),
    "negative count": lambda r: r["usage"].update(completion_tokens=-3),
    "secret in the id": lambda r: r.update(id="sk-abcdefghijklmnopqrstuvwxyz"),
    "unknown field": lambda r: r.update(request_id="zhipu-style"),
    "usage null": lambda r: r.update(usage=None),
    "created as text": lambda r: r.update(created="2026-11-02T00:00:00Z"),
    "model as a number": lambda r: r.update(model=4),
    "gemini model": lambda r: r.update(model="gemini-2.5-flash"),
    "openrouter id": lambda r: r.update(id="gen-123"),
    "object null, no choices": lambda r: (r.update(object=None), r.pop("choices")),
}
RESPONSES_BAD = {
    "an error object": lambda r: r.update(error={"code": "server_error"}),
    "a 12-hour cache write": lambda r: r["usage"].update(
        input_tokens_details={"cache_write_tokens": 5, "cache_write_tokens_details": {"ttl_12h_tokens": 5}}
    ),
    "created_at in milliseconds": lambda r: r.update(created_at=1794830410123),
    "a stream event": lambda r: r.update(type="response.completed"),
}


@pytest.mark.parametrize("case", sorted(RESPONSES_BAD))
def test_responses_the_fast_path_cannot_prove_go_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    records = generate("responses", 8, 100)
    RESPONSES_BAD[case](records[50])
    spy, _, _ = both_ways(write(tmp_path / "r.jsonl", records), monkeypatch)
    assert spy.fast == 0 and spy.fallback == 1


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_block_with_a_record_the_fast_path_cannot_prove_goes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    records = generate("chat", 7, 120)
    BAD_LINES[case](records[77])
    spy, _, _ = both_ways(write(tmp_path / "chat.jsonl", records), monkeypatch)
    assert spy.fast == 0 and spy.fallback == 1


@pytest.mark.parametrize(
    "text",
    [
        "blank line",
        "crlf",
        "duplicate key",
        "sse framing",
        "not json",
        "empty timestamp",
        "secret tag",
        "invalid utf-8",
        "two records on a line",
        "byte-order mark on a later line",
        "nested past orjson's limit",
    ],
)
def test_framing_the_fast_path_does_not_handle_goes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    lines = [json.dumps(r) for r in generate("wrapped_message", 5, 100)]
    if text == "blank line":
        lines[40] += "\n"
    elif text == "crlf":
        lines = [line + "\r" for line in lines]
    elif text == "duplicate key":
        lines[40] = lines[40][:-1] + ', "project": "x", "project": "y"}'
    elif text == "sse framing":
        lines[40] = "data: " + lines[40]
    elif text == "not json":
        lines[40] = lines[40][:-5]
    elif text == "empty timestamp":
        lines[40] = json.dumps({**json.loads(lines[40]), "timestamp": ""})
    elif text == "invalid utf-8":
        assert '"role": "assistant"' in lines[40]
        lines[40] = lines[40].replace('"role": "assistant"', '"role": "assis\udcfftant"')
    elif text == "byte-order mark on a later line":
        lines[40] = "\ufeff" + lines[40]
    elif text == "nested past orjson's limit":
        assert '"text": "ok"' in lines[40]  # inside content, a subtree the reader never reads
        lines[40] = lines[40].replace('"text": "ok"', '"text": "ok", "deep": ' + "[" * 1100 + "1" + "]" * 1100)
    elif text == "two records on a line":
        lines[40] = lines[40] + lines[41]
    elif text == "secret tag":
        lines[40] = json.dumps({**json.loads(lines[40]), "tags": {"auth": "Bearer abcdefghijklmnop"}})
    spy, _, acc = both_ways(write(tmp_path / "w.jsonl", lines), monkeypatch)
    assert spy.fast == 0
    assert acc.records == 100
    if text in ("invalid utf-8", "two records on a line", "not json", "nested past orjson's limit"):
        assert acc.reasons["bad_json"].first.endswith(":41")


def test_small_blocks_mix_both_paths_and_keep_line_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records: list[Any] = generate("wrapped_chat", 11, 400)
    records[250] = "{not json"
    monkeypatch.setattr(pipeline, "BLOCK_BYTES", 100_000)
    spy, table, acc = both_ways(write(tmp_path / "mixed.jsonl", records), monkeypatch)
    assert spy.fast >= 2 and spy.fallback >= 1
    assert acc.reasons["bad_json"].first == f"{tmp_path / 'mixed.jsonl'}:251"
    assert table.column("source_line").to_pylist() == [n for n in range(1, 401) if n != 251]


def test_a_range_task_through_workers_reads_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = generate("wrapped_message", 13, 2000)
    path = write(tmp_path / "big.jsonl", records)
    _spy, table, acc = both_ways(path, monkeypatch, workers=2, chunk_bytes=200_000)
    assert acc.parsed == 2000 and table.num_rows == 2000


def test_line_blocks_cut_at_line_ends_and_number_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"".join(b'{"n": %d}\n' % i for i in range(1, 101)) + b'{"n": 101}'
    blocks = list(line_blocks(io.BytesIO(data), 0, None, 1, 64))
    assert b"".join(block for _, block, _, _ in blocks) == data
    for offset, block, first, newlines in blocks:
        assert data[offset : offset + len(block)] == block
        assert block.startswith(b'{"n": %d}' % first)
        assert newlines == block.count(b"\n")
    ranged = list(line_blocks(io.BytesIO(data), 20, 40, 3, 16))
    assert b"".join(b for _, b, _, _ in ranged) == data[20:60]


def test_a_line_past_the_limit_is_cut_like_json_lines_cuts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "MAX_LINE_BYTES", 100)
    data = b'{"a": 1}\n' + b"x" * 250 + b'\n{"b": 2}\n'
    blocks = list(line_blocks(io.BytesIO(data), 0, None, 1, 32))
    assert [(first, len(block)) for _, block, first, _ in blocks] == [(1, 9), (2, 100), (3, 9)]
    assert blocks[2][1] == b'{"b": 2}\n'


def test_turned_off_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "chat.jsonl", generate("chat", 3, 100))
    spy = Spy(monkeypatch)
    _read(path, monkeypatch, True)
    assert spy.fast == 0 and spy.fallback == 0


MUTATIONS = ['"', "{", "}", "[", "]", ",", ":", "0", "-1", "1.5", "null", "true", "\\", "\\u0000", "\\ud800", "\t"]
MUTATIONS += [" ", "é", "\ufeff", "1e999", '"x"', "{}", "[]", "9223372036854775808", "sk-abcdefghijklmnop"]


LEAVES: list[Any] = [
    0,
    7,
    1000,
    2**53 - 1,
    2**53,
    "x",
    "standard",
    -1,
    1.5,
    12.0,
    "12",
    "",
    None,
    True,
    [],
    {},
    2**63,
    2**53,
    "sk-abcdefghijklmnopqrs",
]
LEAVES += ["2026-13-01T00:00:00Z", "2026-11-02 10:00:00", "1700000000", "\u0000", "gen-1", "gemini-2.5-pro"]


def _edit_leaf(record: Any, rng: random.Random) -> Any:
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            paths.append((node, key))
            walk(value)

    walk(record)
    for _ in range(rng.randint(1, 2)):
        node, key = rng.choice(paths)
        if isinstance(node, dict) and rng.random() < 0.3:
            node.pop(key, None)  # presence matters to detection: a key gone is not a key set to null
        elif key in node if isinstance(node, dict) else key < len(node):
            node[key] = rng.choice(LEAVES)
    return record


@pytest.mark.parametrize("seed", range(4))
def test_mutated_records_read_the_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Differential fuzz: one record of a block edited at random (most edits break it, some change a value
    or a type); both paths must agree on every column and on the accounting."""
    rng = random.Random(seed)
    fast = 0
    for round_ in range(24):
        kind = KINDS[(seed * 24 + round_) % len(KINDS)]
        lines = [json.dumps(r) for r in generate(kind, rng.randrange(10**6), 70)]
        k = rng.randrange(len(lines))
        line = lines[k]
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(line) + 1)
            edit = rng.randrange(3)
            if edit == 0:
                line = line[:at] + rng.choice(MUTATIONS) + line[at:]
            elif edit == 1:
                line = line[:at] + line[at + rng.randint(1, 5) :]
            else:
                line = line[:at] + rng.choice(MUTATIONS) + line[at + 1 :]
        if round_ % 2:  # a value edit: the line stays JSON, a leaf changes value or type
            line = json.dumps(_edit_leaf(json.loads(lines[k]), rng))
        lines[k] = line
        path = tmp_path / f"m{round_}.jsonl"
        path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
        spy, _, _ = both_ways(path, monkeypatch)
        fast += spy.fast
    assert fast > 0  # some edits keep the block readable by the fast path
