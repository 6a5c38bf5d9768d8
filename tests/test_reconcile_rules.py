"""Each explanation rule on a hand-built case with hand-worked amounts (prices from the registry files).

Prices used (per 1M tokens): Anthropic claude-sonnet-5-5 cache read 0.20 until 2026-10-07, 0.10 from then,
output 10; claude-opus-5-5 input 4, cache read 0.2, output 20, batch x0.5; claude-haiku-5-5 (from 2026-10-07)
input 0.1 / output 0.5, over 100K prompt tokens 0.5 / 2.5 for every token of the request. DeepSeek (CNY,
Beijing time) deepseek-v4-pro input 4.5 off-peak, 9 peak (Mon-Fri 09-12, 14-18, not on holidays);
deepseek-flash input 1, cache read 0.02, output 4 off-peak.
"""

from __future__ import annotations

from decimal import Decimal

from tests.reconcile_helpers import BEIJING, at, cells_by, lines, usage
from tokctl.reconciliation.engine import reconcile

SONNET, OPUS, HAIKU = "claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5"
PRO, FLASH = "deepseek-v4-pro", "deepseek-flash"


def anthropic(model, when, **tokens):
    return {"provider": "anthropic", "model": model, "ts_start": at(when), **tokens}


def deepseek(model, when, **tokens):
    return {"provider": "deepseek-cn", "model": model, "ts_start": at(when, BEIJING), **tokens}


def line(day, model, token_class, cost, quantity=None, provider="anthropic", **extra):
    return {"day": day, "provider": provider, "model": model, "token_class": token_class, "cost": cost,
            "quantity": quantity, **extra}  # fmt: skip


def cny(day, model, token_class, cost, quantity=None, tz="Asia/Shanghai"):
    return line(day, model, token_class, cost, quantity, "deepseek-cn", tz=tz, currency="CNY", rounding="0.01")


def test_exact_bill_matches_and_nothing_is_explained():
    logs = usage(anthropic(SONNET, "2026-10-08T10:00:00", input_tokens=1_000_000, cache_read_tokens=400_000,
                           output_tokens=100_000))  # fmt: skip
    bill = lines(line("2026-10-08", SONNET, "input", "1.2", 600_000), line("2026-10-08", SONNET, "cache_read", "0.04"),
                 line("2026-10-08", SONNET, "output", "1.0"))  # fmt: skip
    result = reconcile(bill, logs)
    assert [(c.token_class, c.logged_quantity, c.expected_cost, c.status, c.rule) for c in result.cells] == [
        ("input", 600_000, Decimal("1.2"), "match", None),
        ("cache_read", 400_000, Decimal("0.04"), "match", None),
        ("output", 100_000, Decimal("1.0"), "match", None),
    ]
    assert result.ok


def test_price_change_on_that_date():
    logs = usage(anthropic(SONNET, "2026-10-07T12:00:00", input_tokens=400_000, cache_read_tokens=400_000))
    # 400,000 cache reads at the old 0.20 = 0.08; the registry says 0.10 from 2026-10-07 = 0.04
    bill = lines(line("2026-10-07", SONNET, "cache_read", "0.08"), line("2026-10-07", SONNET, "output", "0"))
    cell = cells_by(reconcile(bill, logs))[("2026-10-07", SONNET, "cache_read")]
    assert (cell.status, cell.rule, cell.difference) == ("over_billed", "price_change", Decimal("0.04"))
    assert cell.explanation.startswith("price change on 2026-10-07: billed at the previous price (0.2 per 1M")


def test_cache_reads_billed_as_uncached_input_by_quantity():
    logs = usage(anthropic(OPUS, "2026-10-12T10:00:00", input_tokens=1_000_000, cache_read_tokens=900_000))
    bill = lines(line("2026-10-12", OPUS, "input", "4.00", 1_000_000), line("2026-10-12", OPUS, "output", "0", 0))
    cells = cells_by(reconcile(bill, logs))
    uncached, cached = cells[("2026-10-12", OPUS, "input")], cells[("2026-10-12", OPUS, "cache_read")]
    assert (uncached.status, uncached.expected_cost, uncached.difference) == ("over_billed", Decimal("0.4"),
                                                                              Decimal("3.6"))  # fmt: skip
    assert (cached.status, cached.expected_cost) == ("missing_from_bill", Decimal("0.18"))
    text = (
        "cache-read billed as uncached input: 900,000 tokens the logs count as cache-read are billed as uncached input"
    )
    assert (uncached.rule, uncached.explanation) == (cached.rule, cached.explanation) == ("class_swap", text)


