"""The bundled example (examples/reconcile): every planted discrepancy is found with the right explanation,
and nothing else is flagged. planted.json is written by examples/reconcile/generate.py from the vendor side."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tokctl.reconciliation.report import run

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "reconcile"


@pytest.fixture(scope="module")
def outcome():
    return run([EXAMPLE / "bills"], [str(EXAMPLE / "logs")])


def _key(cell):
    return (cell.date, cell.provider, cell.model, cell.token_class, cell.project)


def test_every_planted_discrepancy_and_nothing_else(outcome):
    planted = json.loads((EXAMPLE / "planted.json").read_text())["cells"]
    expected = {(p["date"], p["provider"], p["model"], p["token_class"], p["project"]): (p["status"], p["rule"])
                for p in planted}  # fmt: skip
    found = {_key(c): (c.status, c.rule) for c in outcome.result.cells if not c.matched or c.rule}
    assert found == expected


def test_each_kind_of_discrepancy_is_in_the_example():
    planted = json.loads((EXAMPLE / "planted.json").read_text())["cells"]
    rules = {p["rule"] for p in planted}
    assert rules == {"price_change", "class_swap", "batch_missing", "batch_unexpected", "long_context", "time_window",
                     "day_boundary", "currency", "rounding", "none"}  # fmt: skip
    statuses = {p["status"] for p in planted}
    assert statuses == {"match", "over_billed", "under_billed", "missing_from_logs", "missing_from_bill"}


def test_everything_else_matches_exactly(outcome):
    plain = [c for c in outcome.result.cells if c.matched and c.rule is None]
    assert len(plain) > 700
    assert all(c.billed_quantity == c.logged_quantity for c in plain)
    assert all(c.difference == 0 for c in plain if c.provider == "anthropic")  # exact amounts in cents
    assert all(abs(c.difference) <= Decimal("0.005") for c in plain if c.provider == "deepseek-cn")  # to the fen


def test_explanations_name_the_numbers(outcome):
    by_key = {_key(c): c for c in outcome.result.cells}
    swap = by_key[("2026-10-12", "anthropic", "claude-opus-5-5", "input", "wrkspc_app")]
    moved = swap.billed_quantity - swap.logged_quantity
    assert swap.explanation == (f"cache-read billed as uncached input: {moved:,} tokens the logs count as cache-read "
                                "are billed as uncached input")  # fmt: skip
    cached = by_key[("2026-10-12", "anthropic", "claude-opus-5-5", "cache_read", "wrkspc_app")]
    assert cached.logged_quantity == moved
    shift = by_key[("2026-10-14", "deepseek-cn", "deepseek-flash", "output", None)]
    after = by_key[("2026-10-15", "deepseek-cn", "deepseek-flash", "output", None)]
    assert shift.quantity_difference == -after.quantity_difference > 0


def test_summary_never_adds_across_currencies(outcome):
    summary = outcome.result.summary
    assert {(s["provider"], s["currency"]) for s in summary} == {
        ("anthropic", "USD"), ("deepseek-cn", "CNY"), ("deepseek-cn", "USD")}  # fmt: skip
    for entry in summary:
        cells = [c for c in outcome.result.cells if (c.provider, c.currency) == (entry["provider"], entry["currency"])]
        assert entry["billed"] == sum((c.billed_cost or Decimal(0) for c in cells), Decimal(0))
        assert entry["difference"] == entry["billed"] - entry["expected"]
