"""FOCUS 1.x files (CSV and Parquet) and AWS CUR rows for Bedrock."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tokctl.bills import read_bill
from tokctl.bills.aws_cur import snake
from tokctl.errors import InputFormatError

DATA = Path(__file__).parent / "data" / "bills"


def rows(bill, *columns):
    return [tuple(r[c] for c in columns) for r in bill.lines.select(list(columns)).to_pylist()]


FOCUS_EXPECTED = [
    # ConsumedQuantity 1405 in "1000 Tokens"
    (2, "azure", "gpt-4o", "gpt-4o-0806", "input", 1405000, Decimal("3.5125"), "Usage", "sub-1"),
    # no ConsumedQuantity: PricingQuantity 2.5 in "1000000 Tokens"
    (3, "azure", "gpt-4o", "gpt-4o-0806", "cache_read", 2500000, Decimal("3.125"), "Usage", "sub-1"),
    (4, "azure", None, None, "other", None, Decimal("0.7"), "Tax", "sub-1"),
    (5, "anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5", "cache_read", 9120500, Decimal("2.73615"), "Usage",
     "wrkspc_01Qm"),
]  # fmt: skip
FOCUS_COLUMNS = ("source_line", "provider", "model", "model_reported", "token_class", "consumed_quantity",
                 "billed_cost", "charge_category", "sub_account_id")  # fmt: skip


def test_focus_csv():
    bill = read_bill([DATA / "focus_azure.csv"])
    assert bill.files[0][1] == "focus"
    assert rows(bill, *FOCUS_COLUMNS) == FOCUS_EXPECTED
    assert [(s.where, s.detail) for s in bill.skipped] == [
        (f"{DATA / 'focus_azure.csv'}:6", "BilledCost 'abc' is not a number")
    ]


def test_focus_parquet_reads_the_same(tmp_path):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(DATA / "focus_azure.csv", convert_options=pacsv.ConvertOptions(
        column_types={"BilledCost": pa.string()}))  # fmt: skip
    path = tmp_path / "focus.parquet"
    pq.write_table(table, path)
    bill = read_bill([path])
    assert bill.files[0][1] == "focus"
    # Parquet rows are numbered from 1 (no header line)
    assert rows(bill, *FOCUS_COLUMNS) == [(r[0] - 1, *r[1:]) for r in FOCUS_EXPECTED]


def test_focus_missing_columns_is_an_error(tmp_path):
    path = tmp_path / "half.csv"
    path.write_text("BilledCost,ChargePeriodStart\n1,2026-01-14T00:00:00Z\n")
    with pytest.raises(InputFormatError) as err:
        read_bill([path], "focus")
    assert err.value.where == f"{path}:1"
    assert "missing columns BillingCurrency, ChargePeriodEnd" in err.value.what


def test_cur_usage_type_suffixes_give_the_token_class():
    bill = read_bill([DATA / "aws_cur.csv"])
    assert bill.files[0][1] == "aws.cur"
    assert rows(bill, "source_line", "provider", "model", "token_class", "consumed_quantity", "billed_cost",
                "charge_category") == [
        (2, "bedrock", "claude-sonnet-4-5", "cache_read", 2450, Decimal("0.000735"), "Usage"),  # 2.45 x 1K
        (3, "bedrock", "claude-sonnet-4-5", "input", 1405500, Decimal("4.2165"), "Usage"),
        (4, "bedrock", "claude-sonnet-4-5", "output", 100000, Decimal("1.5"), "Usage"),
        (5, "bedrock", "claude-sonnet-4-5", "cache_write", 10000, Decimal("0.0375"), "Usage"),
        (7, "bedrock", "claude-sonnet-4-5", "other", None, Decimal("-0.015"), "Credit"),
    ]  # fmt: skip
    assert [(s.where.rsplit(":", 1)[1], s.reason) for s in bill.skipped] == [
        ("6", "not a Bedrock line"), ("8", "bad line")]  # fmt: skip
    assert "unknown quantity unit 'furlongs'" in bill.skipped[1].detail


def test_cur_legacy_column_names():
    assert snake("lineItem/UsageType") == "line_item_usage_type"
    assert snake("pricing/unit") == "pricing_unit"
    bill = read_bill([DATA / "aws_cur_legacy.csv"])
    assert rows(bill, "token_class", "consumed_quantity", "billed_cost") == [("output", 2000, Decimal("0.03"))]