def test_class_swap_found_from_money_when_the_bill_has_no_quantities():
    logs = usage(anthropic(OPUS, "2026-10-12T10:00:00", input_tokens=1_000_000, cache_read_tokens=900_000))
    bill = lines(line("2026-10-12", OPUS, "input", "4.00"), line("2026-10-12", OPUS, "output", "0"))
    cells = cells_by(reconcile(bill, logs))
    assert cells[("2026-10-12", OPUS, "input")].rule == "class_swap"
    assert "900,000 tokens" in cells[("2026-10-12", OPUS, "cache_read")].explanation


def test_uncached_input_billed_as_cache_reads():
    logs = usage(anthropic(OPUS, "2026-10-12T10:00:00", input_tokens=1_000_000, cache_read_tokens=900_000))
    # the vendor counts 50,000 of the uncached tokens as cache reads
    bill = lines(line("2026-10-12", OPUS, "input", "0.2", 50_000), line("2026-10-12", OPUS, "cache_read", "0.19",
                                                                         950_000))  # fmt: skip
    cell = cells_by(reconcile(bill, logs))[("2026-10-12", OPUS, "input")]
    assert (cell.status, cell.rule) == ("under_billed", "class_swap")
    assert cell.explanation.startswith("uncached input billed as cache-read: 50,000 tokens")


def test_day_boundary_moves_tokens_between_adjacent_days():
    logs = usage(
        deepseek(FLASH, "2026-10-14T12:00:00", output_tokens=10_000),
        deepseek(FLASH, "2026-10-15T00:10:00", output_tokens=5_000),  # 2026-10-14 16:10 UTC
        deepseek(FLASH, "2026-10-15T12:00:00", output_tokens=10_000),
    )
    bill = lines(cny("2026-10-14", FLASH, "output", "0.06", 15_000), cny("2026-10-15", FLASH, "output", "0.04", 10_000))
    cells = cells_by(reconcile(bill, logs))
    first, second = cells[("2026-10-14", FLASH, "output")], cells[("2026-10-15", FLASH, "output")]
    assert (first.status, second.status) == ("over_billed", "under_billed")
    assert first.difference + second.difference == 0
    assert first.rule == second.rule == "day_boundary"
    assert first.explanation == (
        "time-zone day boundary: 5,000 output tokens the logs count on 2026-10-15 are billed "
        "on 2026-10-14 (the logs' days are in Asia/Shanghai); the two days net to zero"
    )


def test_day_shift_far_from_midnight_is_not_a_time_zone_boundary():
    logs = usage(deepseek(FLASH, "2026-10-14T12:00:00", output_tokens=10_000),
                 deepseek(FLASH, "2026-10-15T13:00:00", output_tokens=15_000))  # fmt: skip
    bill = lines(cny("2026-10-14", FLASH, "output", "0.06", 15_000), cny("2026-10-15", FLASH, "output", "0.04", 10_000))
    assert {c.rule for c in reconcile(bill, logs).cells} == {"none"}


def test_days_are_counted_in_the_bills_time_zone_and_tz_overrides_it():
    logs = usage(deepseek(FLASH, "2026-10-15T00:10:00", output_tokens=5_000))  # 2026-10-14 16:10 UTC
    utc_bill = lines(cny("2026-10-14", FLASH, "output", "0.02", 5_000, tz="UTC"))
    assert [(c.date, c.status) for c in reconcile(utc_bill, logs).cells] == [("2026-10-14", "match")]
    assert [(c.date, c.status) for c in reconcile(utc_bill, logs, tz="Asia/Shanghai").cells] == [
        ("2026-10-14", "missing_from_logs"), ("2026-10-15", "missing_from_bill")]  # fmt: skip


def test_usage_outside_the_bills_period_is_left_out_and_counted():
    logs = usage(deepseek(FLASH, "2026-10-15T00:10:00", output_tokens=5_000))
    result = reconcile(lines(cny("2026-10-14", FLASH, "output", "0.02", 5_000)), logs)
    assert [(c.date, c.status) for c in result.cells] == [("2026-10-14", "missing_from_logs")]
    assert (result.accounting.outside_period, result.accounting.reconciled) == (1, 0)


