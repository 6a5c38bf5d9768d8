"""OpenAI Costs API (dollars as JSON numbers, free-text line items) and Usage API (completions tokens)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tokctl.bills import read_bill
from tokctl.errors import InputFormatError

DATA = Path(__file__).parent / "data" / "bills"


def rows(bill, *columns):
    return [tuple(r[c] for c in columns) for r in bill.lines.select(list(columns)).to_pylist()]


def test_costs_pages_in_one_array():
    bill = read_bill([DATA / "openai_costs.json"])
    assert bill.files[0][1] == "openai.costs"
    assert rows(
        bill,
        "source_line",
        "model",
        "model_reported",
        "token_class",
        "service_tier",
        "consumed_quantity",
        "billed_cost",
        "billing_currency",
        "sub_account_id",
    ) == [
        (1, "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "input", None, 1250000, Decimal("0.1875"), "USD", "proj_Ab12"),
        # quantity_unit 1000_tokens: 800 -> 800,000 tokens
        (1, "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "cache_read", None, 800000, Decimal("0.06"), "USD", "proj_Ab12"),
        (1, "gpt-4o", "GPT-4o", "output", "batch", 240000, Decimal("1.2"), "USD", "proj_Ab12"),
        (1, None, None, "other", None, None, Decimal("0.35"), "USD", "proj_Ab12"),  # web search: not tokens
        # a JSON number read as Decimal, never float: the 12th decimal is rounded half-even by the Arrow scale
        (11, "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "output", None, 20, Decimal("0.000012345679"), "USD", None),
    ]


def test_unknown_currency_is_a_counted_skip():
    bill = read_bill([DATA / "openai_costs.json"])
    assert [(s.where, s.reason) for s in bill.skipped] == [(f"{DATA / 'openai_costs.json'}:11", "bad result")]
    assert "unknown currency 'xyz'" in bill.skipped[0].detail


def test_usage_pages_as_jsonl_and_separate_files():
    bill = read_bill([DATA / "openai_usage_p1.jsonl", DATA / "openai_usage_p2.json"])
    assert {fmt for _, fmt in bill.files} == {"openai.usage"}
    assert rows(bill, "source_line", "token_class", "service_tier", "consumed_quantity", "billed_cost") == [
        # input_tokens 1,250,000 includes the 800,000 cached: 450,000 uncached
        (1, "input", "standard", 450000, None), (1, "cache_read", "standard", 800000, None),
        (1, "output", "standard", 210000, None),
        # input_uncached_tokens given: used as is; batch=true is the batch tier
        (2, "input", "batch", 600, None), (2, "cache_read", "batch", 300, None),
        (2, "cache_write", "batch", 100, None), (2, "output", "batch", 50, None),
        (1, "input", "flex", 10, None), (1, "output", "flex", 5, None),
    ]  # fmt: skip


def test_pages_concatenated_without_separator(tmp_path):
    text = (DATA / "openai_usage_p1.jsonl").read_text().replace("\n", "") + (DATA / "openai_usage_p2.json").read_text()
    path = tmp_path / "pasted.json"
    path.write_text(text)
    assert read_bill([path]).lines.num_rows == 9


def test_overlapping_buckets_with_different_results_are_an_error(tmp_path):
    page = json.loads((DATA / "openai_usage_p2.json").read_text())
    page["data"][0]["results"][0]["output_tokens"] = 6
    path = tmp_path / "again.json"
    path.write_text(json.dumps(page))
    with pytest.raises(InputFormatError, match=r"again\.json:1: pages overlap"):
        read_bill([DATA / "openai_usage_p2.json", path])


def test_identical_bucket_again_is_a_counted_skip(tmp_path):
    path = tmp_path / "copy.json"
    path.write_text((DATA / "openai_usage_p2.json").read_text())
    bill = read_bill([DATA / "openai_usage_p2.json", path])
    assert bill.lines.num_rows == 2
    assert [(s.where, s.reason) for s in bill.skipped] == [(f"{path}:1", "duplicate page")]


def test_not_a_page_is_skipped_and_bad_json_is_an_error(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"object": "page", "data": [\n{"object": "bucket", "start_time": 1, "end_time"')
    with pytest.raises(InputFormatError) as err:
        read_bill([bad], "openai.costs")
    assert err.value.where == f"{bad}:2"
