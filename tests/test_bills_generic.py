"""CSV bills through mapping files: DeepSeek, Alibaba Cloud; detection; a user's own mapping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tokctl.bills import read_bill
from tokctl.bills.rules import known_rules, load_rules
from tokctl.errors import InputFormatError, RegistryError, UnknownNameError

DATA = Path(__file__).parent / "data" / "bills"


def rows(bill, *columns):
    return [tuple(r[c] for c in columns) for r in bill.lines.select(list(columns)).to_pylist()]


def test_every_rules_file_loads():
    for name in known_rules():
        assert load_rules(name).id == name


def test_deepseek_cn_bill_days_are_beijing_days():
    bill = read_bill([DATA / "deepseek_cn.csv"])
    assert bill.files[0][1] == "deepseek-cn"
    first = bill.lines.to_pylist()[0]
    # 2026-10-14 in Beijing starts at 16:00 UTC the day before
    assert first["charge_period_start"] == dt.datetime(2026, 10, 13, 16, tzinfo=dt.UTC)
    assert first["charge_period_end"] == dt.datetime(2026, 10, 14, 16, tzinfo=dt.UTC)
    assert (first["billing_timezone"], first["rounding_unit"]) == ("Asia/Shanghai", Decimal("0.01"))
    assert rows(bill, "model", "token_class", "consumed_quantity", "billed_cost", "billing_currency") == [
        ("deepseek-v4-pro", "input", 1200000, Decimal("5.4"), "CNY"),
        ("deepseek-v4-pro", "cache_read", 3000000, Decimal("0.45"), "CNY"),
        ("deepseek-v4-pro", "output", 250000, Decimal("3375"), "CNY"),  # 250 千tokens; "¥3,375.00"
        ("deepseek-flash", "output", 100, Decimal("0"), "CNY"),  # empty currency: the mapping's CNY
    ]
    assert [(s.where.rsplit(":", 1)[1], s.detail) for s in bill.skipped] == [("6", "amount '12.3.4' is not a number")]


def test_alibaba_item_names_give_model_and_class():
    bill = read_bill([DATA / "alibaba.csv"])
    assert bill.files[0][1] == "alibaba"
    assert rows(bill, "provider", "model", "token_class", "consumed_quantity", "billed_cost", "list_cost",
                "sub_account_id") == [
        ("alibaba-cn", "qwen-plus", "input", 1405000, Decimal("1.12"), Decimal("1.124"), "rg-app"),
        ("alibaba-cn", "qwen-plus", "cache_read", 3000000, Decimal("0.48"), Decimal("0.48"), "rg-app"),
        ("alibaba-cn", "qwen-plus", "output", 200000, Decimal("0.4"), Decimal("0.4"), "rg-app"),
    ]  # fmt: skip


def test_volcengine_api_fields(tmp_path):
    path = tmp_path / "volc.csv"
    path.write_text("BillPeriod,ExpenseDate,Product,ConfigName,Element,Count,Unit,PayableAmount,Currency,Project\n"
                    "2026-01,2026-01-14,ark,doubao-seed-1-6,输入token,1405000,tokens,1.124,CNY,default\n"
                    "2026-01,2026-01-14,ark,doubao-seed-1-6,缓存命中输入token,20,千tokens,0.01,CNY,default\n",
                    encoding="utf-8")  # fmt: skip
    bill = read_bill([path])
    assert bill.files[0][1] == "volcengine"
    assert rows(bill, "model_reported", "token_class", "consumed_quantity", "billed_cost") == [
        ("doubao-seed-1-6", "input", 1405000, Decimal("1.124")),
        ("doubao-seed-1-6", "cache_read", 20000, Decimal("0.01")),
    ]


def test_a_users_mapping_file(tmp_path):
    mapping = tmp_path / "mine.toml"
    mapping.write_text("""
[format]
id = "mine"
name = "my gateway's invoice"
kind = "csv"
provider = "openai"
currency = "EUR"
timezone = "Europe/Berlin"

[columns]
date = "Day"
item = "What"
amount = "EUR"
quantity = "Tokens"

[[rules]]
field = "item"
pattern = '^(?P<model>[\\w.-]+) prompt'
token_class = "input"
""")
    path = tmp_path / "invoice.csv"
    path.write_text("Day,What,Tokens,EUR\n2026-01-14,gpt-4o-mini prompt,1000,0.0002\n2026-01-14,coffee,1,3\n")
    bill = read_bill([path], mapping=mapping)
    assert rows(bill, "provider", "model", "token_class", "consumed_quantity", "billed_cost", "billing_currency") == [
        ("openai", "gpt-4o-mini", "input", 1000, Decimal("0.0002"), "EUR"),
        ("openai", None, "other", None, Decimal("3"), "EUR"),  # no rule: kept, not a token charge
    ]
    assert bill.lines.to_pylist()[0]["charge_period_start"] == dt.datetime(2026, 1, 13, 23, tzinfo=dt.UTC)


def test_mapping_errors_say_how_to_fix(tmp_path):
    mapping = tmp_path / "bad.toml"
    mapping.write_text('[format]\nid = "bad"\nname = "x"\nkind = "csv"\n[columns]\nitem = "x"\n')
    with pytest.raises(RegistryError, match="a CSV mapping needs columns amount, date"):
        load_rules(mapping)
    with pytest.raises(UnknownNameError, match="did you mean alibaba"):
        read_bill([DATA / "alibaba.csv"], "alibab")


def test_a_csv_no_mapping_fits_is_an_error(tmp_path):
    path = tmp_path / "mystery.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputFormatError) as err:
        read_bill([path])
    assert err.value.where == f"{path}:1"
    assert "--mapping" in err.value.one_line()


def test_wrong_columns_for_the_chosen_mapping(tmp_path):
    path = tmp_path / "ds.csv"
    path.write_text("日期,模型,用量\n2026-10-14,deepseek-v4-pro,1\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="the deepseek-cn mapping needs columns 计费项 or Billing Item"):
        read_bill([path], "deepseek-cn")