def test_batch_discount_missing_and_unexpected():
    logs = usage(
        anthropic(OPUS, "2026-10-15T10:00:00", output_tokens=100_000, is_batch=True),  # 100,000 x 20 x 0.5 = 1.00
        anthropic(SONNET, "2026-10-15T10:00:00", output_tokens=100_000),  # 100,000 x 10 = 1.00
    )
    bill = lines(line("2026-10-15", OPUS, "output", "2.00"), line("2026-10-15", SONNET, "output", "0.50"))
    cells = cells_by(reconcile(bill, logs))
    missing, unexpected = cells[("2026-10-15", OPUS, "output")], cells[("2026-10-15", SONNET, "output")]
    assert (missing.status, missing.rule, missing.explanation) == (
        "over_billed",
        "batch_missing",
        "batch discount missing: 100,000 batch tokens billed at the standard price",
    )
    assert (unexpected.status, unexpected.rule) == ("under_billed", "batch_unexpected")


def test_long_context_tier_not_applied_and_applied_wrongly():
    logs = usage(
        anthropic(HAIKU, "2026-10-08T10:00:00", input_tokens=150_000, output_tokens=1_000),  # over 100K: x5
        anthropic(HAIKU, "2026-10-09T10:00:00", input_tokens=50_000, output_tokens=1_000),
    )
    bill = lines(
        line("2026-10-08", HAIKU, "input", "0.015"),
        line("2026-10-08", HAIKU, "output", "0.0005"),  # base prices
        line("2026-10-09", HAIKU, "input", "0.025"),
        line("2026-10-09", HAIKU, "output", "0.0025"),  # tier prices
    )
    cells = cells_by(reconcile(bill, logs))
    assert cells[("2026-10-08", HAIKU, "input")].expected_cost == Decimal("0.075")
    assert cells[("2026-10-08", HAIKU, "output")].expected_cost == Decimal("0.0025")
    for key in (("2026-10-08", HAIKU, "input"), ("2026-10-08", HAIKU, "output")):
        assert cells[key].rule == "long_context"
        assert cells[key].explanation.startswith("long-context tier not applied: ")
        assert "over 100,000 prompt tokens" in cells[key].explanation
    for key in (("2026-10-09", HAIKU, "input"), ("2026-10-09", HAIKU, "output")):
        assert (cells[key].status, cells[key].rule) == ("over_billed", "long_context")
        assert cells[key].explanation.startswith("billed at the long-context tier price")


def test_time_of_day_window_on_a_make_up_working_day():
    logs = usage(
        deepseek(PRO, "2026-10-10T10:00:00", input_tokens=1_000_000),  # Saturday: off-peak 4.50 in the registry
        deepseek(PRO, "2026-10-10T20:00:00", input_tokens=1_000_000),  # off-peak 4.50 anyway
    )
    bill = lines(cny("2026-10-10", PRO, "input", "13.50", 2_000_000), cny("2026-10-10", PRO, "output", "0", 0))
    cell = cells_by(reconcile(bill, logs))[("2026-10-10", PRO, "input")]
    assert (cell.expected_cost, cell.status, cell.rule) == (Decimal("9"), "over_billed", "time_window")
    assert cell.explanation == (
        "time-of-day window: 1,000,000 tokens logged in the peak hours billed at peak "
        "prices on a day the registry prices as off-peak all day (a weekend made a working "
        "day; the registry keeps it a weekend)"
    )


def test_time_of_day_window_billed_off_peak():
    logs = usage(deepseek(PRO, "2026-10-12T10:00:00", input_tokens=1_000_000))  # Monday peak: 9.00
    bill = lines(cny("2026-10-12", PRO, "input", "4.50", 1_000_000), cny("2026-10-12", PRO, "output", "0", 0))
    cell = cells_by(reconcile(bill, logs))[("2026-10-12", PRO, "input")]
    assert (cell.status, cell.rule) == ("under_billed", "time_window")
    assert "in the peak window billed at the base (off-peak) price" in cell.explanation


def test_currency_conversion_at_the_reference_rate_and_at_another_rate():
    # 1,000,000 input tokens off-peak = 4.50 CNY; CNY->USD 0.149745 on 2026-10-20 (ECB cross rate): 0.6738525 USD
    logs = usage(deepseek(PRO, "2026-10-20T20:00:00", input_tokens=1_000_000),
                 deepseek(PRO, "2026-10-21T20:00:00", input_tokens=1_000_000))  # fmt: skip
    bill = lines(
        line("2026-10-20", PRO, "input", "0.6739", provider="deepseek-cn", tz="Asia/Shanghai"),
        line("2026-10-21", PRO, "input", "0.70", provider="deepseek-cn", tz="Asia/Shanghai"),
    )
    cells = cells_by(reconcile(bill, logs))
    same, other = cells[("2026-10-20", PRO, "input")], cells[("2026-10-21", PRO, "input")]
    assert (same.currency, same.expected_cost, same.status, same.rule) == (
        "USD",
        Decimal("0.6738525"),
        "match",
        "currency",
    )
    assert (
        same.explanation
        == "currency conversion: expected 4.5 CNY = 0.6738525 USD at the reference rate 0.149745 of 2026-10-20"
    )
    assert (other.status, other.rule) == ("over_billed", "currency")
    assert "an implied rate of 0.155556" in other.explanation


