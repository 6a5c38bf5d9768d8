"""Anthropic Admin API exports: cost report amounts are cents (divided by 100 exactly), usage report tokens."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tokctl.bills import read_bill
from tokctl.bills.anthropic import cents_to_major
from tokctl.errors import InputFormatError

DATA = Path(__file__).parent / "data" / "bills"


def rows(bill, *columns):
    return [tuple(r[c] for c in columns) for r in bill.lines.select(list(columns)).to_pylist()]


def test_cents_are_divided_by_100_exactly():
    assert cents_to_major("54.702", "USD") == Decimal("0.54702")
    assert cents_to_major("1234567.891", "USD") == Decimal("12345.67891")
    assert cents_to_major("0.001", "USD") == Decimal("0.00001")
    assert cents_to_major("500", "JPY") == Decimal("500")  # yen have no minor unit


def test_cost_report_lines():
    bill = read_bill([DATA / "anthropic_cost_report.json"])
    assert bill.files == [(str(DATA / "anthropic_cost_report.json"), "anthropic.cost_report")]
    got = rows(bill, "charge_period_start", "model", "token_class", "service_tier", "billed_cost", "sub_account_id")
    day1, day2 = got[0][0], got[4][0]
    assert (day1.isoformat(), day2.isoformat()) == ("2026-01-14T00:00:00+00:00", "2026-01-15T00:00:00+00:00")
    assert [g[1:] for g in got] == [
        ("claude-sonnet-4-5", "input", "standard", Decimal("0.54702"), "wrkspc_01Qm"),
        ("claude-sonnet-4-5", "cache_read", "standard", Decimal("2.73615"), "wrkspc_01Qm"),
        ("claude-sonnet-4-5", "output", "batch", Decimal("0.005"), None),
        (None, "web_search", None, Decimal("1.40"), "wrkspc_01Qm"),
        # token_type and model null: the description is parsed by bill_rules/anthropic.toml
        ("claude-haiku-5-5", "cache_write_1h", None, Decimal("12345.67891"), None),
    ]
    assert {r["billing_currency"] for r in bill.lines.to_pylist()} == {"USD"}
    assert {r["billing_timezone"] for r in bill.lines.to_pylist()} == {"UTC"}
    assert all(r["consumed_quantity"] is None for r in bill.lines.to_pylist())  # the cost report has no tokens


def test_amount_that_does_not_parse_is_a_counted_skip_with_file_and_line():
    bill = read_bill([DATA / "anthropic_cost_report.json"])
    assert [(s.where, s.reason) for s in bill.skipped] == [(f"{DATA / 'anthropic_cost_report.json'}:14", "bad result")]
    assert "12.x" in bill.skipped[0].detail


def test_strict_turns_the_skip_into_a_one_line_error():
    with pytest.raises(InputFormatError) as err:
        read_bill([DATA / "anthropic_cost_report.json"], strict=True)
    assert err.value.where == f"{DATA / 'anthropic_cost_report.json'}:14"
    assert "'12.x' is not a number" in err.value.one_line()


def test_the_same_page_twice_is_skipped_not_double_counted():
    bill = read_bill([DATA / "anthropic_cost_report.json", DATA / "anthropic_cost_report_dup.json"])
    assert bill.lines.num_rows == 5
    assert [s.reason for s in bill.skipped] == ["bad result", "duplicate page"]
    assert bill.skipped[1].where == f"{DATA / 'anthropic_cost_report_dup.json'}:1"


def test_overlapping_pages_with_different_results_are_an_error():
    with pytest.raises(InputFormatError) as err:
        read_bill([DATA / "anthropic_cost_report.json", DATA / "anthropic_cost_report_overlap.json"])
    message = err.value.one_line()
    assert message.startswith(f"{DATA / 'anthropic_cost_report_overlap.json'}:1: pages overlap")
    assert "never adds them" in message


def test_partly_overlapping_buckets_are_an_error(tmp_path):
    page = {
        "data": [
            {
                "starting_at": "2026-01-14T12:00:00Z",
                "ending_at": "2026-01-15T12:00:00Z",
                "results": [
                    {"amount": "1", "currency": "USD", "token_type": "output_tokens", "model": "claude-sonnet-4-5"}
                ],
            }
        ]
    }
    path = tmp_path / "half.json"
    path.write_text(json.dumps(page))
    with pytest.raises(InputFormatError, match="pages overlap"):
        read_bill([DATA / "anthropic_cost_report.json", path])


def test_usage_report_gives_quantities_per_token_class():
    bill = read_bill([DATA / "anthropic_usage_report.json"])
    assert bill.files[0][1] == "anthropic.usage_report"
    assert rows(bill, "token_class", "consumed_quantity", "billed_cost", "api_key_id") == [
        ("input", 182340, None, "apikey_01Xa"),
        ("cache_read", 9120500, None, "apikey_01Xa"),
        ("cache_write", 402100, None, "apikey_01Xa"),  # the 1h write is 0: no line
        ("output", 311870, None, "apikey_01Xa"),
    ]
