"""Bad and awkward input: every record is counted with its file:line, nothing stops the run unless
--strict; compressed files, directories, globs, a 100 MB line, mixed formats, secrets, parallel reads."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest
import zstandard

import tokctl
from tests.usage_helpers import EXAMPLES, read, read_records
from tokctl.errors import InputFormatError

CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1794787200,
    "model": "gpt-4o",
    "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
}


def test_every_bad_line_is_counted_with_its_location(tmp_path) -> None:
    lines = [
        json.dumps(CHAT),
        '{"id": "chatcmpl-2", "object": "chat.comp',  # truncated
        "GET /v1/chat/completions 200",  # not JSON
        json.dumps({**CHAT, "id": "c3", "usage": {"prompt_tokens": "12", "completion_tokens": 2}}),  # wrong type
        json.dumps({**CHAT, "id": "c4", "usage": {"prompt_tokens": -5, "completion_tokens": 2}}),  # negative
        json.dumps({"hello": "world"}),  # unknown shape
        json.dumps([1, 2]),  # not an object
        "",
        json.dumps(
            {
                "candidates": [],
                "modelVersion": "gemini-2.5-flash",  # a second format in the same file
                "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1},
            }
        ),
    ]
    rows, acc = read_records(tmp_path, lines)
    # 8 non-blank lines; the JSON list holds two records (its items), neither an object.
    assert (acc.records, acc.parsed, acc.skipped) == (9, 2, 7)
    where = {name: (r.count, r.first.rsplit("/", 1)[1]) for name, r in acc.reasons.items()}
    assert where == {
        "bad_json": (1, "log.jsonl:2"),
        "not_json": (1, "log.jsonl:3"),
        "wrong_type": (1, "log.jsonl:4"),
        "negative_count": (1, "log.jsonl:5"),
        "unknown_shape": (3, "log.jsonl:6"),
    }
    assert [(r["source_format"], r["source_line"]) for r in rows] == [("openai.chat", 1), ("gemini", 9)]
    assert acc.reasons["wrong_type"].detail == "usage.prompt_tokens is text, not an integer"
    assert acc.line().startswith("usage: 9 records read = 2 parsed + 7 skipped [unknown_shape 3 (first ")


def test_strict_stops_at_the_first_bad_record_with_its_location(tmp_path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps(CHAT) + "\n" + '{"broken\n')
    with pytest.raises(InputFormatError) as caught:
        tokctl.read_usage([path], strict=True)
    assert caught.value.one_line().startswith(f"{path}:2: bad_json")
    # Records that are normal content of a log (a chunk without usage) never stop a strict read.
    path.write_text(json.dumps({"id": "x", "object": "chat.completion.chunk", "choices": [], "usage": None}) + "\n")
    assert tokctl.read_usage([path], strict=True).num_rows == 0


def test_missing_and_empty_files_count_as_one_skipped_record_each(tmp_path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n\n")
    _rows, acc = read(tmp_path / "nope.jsonl")
    assert (acc.records, acc.skipped, acc.reasons["missing_file"].first) == (1, 1, f"{tmp_path / 'nope.jsonl'}:0")
    (tmp_path / "no-logs").mkdir()
    given = [tmp_path / "empty.jsonl", str(tmp_path / "none-*.jsonl"), tmp_path / "no-logs"]
    result = tokctl.read_usage_with_accounting(given)
    assert {k: v.count for k, v in result.accounting.reasons.items()} == {"empty_file": 1, "missing_file": 2}
    assert result.table.num_rows == 0 and result.table.schema == tokctl.usage_schema()


def test_gzip_zstd_directories_and_globs(tmp_path) -> None:
    source = (EXAMPLES / "openai_chat.jsonl").read_bytes()
    logs = tmp_path / "logs" / "nested"
    logs.mkdir(parents=True)
    (logs / "a.jsonl.gz").write_bytes(gzip.compress(source))
    (logs / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(source))
    (logs / "notes.md").write_text("not a log")
    plain = tokctl.read_usage([EXAMPLES / "openai_chat.jsonl"]).column("input_tokens").to_pylist()
    # The directory holds the same three responses twice (gz and zst): they collapse to three rows.
    result = tokctl.read_usage_with_accounting([tmp_path / "logs"])
    assert (result.accounting.files, result.accounting.records, result.accounting.duplicates) == (2, 6, 3)
    assert result.table.column("input_tokens").to_pylist() == plain
    for given in (str(tmp_path / "logs" / "**" / "*.gz"), logs / "b.jsonl.zst"):
        result = tokctl.read_usage_with_accounting([given])
        assert (result.accounting.files, result.accounting.skipped) == (1, 0)
        assert result.table.column("input_tokens").to_pylist() == plain


def test_same_response_in_two_files_collapses_and_last_wins(tmp_path) -> None:
    shutil.copy(EXAMPLES / "openai_chat.jsonl", tmp_path / "a.jsonl")
    shutil.copy(EXAMPLES / "openai_chat.jsonl", tmp_path / "b.jsonl")
    result = tokctl.read_usage_with_accounting([tmp_path])
    assert (result.accounting.rows, result.accounting.duplicates, result.table.num_rows) == (6, 3, 3)
    assert set(result.table.column("source_file").to_pylist()) == {str(tmp_path / "b.jsonl")}
    assert all(f == ["dedup_collapsed"] for f in result.table.column("flags").to_pylist())


def test_a_100_mb_line_is_read(tmp_path) -> None:
    head = json.dumps(CHAT)[:-1] + ', "choices": [{"message": {"content": "'
    big = head + "x" * (100 * 1024 * 1024) + '"}}]}'
    rows, acc = read_records(tmp_path, [big, {**CHAT, "id": "after"}])
    assert (acc.parsed, [r["response_id"] for r in rows]) == (2, ["chatcmpl-1", "after"])


def test_a_line_over_the_limit_is_drained_not_held(tmp_path, monkeypatch) -> None:
    from tokctl.ingest import inputs as files

    monkeypatch.setattr(files, "MAX_LINE_BYTES", 1024)
    rows, acc = read_records(tmp_path, ["{" + "x" * 5000 + "}", CHAT])
    assert acc.reasons["line_too_long"].first.endswith("log.jsonl:1") and len(rows) == 1


def test_secrets_never_reach_the_table(tmp_path) -> None:
    secret = "sk-proj-AbCdEf0123456789AbCdEf0123456789"
    bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX19fX19f"
    wrapper = {
        "timestamp": 1794787200,
        "api_key": secret,
        "project": f"proj {secret}",
        "user": bearer,
        "tags": {"auth": bearer, "team": "a"},
        "request_id": secret,
        "response": CHAT,
    }
    litellm = {
        "request_id": "r1",
        "spend": 0.1,
        "startTime": "2026-11-16T00:00:00Z",
        "call_type": "x",
        "api_key": "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "end_user": secret,
        "model": "gpt-4o",
    }
    rows, _ = read_records(tmp_path, [wrapper, litellm])
    table = tokctl.read_usage([tmp_path / "log.jsonl"])
    dump = json.dumps(table.to_pylist(), default=str)
    for needle in (secret, "eyJhbGciOiJIUzI1NiJ9", "AIzaSyA1234567890"):
        assert needle not in dump
    assert rows[0]["api_key_id"].startswith("redacted:") and rows[0]["api_key_id"] == rows[0]["request_id"]
    assert dict(rows[0]["tags"])["team"] == "a" and rows[1]["api_key_id"].startswith("redacted:")


def test_parallel_reading_gives_the_same_rows_in_the_same_order(tmp_path) -> None:
    lines = [json.dumps({**CHAT, "id": f"c{i % 700}", "created": 1794787200 + i}) for i in range(2000)]
    lines.insert(5, "{broken")
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n")
    from tokctl.ingest.accounting import Accounting
    from tokctl.ingest.read import iter_batches

    def collect(workers: int) -> tuple[list, Accounting]:
        acc = Accounting()
        rows = [
            r
            for b, _ in iter_batches([path], accounting=acc, workers=workers, chunk_bytes=20_000)
            for r in b.select(["record_id", "source_line", "ts_start"]).to_pylist()
        ]
        return rows, acc

    serial, serial_acc = collect(1)
    parallel, parallel_acc = collect(2)
    assert parallel == serial
    assert parallel_acc.to_dict() == serial_acc.to_dict()


def test_a_truncated_gzip_keeps_what_came_before(tmp_path) -> None:
    data = gzip.compress(((json.dumps(CHAT) + "\n") * 50 + json.dumps({**CHAT, "id": "last"}) * 2000).encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) - 40])
    rows, acc = read(tmp_path / "cut.jsonl.gz")
    assert acc.reasons["unreadable"].count == 1 and acc.records == acc.parsed + acc.skipped
    assert len(rows) == 1 and acc.rows == 50  # fifty copies of one response, collapsed
    assert acc.reasons["unreadable"].first.endswith("cut.jsonl.gz:51")  # the line the cut fell in


def test_bom_crlf_and_invalid_utf8(tmp_path) -> None:
    path = tmp_path / "win.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(CHAT).encode() + b"\r\n" + b'{"id": "\xff\xfe"}\r\n')
    rows, acc = read(path)
    assert (len(rows), acc.reasons["bad_json"].first.endswith("win.jsonl:2")) == (1, True)
