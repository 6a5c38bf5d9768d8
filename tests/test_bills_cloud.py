"""Cloud bills of AI services, on samples others published (tests/data/bills/real/SOURCES.md): Azure OpenAI
meters in a whole-subscription FOCUS export, AWS CUR Bedrock rows named by usage type or sold through AWS
Marketplace, and ``tokctl reconcile`` keeping the rest of a cloud bill out of scope."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokctl.bills import read_bill
from tokctl.cli.app import app
from tokctl.reconciliation.engine import reconcile
from tokctl.schema import empty_usage_table

REAL = Path(__file__).parent / "data" / "bills" / "real"
LOGS = Path(__file__).resolve().parents[1] / "examples" / "reconcile" / "logs" / "anthropic-2026-10.jsonl"
METERS = list(csv.DictReader((REAL / "azure_meters.csv").open(encoding="utf-8")))


@pytest.mark.parametrize("expected", METERS, ids=[m["meter"] for m in METERS])
def test_azure_meter_names(expected):
    from tokctl.bills.azure_meters import parse
    from tokctl.bills.focus import _azure_model

    meter = parse(expected["meter"])
    assert meter is not None
    assert (meter.model_reported, _azure_model(meter)[0] or "", meter.token_class, meter.deployment_type,
            str(meter.batch).lower()) == (expected["model_reported"], expected["model"], expected["token_class"],
                                          expected["deployment_type"], expected["batch"])  # fmt: skip


@pytest.mark.parametrize("text", ["Standard Text Records", "Hot LRS Data Stored", "S1 Characters", ""])
def test_other_azure_meters_are_not_token_meters(text):
    from tokctl.bills.azure_meters import parse

    assert parse(text) is None


COLUMNS = ("source_line", "provider", "service_name", "model", "model_reported", "token_class", "service_tier",
           "deployment_type", "consumed_quantity", "billed_cost")  # fmt: skip


def rows(bill):
    return [tuple(r[c] for c in COLUMNS) for r in bill.lines.select(list(COLUMNS)).to_pylist()]


def test_azure_focus_subscription_export():
    bill = read_bill([REAL / "azure_focus_subscription.csv"])
    assert bill.files[0][1] == "focus" and not bill.skipped
    ai = "Azure AI Services"
    assert rows(bill) == [
        (2, "azure", ai, "gpt-4o-2024-05-13", "gpt 4o 0513", "input", None, "global", 704830, Decimal("3.52415")),
        (3, "azure", ai, "gpt-4o-2024-05-13", "gpt 4o 0513", "output", None, "global", 68433, Decimal("1.026495")),
        (4, "azure", ai, "gpt-4o-mini", "gpt-4o-mini-0718", "input", None, "global", 13823, Decimal("0.00207345")),
        (5, "azure", ai, "gpt-4o-mini", "gpt-4o-mini-0718", "output", None, "global", 2274, Decimal("0.0013644")),
        (6, "azure", ai, "deepseek-reasoner", "R1", "input", None, "global", 376, Decimal("0.0005076")),
        (7, "azure", ai, "deepseek-reasoner", "R1", "output", None, "global", 4096, Decimal("0.0221184")),
        (8, "azure", ai, None, None, "other", None, None, None, Decimal("0.0015")),  # Language: not tokens
        # 15.057558938548348978 as the export writes it, at the charge table's 12 decimal places
        (9, "microsoft", "Storage Accounts", None, None, "other", None, None, None, Decimal("15.057558938548")),
    ]  # fmt: skip


def test_bedrock_cur_rows_by_usage_type_and_marketplace():
    bill = read_bill([REAL / "aws_cur_bedrock.csv"])
    assert bill.files[0][1] == "aws.cur"
    assert [(s.where.rsplit("/", 1)[-1], s.reason) for s in bill.skipped] == [
        ("aws_cur_bedrock.csv:8", "not a Bedrock line")  # EC2
    ]
    bedrock, edition = "Amazon Bedrock", "Claude Haiku 4.5 (Amazon Bedrock Edition)"
    assert rows(bill) == [
        # no resource ARN: the model is the usage type's Claude3.5Sonnet; 1500 x 1K tokens
        (2, "bedrock", bedrock, "claude-3-5-sonnet", "claude-3-5-sonnet", "input", None, "regional", 1500000,
         Decimal("4.5")),
        (3, "bedrock", bedrock, "claude-3-5-sonnet", "claude-3-5-sonnet", "output", None, "regional", 20000,
         Decimal("0.3")),
        # a global.* inference profile ARN
        (4, "bedrock", bedrock, "claude-haiku-4-5", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "cache_read",
         None, "global", 300000, Decimal("0.03")),
        # AWS Marketplace lines: model from the product name, 1 Unit = 1000 tokens ($0.001 a Unit = $1 / MTok)
        (5, "bedrock", edition, "claude-haiku-4-5", "Claude Haiku 4.5", "input", None, "regional", 1234567,
         Decimal("1.234567")),
        (6, "bedrock", edition, "claude-haiku-4-5", "Claude Haiku 4.5", "output", None, "global", 100500,
         Decimal("0.5025")),
        (7, "bedrock", edition, "claude-haiku-4-5", "Claude Haiku 4.5", "cache_read", None, "regional", 2000000,
         Decimal("0.2")),
    ]  # fmt: skip


def test_reconcile_keeps_a_whole_cloud_bill_out_of_scope():
    bill = read_bill([REAL / "azure_focus_subscription.csv"])
    result = reconcile(bill, empty_usage_table())
    assert {c.provider for c in result.cells} == {"azure"}
    assert sum((c.billed_cost for c in result.cells), Decimal(0)) == Decimal("4.57820885")
    assert result.out_of_scope == [{"provider": "microsoft", "service": "Storage Accounts", "currency": "USD",
                                    "lines": 1, "billed": Decimal("15.057558938548")}]  # fmt: skip
    assert any(n.startswith("out of scope (not reconciled): Storage Accounts of microsoft, 1 line(s), 15.05")
               for n in result.notes)  # fmt: skip

    chosen = reconcile(bill, empty_usage_table(), services=["storage accounts"])
    assert {c.provider for c in chosen.cells} == {"microsoft"}
    assert [(e["service"], e["lines"], e["billed"]) for e in chosen.out_of_scope] == [
        ("Azure AI Services", 7, Decimal("4.57820885"))
    ]


def invoke(*args: str):
    return CliRunner().invoke(app, ["reconcile", "--bill", str(REAL / "azure_focus_subscription.csv"), "--logs",
                                    str(LOGS), "--format", "json", *args])  # fmt: skip


def test_cli_lists_out_of_scope_services_and_chooses_services():
    result = invoke()
    doc = json.loads(result.stdout)
    assert {r["provider"] for r in doc["rows"]} == {"azure"}
    assert [(e["service"], e["lines"], Decimal(str(e["billed"]))) for e in doc["out_of_scope"]] == [
        ("Storage Accounts", 1, Decimal("15.057558938548"))
    ]
    only = json.loads(invoke("--service", "azure").stdout)
    assert {r["provider"] for r in only["rows"]} == {"azure"} and only["out_of_scope"][0]["lines"] == 1


def test_cli_service_that_matches_nothing_is_a_one_line_error():
    result = invoke("--service", "Cosmos DB")
    assert result.exit_code == 2
    assert "--service Cosmos DB matches no line of the bill" in result.output
    assert "Storage Accounts" in result.output and "Traceback" not in result.output


def test_aws_focus_bedrock_rows_by_usage_type_and_marketplace():
    bill = read_bill([REAL / "aws_focus_bedrock.csv"])
    assert bill.files[0][1] == "focus" and not bill.skipped
    edition = "Claude Haiku 4.5 (Amazon Bedrock Edition)"
    assert rows(bill) == [
        (2, "bedrock", "Amazon Bedrock", "claude-3-5-sonnet", "claude-3-5-sonnet", "input", None, "regional",
         1500000, Decimal("4.5")),
        (3, "bedrock", "Amazon Bedrock", "claude-haiku-4-5", "claude-haiku-4-5", "cache_read", None, "global",
         300000, Decimal("0.03")),
        # PublisherName Anthropic, but billed by AWS: a Bedrock line; 100.5 Units of 1000 tokens
        (4, "bedrock", edition, "claude-haiku-4-5", "Claude Haiku 4.5", "output", None, "global", 100500,
         Decimal("0.5025")),
        (5, "aws", "Amazon Elastic Compute Cloud", None, None, "other", None, None, None, Decimal("0.2496")),
    ]  # fmt: skip
    result = reconcile(bill, empty_usage_table())
    assert {c.provider for c in result.cells} == {"bedrock"}
    assert [(e["provider"], e["service"], e["lines"], e["billed"]) for e in result.out_of_scope] == [
        ("aws", "Amazon Elastic Compute Cloud", 1, Decimal("0.2496"))
    ]
