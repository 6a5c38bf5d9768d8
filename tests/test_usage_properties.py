"""Invariants over generated logs: read = parsed + skipped, the Parquet export keeps every value, and a
report's rows add up to its totals and to the export's sums, per currency."""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokctl
from tokctl.errors import InputNotFoundError
from tokctl.usage.export import export_usage
from tokctl.usage.report import summarize

MODELS = ["gpt-4o-2024-08-06", "gpt-4o-mini", "deepseek-v4-pro", "claude-sonnet-4-5", "gemini-2.5-flash", "nope-1"]
count = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def records(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["chat", "anthropic", "gemini", "wrapped", "bad", "chunk"]))
    ts = draw(st.integers(min_value=1_767_225_600, max_value=1_798_761_599))  # 2026
    rid = f"id-{draw(st.integers(min_value=0, max_value=30))}"  # repeats: duplicates collapse
    prompt, cached, out = draw(count), draw(count), draw(count)
    cached = min(cached, prompt)
    model = draw(st.sampled_from(MODELS))
    if kind == "bad":
        return draw(st.sampled_from(['{"truncated', "plain text", '{"usage": {"prompt_tokens": "1"}}', "[]"]))
    if kind == "chunk":
        return json.dumps({"id": rid, "object": "chat.completion.chunk", "choices": [], "usage": None})
    if kind == "anthropic":
        body = {
            "id": rid,
            "type": "message",
            "model": model,
            "usage": {"input_tokens": prompt - cached, "cache_read_input_tokens": cached, "output_tokens": out},
        }
        return json.dumps({"timestamp": ts, "project": draw(st.sampled_from(["a", "b"])), "response": body})
    if kind == "gemini":
        return json.dumps(
            {
                "responseId": rid,
                "modelVersion": model,
                "createTime": ts,
                "usageMetadata": {
                    "promptTokenCount": prompt,
                    "cachedContentTokenCount": cached,
                    "candidatesTokenCount": out,
                    "thoughtsTokenCount": draw(count),
                },
            }
        )
    chat = {
        "id": rid,
        "object": "chat.completion",
        "created": ts,
        "model": model,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": out,
            "total_tokens": prompt + out,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }
    if kind == "wrapped":
        return json.dumps(
            {
                "timestamp": ts,
                "provider": draw(st.sampled_from(["deepseek-cn", "openai"])),
                "tags": {"team": draw(st.sampled_from(["x", "y"]))},
                "response": chat,
            }
        )
    return json.dumps(chat)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records(), max_size=40))
def test_accounting_round_trip_and_sums(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.jsonl"
        log.write_text("\n".join(lines) + "\n")
        result = tokctl.read_usage_with_accounting([log], price=True)
        acc = result.accounting
        records = len([line for line in lines if line.strip()])  # an empty file is a skipped input, not a record
        assert acc.records == acc.parsed + acc.skipped == records
        assert result.table.num_rows == acc.rows - acc.duplicates
        assert len(set(result.table.column("record_id").to_pylist())) == result.table.num_rows

        out = Path(tmp) / "usage.parquet"
        if not acc.parsed:  # nothing read: an error, and no output file
            with pytest.raises(InputNotFoundError):
                export_usage([log], out)
            assert not out.exists()
            return
        export_acc = export_usage([log], out)
        exported = pq.read_table(out)
        assert exported.to_pylist() == result.table.to_pylist()  # every value, nulls and decimals included
        assert export_acc.to_dict() == acc.to_dict()

        summary = summarize(result.table, by=["day", "model", "tag:team"])
        for total in summary.totals:
            mine = [r for r in summary.rows if r["currency"] == total["currency"]]
            for key in ("requests", "input_tokens", "cache_read_tokens", "output_tokens", "reasoning_tokens"):
                assert total[key] == sum(r[key] for r in mine)
            if total["currency"] is not None:
                assert total["cost"] == sum(r["cost"] for r in mine)
        exported_cost: dict[str, Decimal] = defaultdict(Decimal)
        for row in exported.to_pylist():
            if row["cost"] is not None:
                exported_cost[row["currency"]] += row["cost"]
        assert {t["currency"]: t["cost"] for t in summary.totals if t["currency"]} == dict(exported_cost)
        assert sum(t["requests"] for t in summary.totals) == exported.num_rows
