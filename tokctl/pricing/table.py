"""Pricing a usage table: :func:`price_table`, vectorized.

Rows are grouped by (provider, model); within a group each row gets its price segment (a binary search on
the timestamps), its time window and prompt-size tier (array masks implementing tokctl.pricing.rules), its
batch flag and service tier. Every distinct combination is a *variant* priced once by ``rules.select``; the
cost of every row is then ``sum(tokens[kind] * unit_price[variant, kind])`` over whole columns, in integer
units of 1e-12 (the scale of decimal128(38, 12)), which is exact whenever a price has at most 6 decimals
(per 1M tokens). Other rows (more decimals, or sums that could overflow int64) are priced in Decimal and
rounded half-even to 12 decimals: the only rounding, forced by the column type.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tokctl.errors import UnknownModelError, UnknownProviderError, UsageError
from tokctl.pricing.book import Entry, Segment, lookup
from tokctl.pricing.columns import (
    TOKEN_PROBLEMS,
    dictionary_codes,
    service_columns,
    small_unique,
    timestamps,
    token_columns,
)
from tokctl.pricing.fill import fill
from tokctl.pricing.rules import Selection, select
from tokctl.pricing.scalar import component_cost, price_row
from tokctl.pricing.types import KINDS
from tokctl.registry.providers import PricePeriod, Window

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_MINUTE_US = 60_000_000
_FAST_LIMIT = 2**62  # row sums above this (estimated in float) take the exact Decimal path
_SCALE = 12


def _us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _US


@dataclass
class _Variants:
    """Every distinct price choice met in the table, with its unit prices as integers."""

    refs: list[str] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    index: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def add(self, entry: Entry, period: PricePeriod, key: tuple[int, int, bool, str | None]) -> int:
        full = (id(entry.platform), entry.model.id, id(period), *key)
        if full not in self.index:
            chosen = select(period, *key)
            row = price_row(entry, period, chosen)
            self.index[full] = len(self.selections)
            self.selections.append(chosen)
            self.refs.append(row.ref)
            self.currencies.append(entry.platform.currency)
        return self.index[full]


class _Reasons:
    def __init__(self) -> None:
        self.codes: list[str] = [""]
        self.index: dict[str, int] = {}

    def code(self, reason: str) -> int:
        if reason not in self.index:
            self.index[reason] = len(self.codes)
            self.codes.append(reason)
        return self.index[reason]


@dataclass
class _Pass:
    """The table's columns as arrays, and the per-row results being filled (reason code, variant)."""

    tokens: dict[str, Any]
    token_problem: Any
    ts_us: Any
    ts_ok: Any
    service_named: Any  # index into service_names (0: base prices)
    service_batch: Any
    service_names: list[str | None]
    reason: Any
    variant: Any
    variants: _Variants = field(default_factory=_Variants)
    reasons: _Reasons = field(default_factory=_Reasons)


def price_table(table: Any, *, at: dt.datetime | None = None) -> Any:
    """Fill ``cost``, ``currency`` and ``price_ref`` of a usage table (tokctl.schema columns).

    Rows that cannot be priced get a null cost (never 0) and ``unpriced:<reason>`` appended to ``flags``.
    Null token columns count as 0; ``cache_write_tokens`` is all cache writes, ``cache_write_1h_tokens`` the
    1-hour part of it. A null ``provider`` is resolved from the model as :func:`tokctl.price` does. Rows
    with a null ``ts_start`` are priced at ``at`` when given, else flagged ``unpriced:no_timestamp``.
    Accepts a pyarrow Table or RecordBatch and returns the same kind; for a stream, call it per batch.
    """
    import numpy as np
    import pyarrow as pa

    if isinstance(table, pa.RecordBatch):
        result = price_table(pa.Table.from_batches([table]), at=at).combine_chunks()
        batches = result.to_batches()
        return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=result.schema)
    if "model" not in table.column_names:
        raise UsageError("the usage table has no model column", fix="build it with tokctl.schema.usage_schema()")
    n = table.num_rows
    tokens, token_problem = token_columns(table, n)
    ts_us, ts_ok = timestamps(table, n, at)
    named, batch, names = service_columns(table, n)
    state = _Pass(
        tokens,
        token_problem,
        ts_us,
        ts_ok,
        named,
        batch,
        names,
        reason=np.zeros(n, dtype="int32"),
        variant=np.full(n, -1, dtype="int64"),
    )
    for rows, provider, model in _groups(table, n):
        entry, failure = _lookup(model, provider)
        if entry is None:
            state.reason[rows] = state.reasons.code(failure)
        else:
            _price_group(rows, entry, state)
    cost, priced = _costs(tokens, state.variant, state.variants, state.reasons, state.reason)
    return fill(
        table,
        cost,
        priced,
        state.variant,
        state.variants.currencies,
        state.variants.refs,
        state.reason,
        state.reasons.codes,
    )


