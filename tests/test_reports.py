"""Reports over priced usage: groups, time buckets in a zone, totals per currency, unpriced bucket,
conversion through dated rates. Expected sums worked by hand from the example logs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import tokctl
from tests.usage_helpers import EXAMPLES
from tokctl.errors import UnknownNameError, UsageError
from tokctl.registry import fx
from tokctl.usage.report import parse_by, plain, summarize

DEEPSEEK = EXAMPLES / "deepseek_requests.jsonl"
ANTHROPIC = EXAMPLES / "anthropic_requests.jsonl"


def priced(*paths):
    return tokctl.read_usage([str(p) for p in paths], price=True)


def test_totals_stay_per_currency_and_rows_add_up_to_them() -> None:
    summary = summarize(priced(DEEPSEEK, ANTHROPIC), by="provider")
    assert [(r["provider"], r["currency"], r["requests"]) for r in summary.rows] == [
        ("anthropic", "USD", 3),
        ("deepseek-cn", "CNY", 3),
    ]
    # 0.0100188 peak + 2 x 0.0050094 off-peak
    assert [(t["currency"], t["cost"]) for t in summary.totals] == [
        ("CNY", Decimal("0.0200376")),
        ("USD", Decimal("0.038657")),
    ]
    assert summary.rows[0]["input_tokens"] == 49847 + 2460  # the error row adds a request, no tokens
    for total in summary.totals:
        mine = [r for r in summary.rows if r["currency"] == total["currency"]]
        assert total["requests"] == sum(r["requests"] for r in mine)
        assert total["cost"] == sum(r["cost"] for r in mine)


def test_days_follow_the_time_zone() -> None:
    table = priced(DEEPSEEK)
    # 2026-11-17T12:00Z is 20:00 in Beijing: the same day in both zones; 02:30Z on the 21st is 10:30 there.
    in_utc = summarize(table, by="day")
    assert [(r["day"], r["requests"]) for r in in_utc.rows] == [("2026-11-17", 2), ("2026-11-21", 1)]
    in_la = summarize(table, by=["day"], tz="America/Los_Angeles")
    assert [(r["day"], r["requests"]) for r in in_la.rows] == [("2026-11-16", 1), ("2026-11-17", 1), ("2026-11-20", 1)]
    weeks = summarize(table, by="week")
    assert [(r["week"], r["requests"]) for r in weeks.rows] == [("2026-11-16", 3)]  # the Monday
    assert summarize(table, by="month").rows[0]["month"] == "2026-11"


def test_since_until_and_several_keys() -> None:
    table = priced(ANTHROPIC)
    summary = summarize(table, by=["model", "tag:feature"], since="2026-11-16T09:20:00Z", until="2026-11-17")
    assert [(r["model"], r["tag_feature"], r["requests"]) for r in summary.rows] == [("claude-haiku-4-5", "triage", 2)]
    assert summarize(table, by="user", until="2026-11-16").rows == []


def test_unpriced_records_have_their_own_bucket_by_model() -> None:
    summary = summarize(priced(EXAMPLES / "anthropic_batch_results.jsonl", DEEPSEEK), by="model")
    nulls = [r for r in summary.rows if r["currency"] is None]
    assert [(r["model"], r["requests"], r["cost"]) for r in nulls] == [("claude-haiku-4-5", 1, None), (None, 1, None)]
    assert summary.unpriced == [
        {
            "provider": "anthropic",
            "model": "claude-haiku-4-5",
            "requests": 1,
            "input_tokens": 412,
            "output_tokens": 6,
            "reasons": ["no_timestamp"],
        }
    ]
    assert summary.totals[-1]["currency"] is None and summary.totals[-1]["requests"] == 2


def test_conversion_uses_the_rate_of_each_day_and_shows_it() -> None:
    summary = summarize(priced(DEEPSEEK), by="day", currency="usd")
    expected = {}
    for day, cny in (("2026-11-17", Decimal("0.0100188") + Decimal("0.0050094")), ("2026-11-21", Decimal("0.0050094"))):
        converted = fx.convert(cny, "CNY", "USD", dt.date.fromisoformat(day))
        expected[day] = plain(converted.amount.quantize(Decimal("1e-12")))
    assert {r["day"]: r["cost"] for r in summary.rows} == expected
    assert all(r["currency"] == "USD" for r in summary.rows)
    assert summary.totals[0]["cost"] == sum(expected.values())
    assert summary.fx and summary.fx[0]["from"] == "CNY" and summary.fx[0]["to"] == "USD"
    assert Decimal(summary.fx[0]["rate"]) > 0


def test_group_keys_are_checked() -> None:
    assert parse_by(["day,model", "tag:team"]) == ["day", "model", "tag:team"]
    with pytest.raises(UnknownNameError, match="did you mean model"):
        parse_by("modle")
    with pytest.raises(UsageError, match="repeats"):
        parse_by("day,day")
    with pytest.raises(UsageError, match="unknown time zone"):
        summarize(priced(DEEPSEEK), tz="Mars/Olympus")


def test_plain_amounts() -> None:
    assert str(plain(Decimal("0.007095000000"))) == "0.007095"
    assert str(plain(Decimal("10.000000000000"))) == "10"
    assert plain(None) is None


@pytest.mark.parametrize(
    ("by", "currency"),
    [(["day", "model"], None), (["provider"], "USD"), (["month", "project"], "CNY"), (["tag:feature"], None)],
)
def test_a_summary_taken_batch_by_batch_equals_the_whole_table(by: list[str], currency: str | None) -> None:
    """report_usage streams: sums per batch merged exactly (conversion after the per-day sums are merged)."""
    from tokctl.usage.report import summarize_batches

    table = priced(*sorted(EXAMPLES.glob("*.jsonl")))
    assert table.num_rows > 20
    whole = summarize(table, by=by, currency=currency, tz="Asia/Shanghai")
    pieces = summarize_batches(table.to_batches(max_chunksize=3), by=by, currency=currency, tz="Asia/Shanghai")
    assert pieces == whole
    assert whole.rows and whole.totals


def test_report_usage_streams_through_a_spill_file_with_the_same_answer(tmp_path) -> None:
    from tokctl.usage.report import report_usage

    paths = [str(p) for p in sorted(EXAMPLES.glob("*.jsonl"))]
    summary, accounting = report_usage([*paths, paths[0]], by=["provider", "model"])  # paths[0] twice: duplicates
    table = tokctl.read_usage([*paths, paths[0]], price=True)
    assert summary == summarize(table, by=["provider", "model"])
    assert accounting.duplicates > 0
    assert sum(r["requests"] for r in summary.rows) == table.num_rows
