"""Pricing: ``price_table`` (vectorized) against the scalar ``price()`` per record and genai-prices' ``calc_price``.

The usage table is the bundled example logs (examples/logs: OpenAI, Anthropic, Gemini, DeepSeek, Qwen,
Mistral, Kimi, GLM, Doubao, gateways), the rows with a model, tokens and a time, repeated to N rows with
their times moved by up to +-12 h. The per-record baselines run on a sample (they are slow) and their
rate is per record; the scalar function's total on the sample must equal price_table's to the cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bench.common import ROOT, Context, print_table, save, time_call, use_bench_cache, verdict

TARGET = 1_000_000  # records/s
GENAI_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "google": "google", "mistral": "mistral"}


def usage_table(rows: int) -> Any:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    import tokctl

    logs = tokctl.read_usage([str(ROOT / "examples" / "logs")])
    keep = pc.and_(
        pc.and_(pc.is_valid(logs["model"]), pc.is_valid(logs["input_tokens"])), pc.is_valid(logs["ts_start"])
    )
    base = logs.filter(keep).drop_columns(["cost", "currency", "price_ref"])
    copies = -(-rows // base.num_rows)
    big = pa.concat_tables([base] * copies).slice(0, rows).combine_chunks()
    rng = np.random.default_rng(8)
    shift = pa.array(rng.integers(-12 * 3600, 12 * 3600, big.num_rows) * 1_000_000, pa.int64())
    column = big["ts_start"]
    moved = pc.add(column.cast(pa.int64()), shift).cast(column.type)
    return big.set_column(big.column_names.index("ts_start"), "ts_start", moved)


def _usage(row: dict[str, Any]) -> Any:
    from tokctl.pricing import Usage

    return Usage(
        input_tokens=row["input_tokens"] or 0,
        cache_read_tokens=row["cache_read_tokens"] or 0,
        cache_write_tokens=(row["cache_write_tokens"] or 0) - (row["cache_write_1h_tokens"] or 0),
        cache_write_1h_tokens=row["cache_write_1h_tokens"] or 0,
        output_tokens=row["output_tokens"] or 0,
        reasoning_tokens=row["reasoning_tokens"] or 0,
    )


def scalar_prices(rows: list[dict[str, Any]]) -> list[Decimal | None]:
    from tokctl.errors import TokctlError
    from tokctl.pricing import price

    out: list[Decimal | None] = []
    for row in rows:
        try:
            cost = price(
                _usage(row),
                row["model"],
                row["provider"],
                at=row["ts_start"],
                service_tier=row["service_tier"],
                batch=bool(row["is_batch"]),
            )
        except TokctlError:  # unknown platform or contradictory counts: price_table leaves these unpriced
            out.append(None)
            continue
        out.append(cost.total)
    return out


def genai_prices(rows: list[dict[str, Any]]) -> int:
    """Rows priced by genai-prices' calc_price (rows whose provider or model it lacks are skipped)."""
    import genai_prices

    priced = 0
    for row in rows:
        provider = GENAI_PROVIDERS.get(row["provider"])
        if provider is None:
            continue
        usage = genai_prices.Usage(
            input_tokens=row["input_tokens"] or 0,
            cache_read_tokens=row["cache_read_tokens"] or 0,
            cache_write_tokens=row["cache_write_tokens"] or 0,
            output_tokens=row["output_tokens"] or 0,
        )
        try:
            genai_prices.calc_price(usage, row["model"], provider_id=provider, genai_request_timestamp=row["ts_start"])
        except LookupError:
            continue
        priced += 1
    return priced


def run(ctx: Context) -> dict[str, Any]:
    use_bench_cache()
    from tokctl.pricing import price_table

    n = 200_000 if ctx.quick else 1_000_000
    sample_n = 5_000 if ctx.quick else 20_000
    table = usage_table(n)
    price_table(table.slice(0, 1000))  # registry loaded and caches warm, as in a long-lived process
    table_time, priced = time_call(lambda: price_table(table), ctx.repeats)
    sample = table.slice(0, sample_n)
    rows = sample.to_pylist()
    scalar_time, scalar_totals = time_call(lambda: scalar_prices(rows), ctx.repeats)
    genai_rows = [r for r in rows if r["provider"] in GENAI_PROVIDERS]
    genai_time, genai_priced = time_call(lambda: genai_prices(genai_rows), ctx.repeats)
    vector_sample = priced.slice(0, sample_n)["cost"].to_pylist()
    scalar_sum = sum((c for c in scalar_totals if c is not None), Decimal(0))
    vector_sum = sum((c for c in vector_sample if c is not None), Decimal(0))
    agree = abs(scalar_sum - vector_sum) < Decimal("0.01")
    table_rate = n / table_time.median
    scalar_rate = sample_n / scalar_time.median
    genai_rate = len(genai_rows) / genai_time.median
    rows_out = [
        ["tokctl price_table (vectorized)", f"{n:,}", table_time.span(), f"{table_rate:,.0f}", "1.00x"],
        ["tokctl price() per record", f"{sample_n:,}", scalar_time.span(), f"{scalar_rate:,.0f}",
         f"{table_rate / scalar_rate:,.0f}x"],
        [f"genai-prices calc_price per record ({genai_priced:,} of {len(genai_rows):,} priced)",
         f"{len(genai_rows):,}", genai_time.span(), f"{genai_rate:,.0f}", f"{table_rate / genai_rate:,.0f}x"],
    ]  # fmt: skip
    print_table(
        f"Pricing (records/s, median of {ctx.repeats}); price_table faster by = its rate / the row's rate",
        ["method", "records", "seconds", "records/s", "price_table faster by"],
        rows_out,
        [
            f"scalar price() total on the sample {scalar_sum} vs price_table {vector_sum}: "
            f"{'equal' if agree else 'DIFFERENT'}; target price_table >= {TARGET:,} records/s: "
            f"{verdict(table_rate >= TARGET)}. genai-prices runs on the rows of platforms it knows "
            f"({', '.join(GENAI_PROVIDERS)})."
        ],
    )
    payload = {
        "records": n,
        "price_table_s": table_time.seconds,
        "scalar_sample": sample_n,
        "scalar_s": scalar_time.seconds,
        "genai_rows": len(genai_rows),
        "genai_priced": genai_priced,
        "genai_s": genai_time.seconds,
        "sums_agree": agree,
        "at": dt.datetime.now(dt.UTC).isoformat(),
    }
    save("pricing", payload)
    if not agree:
        raise AssertionError(f"price() and price_table() disagree on the sample: {scalar_sum} vs {vector_sum}")
    return payload