def _groups(table: Any, n: int) -> Any:
    """(row indices, provider or None, model or None) for each distinct pair."""
    import numpy as np

    provider_codes, providers = dictionary_codes(table, "provider", n)
    model_codes, models = dictionary_codes(table, "model", n)
    key = (provider_codes + 1) * (len(models) + 1) + (model_codes + 1)
    uniques, inverse = small_unique(key, (len(providers) + 1) * (len(models) + 1))
    order = np.argsort(inverse.astype("int16") if len(uniques) < 2**15 else inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(uniques)))])
    for g, value in enumerate(uniques):
        p, m = divmod(int(value), len(models) + 1)
        yield order[bounds[g] : bounds[g + 1]], providers[p - 1] if p else None, models[m - 1] if m else None


def _lookup(model: str | None, provider: str | None) -> tuple[Entry | None, str]:
    if model is None:
        return None, "no_model"
    try:
        return lookup(model, provider), ""
    except UnknownProviderError:
        return None, "unknown_provider"
    except UnknownModelError:
        return None, "unknown_model"


def _price_group(rows: Any, entry: Entry, state: _Pass) -> None:
    """Assign each row of one (provider, model) its segment, or the reason it has none."""
    import numpy as np

    ts = state.ts_us[rows]
    failed = np.zeros(len(rows), dtype="int32")
    problems = state.token_problem[rows]
    for value, text in TOKEN_PROBLEMS.items():
        failed[problems == value] = state.reasons.code(text)
    failed[~state.ts_ok[rows]] = state.reasons.code("no_timestamp")
    segments = entry.segments
    if not segments:
        failed[failed == 0] = state.reasons.code("no_price")
        state.reason[rows] = failed
        return
    starts = np.array([_us(s.start) for s in segments], dtype="int64")
    ends = np.array([_us(s.end) if s.end else np.iinfo("int64").max for s in segments], dtype="int64")
    position = np.searchsorted(starts, ts, side="right") - 1
    inside = (position >= 0) & (ts < ends[position.clip(0)])
    failed[(failed == 0) & (position < 0)] = state.reasons.code("before_first_price")
    failed[(failed == 0) & ~inside] = state.reasons.code("no_price_for_date")
    state.reason[rows] = failed
    ok = failed == 0
    for j, segment in enumerate(segments):
        chosen = rows[ok & (position == j)]
        if len(chosen):
            _price_segment(chosen, entry, segment, state)


def _price_segment(rows: Any, entry: Entry, segment: Segment, state: _Pass) -> None:
    """Give each row of one segment its variant: (window, tier, batch, service tier), priced once each."""
    import numpy as np

    period = segment.period
    windows = _window_codes(period, entry, state.ts_us[rows]) if period.windows else np.full(len(rows), -1)
    tiers = _tier_codes(period, state.tokens, rows) if period.tiers else np.zeros(len(rows), dtype="int64")
    batch = state.service_batch[rows].astype("int64")
    named = state.service_named[rows]
    n_windows, n_tiers, n_named = len(period.windows) + 1, len(period.tiers) + 1, len(state.service_names)
    code = (((windows + 1) * n_tiers + tiers) * 2 + batch) * n_named + named
    uniques, inverse = small_unique(code, n_windows * n_tiers * 2 * n_named)
    ids = np.empty(len(uniques), dtype="int64")
    for i, value in enumerate(uniques):
        rest, st = divmod(int(value), n_named)
        rest, b = divmod(rest, 2)
        w, t = divmod(rest, n_tiers)
        ids[i] = state.variants.add(entry, period, (w - 1, t, bool(b), state.service_names[st]))
    state.variant[rows] = ids[inverse]


