"""reconcile() as a library: grains (--by), tolerance parsing, conservation of totals (property), Python API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokctl
from tests.reconcile_helpers import at, lines, usage
from tokctl.errors import UsageError
from tokctl.pricing import price_table
from tokctl.reconciliation.cells import parse_by
from tokctl.reconciliation.engine import Tolerance, reconcile

SONNET = "claude-sonnet-5-5"


def line(day, token_class, cost, quantity=None, **extra):
    return {"day": day, "provider": "anthropic", "model": SONNET, "token_class": token_class, "cost": cost,
            "quantity": quantity, **extra}  # fmt: skip


def test_public_api_names():
    assert tokctl.reconcile is reconcile
    assert tokctl.read_bill.__module__ == "tokctl.bills"


def test_tolerance_parsing():
    assert Tolerance.parse("0.5%") == Tolerance(Decimal("0.005"), None)
    assert Tolerance.parse("2") == Tolerance(None, Decimal("2"))
    assert Tolerance.parse(None).money(Decimal("200")) == Decimal("1.000")
    with pytest.raises(UsageError, match="neither a percent nor an amount"):
        Tolerance.parse("-1")


def test_by_parsing():
    grain = parse_by("month,model,api_key")
    assert (grain.period, grain.model, grain.token_class, grain.project, grain.api_key) == (
        "month", True, False, False, True)  # fmt: skip
    with pytest.raises(UsageError, match="choose from day, month"):
        parse_by("week")


def test_month_grain_and_classes_together():
    logs = usage(*({"provider": "anthropic", "model": SONNET, "ts_start": at(f"2026-10-{d:02d}T10:00:00"),
                    "input_tokens": 100_000, "output_tokens": 10_000} for d in (8, 9)))  # fmt: skip
    bill = lines(line("2026-10-08", "input", "0.2"), line("2026-10-08", "output", "0.1"),
                 line("2026-10-09", "input", "0.2"), line("2026-10-09", "output", "0.1"))  # fmt: skip
    result = reconcile(bill, logs, by="month,model")
    assert [(c.date, c.model, c.token_class, c.billed_cost, c.expected_cost, c.status) for c in result.cells] == [
        ("2026-10", SONNET, "all", Decimal("0.6"), Decimal("0.6"), "match")]  # fmt: skip


def test_project_is_kept_only_when_the_bill_splits_by_it():
    logs = usage({"provider": "anthropic", "model": SONNET, "ts_start": at("2026-10-08T10:00:00"), "project": "p1",
                  "output_tokens": 10_000})  # fmt: skip
    without = reconcile(lines(line("2026-10-08", "output", "0.1"), line("2026-10-08", "input", "0")), logs)
    assert {c.project for c in without.cells} == {None}
    split = reconcile(lines(line("2026-10-08", "output", "0.1", project="p1")), logs)
    assert {c.project for c in split.cells} == {"p1"}


def test_unpriced_usage_is_priced_first():
    raw = usage({"provider": "anthropic", "model": SONNET, "ts_start": at("2026-10-08T10:00:00"),
                 "output_tokens": 10_000})  # fmt: skip
    assert reconcile(lines(line("2026-10-08", "output", "0.1")), raw).ok


def test_other_charges_are_listed_not_reconciled():
    logs = usage({"provider": "anthropic", "model": SONNET, "ts_start": at("2026-10-08T10:00:00"),
                  "output_tokens": 10_000})  # fmt: skip
    result = reconcile(lines(line("2026-10-08", "output", "0.1"), line("2026-10-08", "tax", "0.02", category="Tax")),
                       logs)  # fmt: skip
    assert result.ok
    assert [c["charge_category"] for c in result.other_charges] == ["Tax"]
    assert any(n.startswith("not reconciled: Tax line of anthropic 0.02 USD") for n in result.notes)


records = st.lists(
    st.tuples(st.integers(0, 30 * 24 - 1), st.integers(0, 50_000), st.integers(0, 50_000), st.integers(1, 5_000),
              st.sampled_from(["a", "b"])),
    min_size=1, max_size=25,
)  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.integers(0, 20))
def test_totals_are_conserved(rows, bill_days):
    """Whatever the bill says, the expected total is the priced usage inside the bill's period, and the billed
    total is the bill's usage lines."""
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    logs = price_table(usage(*({"provider": "anthropic", "model": SONNET, "project": project,
                                "ts_start": start + dt.timedelta(hours=hour), "input_tokens": uncached + cached,
                                "cache_read_tokens": cached, "output_tokens": output}
                               for hour, uncached, cached, output, project in rows)))  # fmt: skip
    bill = lines(*(line(f"2026-10-{d + 1:02d}", "output", "1.5", project="a") for d in range(bill_days + 1)))
    result = reconcile(bill, logs)
    period_end = start + dt.timedelta(days=bill_days + 1)
    inside = [r for r in logs.to_pylist() if r["ts_start"] < period_end]
    assert sum((c.expected_cost or Decimal(0) for c in result.cells), Decimal(0)) == sum(
        (r["cost"] for r in inside), Decimal(0))  # fmt: skip
    assert sum((c.billed_cost or Decimal(0) for c in result.cells), Decimal(0)) == Decimal("1.5") * (bill_days + 1)
    assert result.accounting.reconciled + result.accounting.outside_period == len(rows)
    assert sum(c.logged_quantity or 0 for c in result.cells if c.token_class == "output") == sum(
        r["output_tokens"] for r in inside)  # fmt: skip


def test_every_usage_record_is_accounted_for():
    logs = usage(
        {
            "provider": "deepseek-cn",
            "model": "deepseek-flash",
            "ts_start": at("2026-10-08T10:00:00"),
            "output_tokens": 1,
        },
        {"provider": "anthropic", "model": SONNET, "ts_start": None, "output_tokens": 10},
        {"provider": "anthropic", "model": SONNET, "ts_start": at("2026-10-09T10:00:00"), "output_tokens": 10},
        {"provider": "anthropic", "model": SONNET, "ts_start": at("2026-10-08T10:00:00"), "output_tokens": 10},
    )
    bill = lines(line("2026-10-08", "output", "0.0001"), {**line("2026-10-08", "output", "1"), "provider": None})
    result = reconcile(bill, logs)
    acc = result.accounting
    assert (acc.records, acc.reconciled, acc.other_providers, acc.no_timestamp, acc.outside_period) == (4, 1, 1, 1, 1)
    assert [(c.provider, c.status) for c in result.cells] == [
        ("(unknown)", "missing_from_logs"),
        ("anthropic", "match"),
    ]
    assert result.notes[0] == ("usage records: 4, reconciled 1, other providers 1, outside the bill's period 1, "
                               "without a timestamp 1")  # fmt: skip
