"""tokctl.pricing on the fixture registry (tests/data/providers, invented prices, hand-worked amounts), and
price_table() against price() row by row (hypothesis). Golden amounts on the real registry are in
tests/test_pricing_golden.py."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pricing_fixtures import fixture_registry  # noqa: F401  (pytest fixture)
from tokctl.errors import UnknownModelError, UnknownProviderError, UsageError
from tokctl.pricing import Usage, parse_at, price, price_table
from tokctl.schema import usage_schema

BEIJING = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
D = Decimal
# input 1000 (200 cache reads), output 300 (100 reasoning): 800 uncached, 200 read, 200 text out, 100 reasoning.
MIXED = Usage(input_tokens=1000, cache_read_tokens=200, output_tokens=300, reasoning_tokens=100)


def beijing(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BEIJING)  # type: ignore[misc]


pytestmark = pytest.mark.usefixtures("fixture_registry")


# --- time windows, holidays, periods (acme-cn/acme-pro: peak 8/0.2/24, off-peak 4/0.1/12 from 2026-06-01) ---


@pytest.mark.parametrize(
    ("moment", "window", "total"),
    [
        # peak: 800*8 + 200*0.2 + 200*24 + 100*24 = 6400 + 40 + 4800 + 2400 = 13640 -> /1e6
        (beijing(2026, 11, 16, 10, 0), "peak", "0.01364"),  # Monday 10:00
        (beijing(2026, 11, 16, 9, 0), "peak", "0.01364"),  # start of the window is inside
        (beijing(2026, 11, 16, 17, 59), "peak", "0.01364"),
        # off-peak: 800*4 + 200*0.1 + 200*12 + 100*12 = 3200 + 20 + 2400 + 1200 = 6820
        (beijing(2026, 11, 16, 8, 59), "off-peak", "0.00682"),
        (beijing(2026, 11, 16, 12, 0), "off-peak", "0.00682"),  # end of the window is outside
        (beijing(2026, 11, 16, 18, 0), "off-peak", "0.00682"),
        (beijing(2026, 11, 14, 10, 0), "off-peak", "0.00682"),  # Saturday
        (beijing(2026, 10, 1, 10, 0), "off-peak", "0.00682"),  # Thursday, a holiday in the fixture calendar
        (beijing(2026, 10, 10, 10, 0), "off-peak", "0.00682"),  # Saturday made a workday: still a weekend
        # night (Fri 22:00-02:00, 0.25 x base: 1/0.025/3): 800 + 5 + 600 + 300 = 1705
        (beijing(2026, 11, 20, 23, 0), "night", "0.001705"),
        (beijing(2026, 11, 21, 1, 30), "night", "0.001705"),  # Saturday early hours: the wrap of Friday
        (beijing(2026, 11, 21, 2, 0), "off-peak", "0.00682"),
        (beijing(2026, 11, 19, 23, 0), "off-peak", "0.00682"),  # Thursday night is not listed
    ],
)
def test_time_windows_in_platform_time_zone(moment: dt.datetime, window: str, total: str) -> None:
    cost = price(MIXED, "acme-pro", "acme-cn", at=moment.astimezone(UTC))
    assert cost.total == D(total)
    assert cost.price is not None and cost.price.window == window
    assert cost.currency == "CNY"


def test_period_boundary_and_bare_date() -> None:
    # 2026-06-01 00:00 Beijing = 2026-05-31 16:00 UTC. Before: 800*2 + 200*0.5 + 300*8 = 4100.
    before = price(MIXED, "acme-pro", "acme-cn", at=dt.datetime(2026, 5, 31, 15, 59, 59, 999999, tzinfo=UTC))
    after = price(MIXED, "acme-pro", "acme-cn", at=dt.datetime(2026, 5, 31, 16, tzinfo=UTC))
    assert before.total == D("0.0041") and before.price and before.price.window is None
    assert after.total == D("0.00682") and after.price and after.price.window == "off-peak"
    assert after.price.effective_from == beijing(2026, 6, 1)
    on_date = price(MIXED, "acme-pro", "acme-cn", at=dt.date(2026, 6, 1))
    assert on_date.at == beijing(2026, 6, 1) and on_date.total == D("0.00682")


def test_components_are_exact_and_explained() -> None:
    cost = price(MIXED, "acme-pro", "acme-cn", at=beijing(2026, 11, 16, 10))
    assert [(c.kind, c.tokens, c.unit_price, c.cost) for c in cost.components] == [
        ("input", 800, D(8), D("0.0064")),
        ("cache_read", 200, D("0.2"), D("0.00004")),
        ("output", 200, D(24), D("0.0048")),
        ("reasoning", 100, D(24), D("0.0024")),
    ]
    assert cost.components[-1].note == "billed at the output price"
    assert cost.price is not None
    assert cost.price.ref == "acme-cn/acme-pro@2026-06-01T00:00:00+08:00#peak"
    assert cost.price.source == "https://example.invalid/acme-cn/v2" and cost.price.confidence == "high"


def test_cache_write_without_its_own_price_is_billed_as_input() -> None:
    # acme-pro has no cache_write price: 600 uncached + 400 written, all at the peak input price 8.
    usage = Usage(input_tokens=1000, cache_write_tokens=400, output_tokens=0)
    cost = price(usage, "acme-pro", "acme-cn", at=beijing(2026, 11, 16, 10))
    write = next(c for c in cost.components if c.kind == "cache_write")
    assert (write.tokens, write.unit_price, write.cost) == (400, D(8), D("0.0032"))
    assert "billed at the input price" in write.note
    assert cost.total == D("0.008")


def test_unpriced_is_never_zero() -> None:
    retired = price(MIXED, "acme-old", "acme-cn", at=dt.datetime(2026, 3, 1, tzinfo=UTC))
    early = price(MIXED, "acme-old", "acme-cn", at=dt.datetime(2024, 6, 1, tzinfo=UTC))
    nothing = price(MIXED, "acme-unpriced", "acme-cn", at=dt.datetime(2026, 3, 1, tzinfo=UTC))
    assert (retired.total, retired.unpriced) == (None, "no_price_for_date")
    assert (early.total, early.unpriced) == (None, "before_first_price")
    assert (nothing.total, nothing.unpriced) == (None, "no_price")
    assert "2024-06-01" in early.reason and "2025-01-01" in early.reason


def test_missing_component_price_is_unpriced() -> None:
    # acme-cn resells rivet-large with input and output prices only: a cache read cannot be priced.
    cost = price(MIXED, "rivet-large", "acme-cn", at=dt.datetime(2026, 11, 1, tzinfo=UTC))
    assert (cost.total, cost.unpriced) == (None, "missing_price:cache_read")
    plain = price(Usage(input_tokens=1000, output_tokens=10), "rivet-large", "acme-cn", at=dt.date(2026, 11, 1))
    assert plain.total == D("0.021")  # 1000*20 + 10*100 = 21000


# --- tiers (acme-tiered: above 32768 -> 4/0.8/5/16, above 131072 -> 7/1.4/8.75/28; base 2.5/0.5/3.125/10) ---


@pytest.mark.parametrize(
    ("input_tokens", "tier", "total"),
    [
        (32768, None, "0.09192"),  # 32768*2.5 = 81920, 1000*10 = 10000
        (32769, ">32768", "0.147076"),  # 32769*4 = 131076, output repriced too: 1000*16 = 16000
        (131072, ">32768", "0.540288"),  # 131072*4 = 524288 + 16000
        (131073, ">131072", "0.945511"),  # 131073*7 = 917511 + 1000*28 = 28000
    ],
)
def test_tier_bounds_exclusive(input_tokens: int, tier: str | None, total: str) -> None:
    cost = price(Usage(input_tokens=input_tokens, output_tokens=1000), "acme-tiered", at=dt.date(2026, 11, 1))
    assert cost.total == D(total)
    assert cost.price is not None and cost.price.tier == tier


def test_tier_counts_cache_and_batch_applies_after() -> None:
    # 25000 uncached + 5000 read + 10000 written = 40000 > 32768: 25000*4 + 5000*0.8 + 10000*5 = 154000
    usage = Usage(input_tokens=40000, cache_read_tokens=5000, cache_write_tokens=10000)
    assert price(usage, "acme-tiered", at=dt.date(2026, 11, 1)).total == D("0.154")
    # batch after the tier: (32769*4 + 1000*16) * 0.5 = 147076 / 2 = 73538
    batch = price(Usage(input_tokens=32769, output_tokens=1000), "acme-tiered", at=dt.date(2026, 11, 1), batch=True)
    assert batch.total == D("0.073538")
    assert batch.price is not None and batch.price.ref.endswith("#>32768+batch")


@pytest.mark.parametrize(
    ("input_tokens", "total"),
    [
        (199999, "0.614997"),  # 199999*3 + 1000*15 = 599997 + 15000
        (200000, "1.215"),  # from = 200000 is inclusive; reprices = "input": 200000*6 + 1000*15 (base output)
    ],
)
def test_inclusive_tier_repricing_input_only(input_tokens: int, total: str) -> None:
    cost = price(Usage(input_tokens=input_tokens, output_tokens=1000), "rivet-large", "rivet", at=dt.date(2026, 3, 1))
    assert cost.total == D(total)


def test_reasoning_price_and_tier_on_prompt_with_cache_reads() -> None:
    # rivet-mini: 1000*0.1 + 300*0.5 + 200*0.8 (reasoning priced apart) = 100 + 150 + 160 = 410
    usage = Usage(input_tokens=1000, output_tokens=500, reasoning_tokens=200)
    assert price(usage, "rivet-mini", at=dt.date(2026, 3, 1)).total == D("0.00041")
    # 40001 uncached + 60000 read = 100001 > 100000: 40001*0.5 + 60000*0.05 + 1000*2.5 = 25500.5
    over = Usage(input_tokens=100001, cache_read_tokens=60000, output_tokens=1000)
    assert price(over, "rivet-mini", at=dt.date(2026, 3, 1)).total == D("0.0255005")
    # exactly 100000 stays in the base: 40000*0.1 + 60000*0.01 + 1000*0.5 = 5100
    at_bound = Usage(input_tokens=100000, cache_read_tokens=60000, output_tokens=1000)
    assert price(at_bound, "rivet-mini", at=dt.date(2026, 3, 1)).total == D("0.0051")


# --- history, cache TTLs, batch and service tiers (rivet/rivet-large, rivet-mini) ---


def test_one_hour_cache_write_and_price_history() -> None:
    # uncached 3000*3 + read 1000*0.15 + write 2000*3.75 + 1h write 4000*6 + output 500*15
    # = 9000 + 150 + 7500 + 24000 + 7500 = 48150
    usage = Usage(
        input_tokens=10000,
        cache_read_tokens=1000,
        cache_write_tokens=2000,
        cache_write_1h_tokens=4000,
        output_tokens=500,
    )
    assert price(usage, "rivet-large", at=dt.date(2026, 11, 15)).total == D("0.04815")
    # before the cache-read cut on 2026-10-07 the read cost 0.3: + 150 more
    assert price(usage, "rivet-large", at=dt.date(2026, 10, 6)).total == D("0.0483")


@pytest.mark.parametrize(
    ("service_tier", "batch", "total", "code"),
    [
        (None, False, "0.0045", None),  # 1000*3 + 100*15 = 4500
        ("default", False, "0.0045", None),
        ("flex", False, "0.00225", None),  # x 0.5
        ("Flex", False, "0.00225", None),
        ("priority", False, "0.009", None),  # explicit: 1000*6 + 100*30 = 9000
        ("batch", False, "0.00225", None),  # a service tier reported as batch is batch
        (None, True, "0.00225", None),
        ("scale", False, None, "no_service_tier_price:scale"),
        ("flex", True, None, "batch_with_service_tier"),
    ],
)
def test_service_tiers_and_batch(service_tier: str | None, batch: bool, total: str | None, code: str | None) -> None:
    usage = Usage(input_tokens=1000, output_tokens=100)
    cost = price(usage, "rivet-large", at=dt.date(2026, 3, 1), service_tier=service_tier, batch=batch)
    assert cost.total == (None if total is None else D(total))
    assert cost.unpriced == code


def test_explicit_batch_prices() -> None:
    # rivet-mini [batch]: input 0.05, output 0.25 -> 1000*0.05 + 100*0.25 = 75
    assert price(Usage(1000, output_tokens=100), "rivet-mini", at=dt.date(2026, 3, 1), batch=True).total == D(
        "0.000075"
    )
    with_read = price(Usage(1000, cache_read_tokens=10), "rivet-mini", at=dt.date(2026, 3, 1), batch=True)
    assert with_read.unpriced == "missing_price:cache_read"
    over_tier = price(Usage(100001), "rivet-mini", at=dt.date(2026, 3, 1), batch=True)
    assert over_tier.unpriced == "no_batch_price_for_tier"
    priority_over_tier = price(Usage(200000), "rivet-large", at=dt.date(2026, 3, 1), service_tier="priority")
    assert priority_over_tier.unpriced == "no_priority_price_for_tier"


def test_more_than_six_decimals_stays_exact() -> None:
    # 3*0.1234567 + 10*0.5 = 0.3703701 + 5 = 5.3703701 per 1e6
    assert price(Usage(3, output_tokens=10), "rivet-nano", at=dt.date(2026, 3, 1)).total == D("0.0000053703701")


# --- resolution and bad input ---


def test_resolution_prefers_the_makers_platform_and_says_so() -> None:
    cost = price(Usage(1000), "RIVET-LARGE", at=dt.date(2026, 3, 1))
    assert (cost.provider, cost.model, cost.alternatives) == ("rivet", "rivet-large", ("acme-cn",))
    alias = price(Usage(1000), "rivet-large-2026", at=dt.date(2026, 3, 1))
    assert (alias.provider, alias.model, alias.alternatives) == ("rivet", "rivet-large", ())
    assert price(Usage(1000), "acme-cn/rivet-large", at=dt.date(2026, 3, 1)).provider == "acme-cn"


def test_bad_input_raises() -> None:
    with pytest.raises(UnknownModelError, match="did you mean acme-pro"):
        price(MIXED, "acme-prp")
    with pytest.raises(UnknownProviderError):
        price(MIXED, "acme-pro", "acme")
    with pytest.raises(UsageError, match="exceed the input"):
        price(Usage(input_tokens=10, cache_read_tokens=11), "acme-pro")
    with pytest.raises(UsageError, match="reasoning"):
        price(Usage(output_tokens=1, reasoning_tokens=2), "acme-pro")
    with pytest.raises(UsageError, match="no time zone"):
        price(MIXED, "acme-pro", at=dt.datetime(2026, 1, 1))


def test_parse_at() -> None:
    assert parse_at("2026-11-16", BEIJING) == beijing(2026, 11, 16)
    assert parse_at("2026-11-16T02:00:00Z", BEIJING) == dt.datetime(2026, 11, 16, 2, tzinfo=UTC)
    assert parse_at("2026-11-16T10:00+08:00", UTC) == beijing(2026, 11, 16, 10)
    with pytest.raises(UsageError, match="no time zone"):
        parse_at("2026-11-16T10:00", UTC)
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_at("16/11/2026", UTC)


# --- price_table ---


def usage_table(rows: list[dict[str, object]]) -> pa.Table:
    schema = usage_schema()
    columns = {f.name: [row.get(f.name) for row in rows] for f in schema}
    columns["record_id"] = [str(i) for i in range(len(rows))]
    columns["source_format"] = ["test"] * len(rows)
    columns["token_basis"] = ["reported"] * len(rows)
    return pa.table(columns, schema=schema)


def table_row(usage: Usage, **fields: object) -> dict[str, object]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens + usage.cache_write_1h_tokens,  # all TTLs in the record
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        **fields,
    }


def test_price_table_fills_cost_and_flags() -> None:
    at = dt.datetime(2026, 11, 16, 2, tzinfo=UTC)  # Monday 10:00 Beijing: peak
    rows = [
        table_row(MIXED, provider="acme-cn", model="acme-pro", ts_start=at, flags=["dedup_collapsed"]),
        table_row(MIXED, provider=None, model="acme-pro", ts_start=at),
        table_row(MIXED, provider="acme-cn", model="acme-old", ts_start=at, flags=["x"]),
        table_row(MIXED, provider="acme-cn", model="nope", ts_start=at),
        table_row(MIXED, provider="acme-cn", model="acme-pro", ts_start=None),
        {"provider": "acme-cn", "model": "acme-pro", "ts_start": at, "input_tokens": 5, "cache_read_tokens": 6},
        {
            "provider": "acme-cn",
            "model": "acme-pro",
            "ts_start": at,
            "cache_write_tokens": 1,
            "cache_write_1h_tokens": 2,
        },
        {"provider": "acme-cn", "model": "acme-pro", "ts_start": at, "output_tokens": 1, "reasoning_tokens": 2},
        {"provider": "acme-cn", "model": None, "ts_start": at},
        {"provider": "acme-cn", "model": "acme-pro", "ts_start": at, "input_tokens": 10},  # nulls count as 0
    ]
    out = price_table(usage_table(rows))
    assert out.schema.field("cost").type == pa.decimal128(38, 12)
    assert out.column("cost").to_pylist() == [
        D("0.01364"),
        D("0.01364"),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        D("0.00008"),
    ]
    assert out.column("currency").to_pylist()[:2] == ["CNY", "CNY"]
    assert out.column("price_ref").to_pylist()[0] == "acme-cn/acme-pro@2026-06-01T00:00:00+08:00#peak"
    assert out.column("flags").to_pylist() == [
        ["dedup_collapsed"],
        None,
        ["x", "unpriced:no_price_for_date"],
        ["unpriced:unknown_model"],
        ["unpriced:no_timestamp"],
        ["unpriced:cache_exceeds_input"],
        ["unpriced:cache_write_1h_exceeds_cache_write"],
        ["unpriced:reasoning_exceeds_output"],
        ["unpriced:no_model"],
        None,
    ]
    assert out.column("provider").to_pylist()[1] is None  # the input columns are left as they were
    assert out.num_rows == len(rows) and out.column_names == usage_schema().names


def test_price_table_at_default_batches_and_chunks() -> None:
    at = dt.datetime(2026, 11, 16, 2, tzinfo=UTC)
    table = usage_table([table_row(MIXED, provider="acme-cn", model="acme-pro", ts_start=None)] * 3)
    assert price_table(table, at=at).column("cost").to_pylist() == [D("0.01364")] * 3
    batch = price_table(table.to_batches()[0], at=at)
    assert isinstance(batch, pa.RecordBatch) and batch.column(batch.schema.get_field_index("cost"))[0].as_py() == D(
        "0.01364"
    )
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1)])
    assert price_table(chunked, at=at).column("cost").to_pylist() == [D("0.01364")] * 3
    # chunks with their own dictionaries (model codes 0 mean different models in each chunk)
    other = usage_table([table_row(Usage(1000), provider="rivet", model="rivet-mini", ts_start=at)])
    mixed = pa.concat_tables([other, table])
    assert mixed.column("model").num_chunks == 2
    assert price_table(mixed, at=at).column("cost").to_pylist() == [D("0.0001")] + [D("0.01364")] * 3
    empty = price_table(table.slice(0, 0))
    assert empty.num_rows == 0 and empty.schema == price_table(table, at=at).schema


def test_price_table_rounds_only_beyond_twelve_decimals() -> None:
    # exact 0.0000053703701 has 13 decimals: half-even to 12 gives 0.000005370370
    rows = [table_row(Usage(3, output_tokens=10), model="rivet-nano", ts_start=dt.datetime(2026, 3, 1, tzinfo=UTC))]
    assert price_table(usage_table(rows)).column("cost").to_pylist() == [D("0.000005370370")]


def test_price_table_huge_buckets_do_not_overflow() -> None:
    # 10^13 output tokens of acme-pro at off-peak 12 per 1M = 120,000,000 exactly (beyond int64 in 1e-12 units)
    rows = [table_row(Usage(output_tokens=10**13), model="acme-pro", ts_start=beijing(2026, 11, 14, 10))]
    assert price_table(usage_table(rows)).column("cost").to_pylist() == [D("120000000")]


MODELS = [
    "acme-pro",
    "acme-pro-0601",
    "acme-tiered",
    "acme-old",
    "acme-unpriced",
    "rivet-large",
    "rivet-mini",
    "rivet-nano",
    "nope",
    None,
]
PROVIDERS = [None, "acme-cn", "rivet", "nowhere"]
SERVICE = [None, "standard", "default", "batch", "flex", "Flex", "priority", "scale"]
BOUNDARY = [0, 1, 32768, 32769, 100000, 100001, 131072, 131073, 199999, 200000, 200001]


# Moments where the rules change: window edges, a holiday, the wrap after midnight, period boundaries.
SPECIAL_MOMENTS = [
    beijing(2026, 10, 1, 10),  # holiday (fixture calendar), a Thursday
    beijing(2026, 6, 19, 9),  # holiday, a Friday, at the start of the peak window
    beijing(2026, 11, 16, 9),
    beijing(2026, 11, 16, 8, 59, 59),
    beijing(2026, 11, 16, 12),
    beijing(2026, 11, 20, 22),
    beijing(2026, 11, 21, 1, 59),
    beijing(2026, 11, 21, 2),
    beijing(2026, 6, 1),
    beijing(2026, 5, 31, 23, 59, 59, 999999),
    dt.datetime(2026, 10, 7, tzinfo=UTC),
    dt.datetime(2026, 10, 6, 23, 59, 59, 999999, tzinfo=UTC),
    beijing(2025, 12, 31),
    dt.datetime(2026, 3, 1, 12, tzinfo=UTC),
]


@st.composite
def usage_rows(draw: st.DrawFn) -> dict[str, object]:
    prompt = draw(st.one_of(st.sampled_from(BOUNDARY), st.integers(0, 250_000)))
    read = draw(st.integers(0, prompt))
    write = draw(st.integers(0, prompt - read))
    write_1h = draw(st.integers(0, prompt - read - write))
    output = draw(st.integers(0, 20_000))
    usage = Usage(prompt, read, write, write_1h, output, draw(st.integers(0, output)))
    moment = draw(
        st.one_of(
            st.sampled_from(SPECIAL_MOMENTS),
            st.datetimes(dt.datetime(2024, 12, 1), dt.datetime(2027, 1, 1), timezones=st.just(UTC)),
        )
    )
    return table_row(
        usage,
        provider=draw(st.sampled_from(PROVIDERS)),
        model=draw(st.sampled_from(MODELS)),
        ts_start=moment,
        service_tier=draw(st.sampled_from(SERVICE)),
        is_batch=draw(st.sampled_from([None, False, True])),
    )


def expected(row: dict[str, object]) -> tuple[Decimal | None, str | None, str | None]:
    """(cost at 12 decimals, price_ref, unpriced flag) from the scalar price()."""
    if row["model"] is None:
        return None, None, "unpriced:no_model"
    usage = Usage(
        row["input_tokens"],
        row["cache_read_tokens"],  # type: ignore[arg-type]
        row["cache_write_tokens"] - row["cache_write_1h_tokens"],  # type: ignore[operator]
        row["cache_write_1h_tokens"],
        row["output_tokens"],
        row["reasoning_tokens"],
    )  # type: ignore[arg-type]
    try:
        cost = price(
            usage,
            row["model"],
            row["provider"],
            at=row["ts_start"],  # type: ignore[arg-type]
            service_tier=row["service_tier"],
            batch=bool(row["is_batch"]),
        )  # type: ignore[arg-type]
    except UnknownProviderError:
        return None, None, "unpriced:unknown_provider"
    except UnknownModelError:
        return None, None, "unpriced:unknown_model"
    if cost.total is None:
        return None, None, f"unpriced:{cost.unpriced}"
    assert cost.price is not None
    return cost.total.quantize(D("1e-12")), cost.price.ref, None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(usage_rows(), min_size=1, max_size=40))
def test_price_table_equals_price_row_by_row(rows: list[dict[str, object]]) -> None:
    out = price_table(usage_table(rows)).to_pylist()
    for row, got in zip(rows, out, strict=True):
        cost, ref, flag = expected(row)
        assert got["cost"] == cost, row
        assert got["price_ref"] == ref
        assert (got["flags"] or [None])[-1] == flag


def test_price_table_equals_price_on_a_grid() -> None:
    """Every model x provider x rule-changing moment x tier boundary, service tiers in turn."""
    rows = []
    for i, (model, provider, moment, prompt) in enumerate(
        itertools.product(MODELS, PROVIDERS, SPECIAL_MOMENTS, BOUNDARY)
    ):
        read, write_1h = prompt // 3, prompt // 7
        usage = Usage(prompt, read, prompt // 5, write_1h, 1000 + i % 7, i % 5)
        service = SERVICE[i % len(SERVICE)]
        rows.append(
            table_row(
                usage, provider=provider, model=model, ts_start=moment, service_tier=service, is_batch=i % 11 == 0
            )
        )
    out = price_table(usage_table(rows)).to_pylist()
    mismatches = [
        (row, got)
        for row, got in zip(rows, out, strict=True)
        if (got["cost"], got["price_ref"], (got["flags"] or [None])[-1]) != expected(row)
    ]
    assert not mismatches, mismatches[:3]