def _window_codes(period: PricePeriod, entry: Entry, ts: Any) -> Any:
    """Index of the first window holding each moment (-1: none), as rules.window_index does."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    zoned = pa.array(ts, pa.timestamp("us", tz=entry.platform.timezone))
    local = np.asarray(pc.local_timestamp(zoned).cast(pa.int64()).to_numpy())
    days = local // _DAY_US
    minute = (local - days * _DAY_US) // _MINUTE_US
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    holiday = np.zeros(len(ts), dtype=bool)
    if any(w.holidays for w in period.windows):
        epoch = dt.date(1970, 1, 1)
        holiday_days = np.array(sorted((d - epoch).days for d in entry.holidays()), dtype="int64")
        holiday = np.isin(days, holiday_days)
    codes = np.full(len(ts), -1, dtype="int64")
    for i in reversed(range(len(period.windows))):  # reversed: the first matching window is written last
        codes[_in_window(period.windows[i], weekday, minute, holiday)] = i
    return codes


def _in_window(window: Window, weekday: Any, minute: Any, holiday: Any) -> Any:
    import numpy as np

    listed = np.isin(weekday, sorted(window.days))
    listed_before = np.isin((weekday - 1) % 7, sorted(window.days))
    hit = np.zeros(len(weekday), dtype=bool)
    for start, end in window.hours:
        if end > start:
            hit |= listed & (minute >= start) & (minute < end)
        else:
            hit |= (listed & (minute >= start)) | (listed_before & (minute < end))
    if window.holidays == "exclude":
        hit &= ~holiday
    elif window.holidays == "only":
        hit &= holiday
    return hit


def _tier_codes(period: PricePeriod, tokens: dict[str, Any], rows: Any) -> Any:
    import numpy as np

    parts = {
        "uncached_input": tokens["input"][rows],
        "cache_read": tokens["cache_read"][rows],
        "cache_write": tokens["cache_write"][rows] + tokens["cache_write_1h"][rows],
    }
    basis = sum(parts[name] for name in period.tier_basis)
    codes = np.zeros(len(rows), dtype="int64")
    for i, tier in enumerate(period.tiers):
        codes[basis >= tier.threshold if tier.inclusive else basis > tier.threshold] = i + 1
    return codes


def _costs(
    tokens: dict[str, Any], variant: Any, variants: _Variants, reasons: _Reasons, reason: Any
) -> tuple[Any, Any]:
    """Cost per row in units of 1e-12 (int64, or Python ints where exactness needs them) and priced mask."""
    import numpy as np

    count = len(variants.selections)
    unit = np.zeros((count + 1, len(KINDS)), dtype="int64")  # the last row: rows without a variant
    missing = np.zeros((count + 1, len(KINDS)), dtype=bool)
    inexact = np.zeros(count + 1, dtype=bool)
    selection_reason = np.zeros(count + 1, dtype="int32")
    for v, chosen in enumerate(variants.selections):
        if chosen.unpriced is not None:
            selection_reason[v] = reasons.code(chosen.unpriced)
            continue
        for k, kind in enumerate(KINDS):
            price = chosen.unit_prices[kind]
            if price is None:
                missing[v, k] = True
                continue
            scaled = price.scaleb(6)  # 1e-12 units per token
            if scaled != scaled.to_integral_value():
                inexact[v] = True
            else:
                unit[v, k] = int(scaled)
    has_variant = variant >= 0
    vr = np.where(has_variant, variant, count)
    picked = selection_reason[vr]
    reason[has_variant & (picked > 0)] = picked[has_variant & (picked > 0)]
    for k in reversed(range(len(KINDS))):  # reversed: the first missing kind is written last
        lacking = has_variant & (reason == 0) & missing[vr, k] & (tokens[KINDS[k]] > 0)
        if lacking.any():
            reason[lacking] = reasons.code(f"missing_price:{KINDS[k]}")
    priced = has_variant & (reason == 0)
    cost = np.zeros(len(vr), dtype="int64")
    estimate = np.zeros(len(vr), dtype="float64")
    for k, kind in enumerate(KINDS):
        per_token = unit[vr, k]
        cost += tokens[kind] * per_token
        estimate += tokens[kind].astype("float64") * per_token
    slow = priced & (inexact[vr] | (estimate > _FAST_LIMIT))
    big: dict[int, int] = {}
    for row in np.flatnonzero(slow):
        chosen = variants.selections[vr[row]]
        total = sum(
            (
                component_cost(int(tokens[kind][row]), chosen.unit_prices[kind] or Decimal(0))
                for kind in KINDS
                if tokens[kind][row]
            ),
            Decimal(0),
        )
        big[int(row)] = int(total.quantize(Decimal(1).scaleb(-_SCALE), rounding=ROUND_HALF_EVEN).scaleb(_SCALE))
    cost[~priced] = 0
    return (cost, big), priced