def test_rounding_to_the_bills_smallest_amount():
    logs = usage(deepseek(FLASH, "2026-10-20T20:00:00", input_tokens=1_100_000, cache_read_tokens=100_000,
                          output_tokens=1_000))  # fmt: skip
    # input 1,000,000 x 1 = 1.00; cache read 100,000 x 0.02 = 0.002 billed 0.00; output 0.004: no line at all
    bill = lines(cny("2026-10-20", FLASH, "input", "1.00"), cny("2026-10-20", FLASH, "cache_read", "0.00"))
    result = reconcile(bill, logs)
    cells = cells_by(result)
    cached, output = cells[("2026-10-20", FLASH, "cache_read")], cells[("2026-10-20", FLASH, "output")]
    assert (cached.status, cached.rule, cached.difference) == ("match", "rounding", Decimal("-0.002"))
    assert (output.status, output.rule, output.expected_cost) == ("match", "rounding", Decimal("0.004"))
    assert result.ok


def test_no_rule_explains_a_plain_overcharge():
    logs = usage(anthropic(SONNET, "2026-10-08T10:00:00", output_tokens=100_000))
    bill = lines(line("2026-10-08", SONNET, "output", "1.03"), line("2026-10-08", SONNET, "input", "0"))
    cell = cells_by(reconcile(bill, logs))[("2026-10-08", SONNET, "output")]
    assert (cell.status, cell.rule, cell.explanation) == ("over_billed", "none", "no rule explains it")


def test_within_tolerance_percent_or_amount():
    logs = usage(anthropic(SONNET, "2026-10-08T10:00:00", output_tokens=100_000))
    bill = lines(line("2026-10-08", SONNET, "output", "1.004"), line("2026-10-08", SONNET, "input", "0"))
    assert reconcile(bill, logs).ok  # 0.4% < 0.5%
    assert not reconcile(bill, logs, tolerance="0.1%").ok
    assert reconcile(bill, logs, tolerance="0.005").ok
    assert not reconcile(bill, logs, tolerance="0.001").ok


def test_missing_from_logs_non_token_and_unknown_model():
    logs = usage(anthropic(SONNET, "2026-10-08T10:00:00", output_tokens=100_000))
    bill = lines(line("2026-10-08", SONNET, "output", "1.0"), line("2026-10-08", SONNET, "input", "0"),
                 line("2026-10-08", SONNET, "web_search", "0.35"), line("2026-10-08", "gpt-9", "output", "2"),
                 line("2026-10-09", OPUS, "output", "2"))  # fmt: skip
    cells = cells_by(reconcile(bill, logs))
    assert (cells[("2026-10-08", SONNET, "web_search")].rule, cells[("2026-10-08", "gpt-9", "output")].rule,
            cells[("2026-10-09", OPUS, "output")].rule) == ("non_token", "unknown_model", "none")  # fmt: skip
    assert {c.status for k, c in cells.items() if c.rule} == {"missing_from_logs"}


def test_unpriced_log_records_are_named():
    logs = usage(anthropic(SONNET, "2026-09-01T10:00:00", output_tokens=1_000))  # before its first price
    bill = lines(line("2026-09-01", SONNET, "output", "0.01"))
    result = reconcile(bill, logs)
    (cell,) = [c for c in result.cells if c.token_class == "output"]
    assert (cell.status, cell.rule) == ("over_billed", "unpriced")
    assert result.accounting.unpriced_reasons == {"before_first_price": 1}


def test_usage_export_compares_quantities_only():
    logs = usage(anthropic(SONNET, "2026-10-08T10:00:00", input_tokens=1_000, output_tokens=100))
    bill = lines(line("2026-10-08", SONNET, "input", None, 1_000), line("2026-10-08", SONNET, "output", None, 150))
    cells = cells_by(reconcile(bill, logs))
    assert cells[("2026-10-08", SONNET, "input")].status == "match"
    output = cells[("2026-10-08", SONNET, "output")]
    assert (output.status, output.difference, output.quantity_difference) == ("over_billed", None, 50)
