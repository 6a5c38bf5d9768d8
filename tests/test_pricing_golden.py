"""Golden amounts on the real registry (tokenizers_registry), worked by hand from the prices in
../shared/reference/prices_reference.csv (the row used is quoted above each test). A test fails when the data
it needs is missing from the registry: a golden value that cannot be checked is a defect, not a pass."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tokctl.pricing import Usage, price
from tokctl.registry.calendars import all_calendars
from tokctl.registry.fx import convert, reference_rates
from tokctl.registry.providers import all_platforms

BEIJING = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
D = Decimal


def need(provider: str, model: str) -> None:
    platform = all_platforms().get(provider)
    if platform is None or not any(model in m.names() for m in platform.models):
        pytest.fail(f"{provider}/{model} is missing from tokenizers_registry: restore it (or update this golden test)")
    if platform.holiday_calendar and platform.holiday_calendar not in all_calendars():
        pytest.fail(f"calendar {platform.holiday_calendar} is missing from tokenizers_registry/calendars")


# deepseek,deepseek-v4-pro,CNY,...,9,0.3,,27,"peak: Mon-Fri 09:00-12:00 & 14:00-18:00 Asia/Shanghai, excl. CN
#   statutory holidays",,2026-08-17  and  ...,4.5,0.15,,13.5,off-peak: all other hours incl. weekends + holidays
# Usage: input 100,000 of which 60,000 cache hits; output 5,000 of which 2,000 reasoning (billed as output).
# Peak:     40,000 x 9 + 60,000 x 0.3 + 3,000 x 27 + 2,000 x 27 = 360,000 + 18,000 + 81,000 + 54,000
#           = 513,000 / 1e6 = 0.513 CNY
# Off-peak: 40,000 x 4.5 + 60,000 x 0.15 + 5,000 x 13.5 = 180,000 + 9,000 + 67,500 = 256,500 -> 0.2565 CNY
DEEPSEEK_USAGE = Usage(input_tokens=100_000, cache_read_tokens=60_000, output_tokens=5_000, reasoning_tokens=2_000)


@pytest.mark.parametrize(
    ("moment", "window", "total"),
    [
        (dt.datetime(2026, 11, 16, 10, 30, tzinfo=BEIJING), "peak", "0.513"),  # Monday 10:30
        (dt.datetime(2026, 11, 16, 12, 30, tzinfo=BEIJING), "off-peak", "0.2565"),  # Monday lunch hour
        (dt.datetime(2026, 11, 14, 10, 30, tzinfo=BEIJING), "off-peak", "0.2565"),  # Saturday
        (dt.datetime(2026, 10, 1, 10, 30, tzinfo=BEIJING), "off-peak", "0.2565"),  # National Day, a Thursday
    ],
)
def test_deepseek_v4_pro_cn_time_of_day(moment: dt.datetime, window: str, total: str) -> None:
    need("deepseek-cn", "deepseek-v4-pro")
    cost = price(DEEPSEEK_USAGE, "deepseek-v4-pro", "deepseek-cn", at=moment)
    assert (cost.total, cost.currency) == (D(total), "CNY")
    assert cost.price is not None and cost.price.window == window


# alibaba-bailian,qwen3-max,CNY,...,2.5,0.5,3.125,10,input_tokens<=32K  and  4,0.8,5,16,32K<input_tokens<=128K
# The registry's bound is read from the file (K = 1000 or 1024 is the data's call); at the bound: base prices,
# one token past it: the whole request, output included, at the second tier.
def test_qwen3_max_32k_boundary() -> None:
    need("alibaba-cn", "qwen3-max")
    model = next(m for m in all_platforms()["alibaba-cn"].models if m.id == "qwen3-max")
    period = next(p for p in model.prices if p.covers(dt.datetime(2026, 11, 15, tzinfo=BEIJING)))
    bound = period.tiers[0].threshold
    assert bound in (32000, 32768) and not period.tiers[0].inclusive
    at = dt.date(2026, 11, 15)
    at_bound = price(Usage(input_tokens=bound, output_tokens=1000), "qwen3-max", "alibaba-cn", at=at)
    past = price(Usage(input_tokens=bound + 1, output_tokens=1000), "qwen3-max", "alibaba-cn", at=at)
    # at the bound:  bound x 2.5 + 1000 x 10;  past it: (bound + 1) x 4 + 1000 x 16  (per 1e6)
    assert at_bound.total == (D(bound) * D("2.5") + 10_000) / 1_000_000
    assert past.total == (D(bound + 1) * 4 + 16_000) / 1_000_000
    if bound == 32768:  # 81,920 + 10,000 = 91,920 and 131,076 + 16,000 = 147,076
        assert (at_bound.total, past.total) == (D("0.09192"), D("0.147076"))
    else:  # 80,000 + 10,000 = 90,000 and 128,004 + 16,000 = 144,004
        assert (at_bound.total, past.total) == (D("0.09"), D("0.144004"))


# anthropic,claude-haiku-5-5,USD,...,0.1,0.01,0.125,0.5,prompt_tokens<=100000 (input+cache read+cache write)
#           ...,0.5,0.05,0.625,2.5,prompt_tokens>100000: every token incl. output at 5x
# Usage: input 120,000 = 30,000 uncached + 90,000 cache reads; output 2,000. Prompt = 120,000 > 100,000 only
# because cache reads count: 30,000 x 0.5 + 90,000 x 0.05 + 2,000 x 2.5 = 15,000 + 4,500 + 5,000 = 24,500
# -> 0.0245 USD (without counting the reads it would be 3,000 + 900 + 1,000 = 4,900 -> 0.0049).
def test_claude_haiku_5_5_tier_counts_cache_reads() -> None:
    need("anthropic", "claude-haiku-5-5")
    usage = Usage(input_tokens=120_000, cache_read_tokens=90_000, output_tokens=2_000)
    cost = price(usage, "claude-haiku-5-5", at=dt.date(2026, 11, 15))
    assert (cost.provider, cost.currency, cost.total) == ("anthropic", "USD", D("0.0245"))
    assert cost.price is not None and cost.price.tier == ">100000"


# google,gemini-4-argon,USD,...,2,0.1,,10,...,2026-09-30,2026-11-30  and  4,0.2,,20,...,2026-12-01,
# Usage: input 10,000, output 1,000. Nov 30: 10,000 x 2 + 1,000 x 10 = 30,000 -> 0.03; Dec 1: 0.06 USD.
@pytest.mark.parametrize(("day", "total"), [(dt.date(2026, 11, 30), "0.03"), (dt.date(2026, 12, 1), "0.06")])
def test_gemini_4_argon_price_rise(day: dt.date, total: str) -> None:
    need("google", "gemini-4-argon")
    cost = price(Usage(input_tokens=10_000, output_tokens=1_000), "gemini-4-argon", at=day)
    assert (cost.provider, cost.total) == ("google", D(total))
    late = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=UTC)
    assert price(Usage(input_tokens=10_000, output_tokens=1_000), "gemini-4-argon", at=late).total == D(total)


# anthropic,claude-opus-5-5,USD,...,4,0.2,5,20,...  notes: "1h cache write $8"
# Usage: input 50,000 = 10,000 uncached + 40,000 written with the 1-hour TTL; output 1,000.
# 10,000 x 4 + 40,000 x 8 + 1,000 x 20 = 40,000 + 320,000 + 20,000 = 380,000 -> 0.38 USD
def test_anthropic_one_hour_cache_write() -> None:
    need("anthropic", "claude-opus-5-5")
    usage = Usage(input_tokens=50_000, cache_write_1h_tokens=40_000, output_tokens=1_000)
    cost = price(usage, "claude-opus-5-5", "anthropic", at=dt.date(2026, 11, 15))
    assert cost.total == D("0.38")
    write = next(c for c in cost.components if c.kind == "cache_write_1h")
    assert (write.tokens, write.unit_price, write.cost) == (40_000, D(8), D("0.32"))


# openai,gpt-6.1-sol,USD,...,2,0.1,2.5,10,input_tokens<=272000,0.5,2026-09-29
# Batch (x 0.5): input 100,000 = 80,000 uncached + 20,000 cached; output 10,000.
# 80,000 x 1 + 20,000 x 0.05 + 10,000 x 5 = 80,000 + 1,000 + 50,000 = 131,000 -> 0.131 USD
def test_openai_batch_request() -> None:
    need("openai", "gpt-6.1-sol")
    usage = Usage(input_tokens=100_000, cache_read_tokens=20_000, output_tokens=10_000)
    cost = price(usage, "gpt-6.1-sol", "openai", at=dt.date(2026, 11, 15), batch=True)
    assert cost.total == D("0.131")
    assert cost.price is not None and cost.price.service_tier == "batch"


# A conversion with a dated rate. DeepSeek V4-Pro on Saturday 2026-10-03 10:30 Beijing (a holiday and a weekend):
# off-peak, 0.2565 CNY as above. The latest rate on or before that day (02:30 UTC on 2026-10-03) is Friday's:
#   tokenizers_registry/fx/reference.csv: 2026-10-02,CNY,USD,0.149152 (ECB cross rate)
# 0.2565 x 0.149152 = 0.037288 + 0.000969488 = 0.038257488 USD
def test_conversion_with_a_dated_rate() -> None:
    need("deepseek-cn", "deepseek-v4-pro")
    if not any(r.date == dt.date(2026, 10, 2) and r.from_currency == "CNY" for r in reference_rates()):
        pytest.fail("the 2026-10-02 CNY->USD reference rate is missing from tokenizers_registry/fx")
    moment = dt.datetime(2026, 10, 3, 10, 30, tzinfo=BEIJING)
    cost = price(DEEPSEEK_USAGE, "deepseek-v4-pro", "deepseek-cn", at=moment)
    assert cost.total == D("0.2565")
    converted = convert(cost.total, cost.currency, "USD", moment)
    assert (converted.amount, converted.rate, converted.rate_date) == (
        D("0.038257488"),
        D("0.149152"),
        dt.date(2026, 10, 2),
    )
    assert "ecb.europa.eu" in converted.rate_source and not converted.inverse
