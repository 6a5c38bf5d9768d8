"""Why a cell does not match: explanation rules, each a hypothesis checked against the numbers.

A rule re-prices the cell's logged tokens (tokctl.reconciliation.prices) the way the vendor may have priced them,
or pairs the cell with its neighbour, and explains the cell only when the bill then matches within the
tolerance. Pair rules run first (quantities that moved between two token classes of one day, or between two
adjacent days); then, per cell, in this order: unpriced log records, a non-token charge, a model the
registry does not know, a price change on that day, batch discount missing or unexpected, the long-context
tier, a time-of-day window, currency conversion. A mismatch no rule accounts for says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from tokctl.reconciliation.cells import ALL, TOKEN_CLASSES, Grain, Part, Scope
from tokctl.reconciliation.prices import Choice, choice, class_cost, unit_price
from tokctl.registry.providers import PricePeriod, Window

if TYPE_CHECKING:
    from tokctl.reconciliation.model import Cell, Tolerance

LABELS = {"input": "uncached input", "cache_read": "cache-read", "cache_write": "cache-write (5 min)",
          "cache_write_1h": "cache-write (1 h)", "output": "output"}  # fmt: skip
NO_RULE = "no rule explains it"
_SLOTS_PER_DAY = 48
Explanation = tuple[str, str]  # (rule id, text)


@dataclass(frozen=True)
class Context:
    tol: Tolerance
    grain: Grain
    scopes: dict[str, Scope]


def explain(cells: list[Cell], tol: Tolerance, grain: Grain, scopes: dict[str, Scope]) -> None:
    """Set ``rule`` and ``explanation`` on every mismatched cell, and on matches that needed a conversion."""
    ctx = Context(tol, grain, scopes)
    _class_swaps(cells, ctx)
    _day_shifts(cells, ctx)
    for cell in cells:
        if cell.matched:
            if cell.rate is not None and cell.expected_native is not None:  # rounding included
                cell.rule, cell.explanation = "currency", _conversion_text(cell)
            continue
        if cell.rule is not None:
            continue
        found = next((e for rule in CELL_RULES if (e := rule(cell, ctx)) is not None), ("none", NO_RULE))
        cell.rule, cell.explanation = found


# -- helpers -------------------------------------------------------------------------------------------


def _fits(cell: Cell, alternative: Decimal, ctx: Context) -> bool:
    """Whether the bill equals ``alternative`` (in the logs' currency) within tolerance and rounding."""
    if cell.billed_cost is None:
        return False
    if cell.rate is not None:
        alternative = alternative * cell.rate.rate
    from tokctl.reconciliation.model import rounding_allowance

    allowed = max(ctx.tol.money(alternative), rounding_allowance(cell) or Decimal(0))
    return abs(cell.billed_cost - alternative) <= allowed


Change = Callable[[Part, Choice], Choice | None]


def _reprice(cell: Cell, change: Change) -> tuple[Decimal, int] | None:
    """The cell's expected cost with ``change`` applied to each part, and the tokens it moved; None when
    nothing changes or a changed part has no price."""
    total, moved = Decimal(0), 0
    for part in cell.parts:
        chosen = choice(part.ref)
        if chosen is None:
            return None
        other = change(part, chosen)
        cost = class_cost(other or chosen, part.token_class, part.tokens, part.reasoning)
        if cost is None:
            return None
        total += cost
        if other is not None and other != chosen:
            moved += part.tokens
    return (total, moved) if moved else None


def _qdiff(cell: Cell) -> int | None:
    """Billed minus logged tokens; None when the bill has the cell but no quantity (a cost-only bill)."""
    if cell.has_bill and cell.billed_quantity is None:
        return None
    return (cell.billed_quantity or 0) - (cell.logged_quantity or 0)


def _per_token(cell: Cell, fallback: Cell) -> Decimal | None:
    """Average expected price per token of the cell, or the registry price of its class (via ``fallback``)."""
    if cell.logged_quantity and cell.expected_cost:
        return cell.expected_cost / cell.logged_quantity
    for part in fallback.parts:
        chosen = choice(part.ref)
        unit = unit_price(chosen, cell.token_class) if chosen else None
        if unit:
            return unit.scaleb(-6) * (fallback.rate.rate if fallback.rate is not None else 1)
    return None


def _moved_tokens(a: Cell, b: Cell, ctx: Context, slack: int = 0) -> int | None:
    """Tokens the bill counts in ``a`` that the logs count in ``b`` (negative: the other way), or None."""
    qa, qb = _qdiff(a), _qdiff(b)
    basis = max(a.logged_quantity or 0, b.logged_quantity or 0)
    if qa is not None and qb is not None:
        if qa and abs(qa + qb) <= ctx.tol.quantity(basis) + slack:
            return qa
        return None
    if a.difference is None or b.difference is None:
        return None
    ua, ub = _per_token(a, b), _per_token(b, a)
    if not ua or not ub:
        return None
    na, nb = a.difference / ua, b.difference / ub
    if na * nb >= 0 or abs(na + nb) > max(abs(na), abs(nb)) * Decimal("0.01"):
        return None
    return int(na.to_integral_value())


def _assign(cells: tuple[Cell, ...], rule: str, text: str) -> None:
    for cell in cells:
        cell.rule, cell.explanation = rule, text


def _open(cell: Cell | None) -> bool:
    return cell is not None and not cell.matched and cell.rule is None


# -- pair rules ----------------------------------------------------------------------------------------


def _class_swaps(cells: list[Cell], ctx: Context) -> None:
    """Tokens billed in one class that the logs put in another: cache reads billed as uncached input, ..."""
    groups: dict[tuple[object, ...], dict[str, Cell]] = {}
    for cell in cells:
        if cell.token_class in TOKEN_CLASSES:
            groups.setdefault((cell.date, cell.provider, cell.model, cell.project, cell.api_key), {})[
                cell.token_class] = cell  # fmt: skip
    for group in groups.values():
        for x, y in itertools.combinations(TOKEN_CLASSES, 2):
            a, b = group.get(x), group.get(y)
            if a is None or b is None or not (_open(a) and _open(b)):
                continue
            moved = _moved_tokens(a, b, ctx)
            if moved:
                billed, logged = (x, y) if moved > 0 else (y, x)
                _assign(
                    (a, b),
                    "class_swap",
                    f"{LABELS[logged]} billed as {LABELS[billed]}: {abs(moved):,} tokens "
                    f"the logs count as {LABELS[logged]} are billed as {LABELS[billed]}",
                )


def _day_shifts(cells: list[Cell], ctx: Context) -> None:
    """Quantities moved between adjacent days, netting to zero: a day boundary drawn in another time zone."""
    if ctx.grain.period != "day":
        return
    series: dict[tuple[object, ...], dict[dt.date, Cell]] = {}
    for cell in cells:
        key = (cell.provider, cell.model, cell.token_class, cell.project, cell.api_key, cell.currency)
        series.setdefault(key, {})[dt.date.fromisoformat(cell.date)] = cell
    for days in series.values():
        for day in sorted(days):
            a, b = days.get(day), days.get(day + dt.timedelta(days=1))
            if a is None or b is None or not (_open(a) and _open(b)):
                continue
            moved = _moved_tokens(a, b, ctx)
            if not moved or not _near_midnight(a, b, moved):
                continue
            to_day, from_day = (a.date, b.date) if moved > 0 else (b.date, a.date)
            _assign(
                (a, b),
                "day_boundary",
                f"time-zone day boundary: {abs(moved):,} {LABELS.get(a.token_class, a.token_class)} tokens the "
                f"logs count on {from_day} are billed on {to_day} (the logs' days are in "
                f"{ctx.scopes[a.provider].timezone}); the two days net to zero",
            )


def _near_midnight(a: Cell, b: Cell, moved: int) -> bool:
    """The logs hold at least ``moved`` tokens in the half day next to the shared midnight."""
    if moved > 0:  # the bill put on day a tokens the logs have early on day b
        near = sum(p.tokens for p in b.parts if p.slot < _SLOTS_PER_DAY // 2)
    else:
        near = sum(p.tokens for p in a.parts if p.slot >= _SLOTS_PER_DAY // 2)
    return near >= abs(moved) if (a.parts or b.parts) else True


# -- cell rules ----------------------------------------------------------------------------------------


def _unpriced(cell: Cell, ctx: Context) -> Explanation | None:
    lacking = sum(p.tokens for p in cell.parts if choice(p.ref) is None)
    if not lacking:
        return None
    return (
        "unpriced",
        f"{lacking:,} logged tokens have no price in the registry (see the unpriced note); the "
        "expected cost leaves them out",
    )


def _non_token(cell: Cell, ctx: Context) -> Explanation | None:
    if cell.token_class in TOKEN_CLASSES or cell.token_class == ALL or cell.has_logs:
        return None
    return "non_token", f"not a token charge ({cell.token_class}): usage logs do not price it"


def _unknown_model(cell: Cell, ctx: Context) -> Explanation | None:
    from tokctl.bills import canonical_model

    if cell.has_logs or cell.model == ALL or canonical_model(cell.model, cell.provider) is not None:
        return None
    return (
        "unknown_model",
        f"the bill's model {cell.model!r} is not in the registry for {cell.provider}, so no "
        "log record can match it; add the model or an alias to the provider file",
    )


def _to_period(current: Choice, period: PricePeriod) -> Choice:
    names = [w.name for w in period.windows]
    tiers = [t.label for t in period.tiers]
    window = names.index(current.window_name) if current.window_name in names else -1
    tier = tiers.index(current.tier_label) + 1 if current.tier_label in tiers else 0
    return dataclasses.replace(current, period=period, window=window, tier=tier)


def _price_change(cell: Cell, ctx: Context) -> Explanation | None:
    if ctx.grain.period != "day" or not cell.parts or cell.billed_cost is None:
        return None
    first = choice(cell.parts[0].ref)
    if first is None:
        return None
    import zoneinfo

    tz = zoneinfo.ZoneInfo(ctx.scopes[cell.provider].timezone)
    day = dt.date.fromisoformat(cell.date)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    segments = first.entry.segments
    for before, after in itertools.pairwise(segments):
        if not start <= after.start < end:
            continue
        for other, which in ((before.period, "previous"), (after.period, "next")):

            def to_other(_part: Part, current: Choice, other: PricePeriod = other) -> Choice | None:
                return None if current.period is other else _to_period(current, other)

            found = _reprice(cell, to_other)
            if found is None or not _fits(cell, found[0], ctx):
                continue
            billed_unit = unit_price(_to_period(first, other), cell.token_class)
            logged_unit = unit_price(first, cell.token_class)
            return "price_change", (
                f"price change on {cell.date}: billed at the {which} price ({billed_unit} per 1M "
                f"{LABELS.get(cell.token_class, cell.token_class)} tokens) instead of the {logged_unit} in force "
                f"from {after.start.isoformat()}"
            )
    return None


def _batch(cell: Cell, ctx: Context) -> Explanation | None:
    missing = _reprice(cell, lambda _p, ch: dataclasses.replace(ch, batch=False) if ch.batch else None)
    if missing is not None and _fits(cell, missing[0], ctx):
        return "batch_missing", f"batch discount missing: {missing[1]:,} batch tokens billed at the standard price"
    unexpected = _reprice(
        cell, lambda _p, ch: dataclasses.replace(ch, batch=True) if not ch.batch and ch.service_tier is None else None
    )
    if unexpected is not None and _fits(cell, unexpected[0], ctx):
        return (
            "batch_unexpected",
            f"unexpected batch discount: {unexpected[1]:,} tokens of standard requests billed at the batch price",
        )
    return None


def _long_context(cell: Cell, ctx: Context) -> Explanation | None:
    dropped = _reprice(cell, lambda _p, ch: dataclasses.replace(ch, tier=0) if ch.tier > 0 else None)
    if dropped is not None and _fits(cell, dropped[0], ctx):
        label = next((c.tier_label or "" for p in cell.parts if (c := choice(p.ref)) and c.tier > 0), "")
        return (
            "long_context",
            f"long-context tier not applied: {dropped[1]:,} tokens of requests over {_threshold(label)} "
            "prompt tokens billed at the base price",
        )
    raised = _reprice(
        cell,
        lambda _p, ch: dataclasses.replace(ch, tier=len(ch.period.tiers)) if ch.tier == 0 and ch.period.tiers else None,
    )
    if raised is not None and _fits(cell, raised[0], ctx):
        return (
            "long_context",
            f"billed at the long-context tier price: {raised[1]:,} tokens of requests the logs "
            "count below the tier threshold",
        )
    return None


def _threshold(label: str) -> str:
    """``>100000`` -> ``100,000``; ``>=200000`` -> ``200,000 or more``."""
    digits = label.lstrip(">=")
    number = f"{int(digits):,}" if digits.isdigit() else digits
    return f"{number} or more" if label.startswith(">=") else number


def _slot_in(window: Window, slot: int) -> bool:
    minute = slot * 30
    return any(
        start <= minute < end if end > start else (minute >= start or minute < end) for start, end in window.hours
    )


def _time_window(cell: Cell, ctx: Context) -> Explanation | None:
    base = _reprice(cell, lambda _p, ch: dataclasses.replace(ch, window=-1) if ch.window >= 0 else None)
    if base is not None and _fits(cell, base[0], ctx):
        names = sorted({c.window_name or "" for p in cell.parts if (c := choice(p.ref)) and c.window >= 0})
        return (
            "time_window",
            f"time-of-day window: {base[1]:,} tokens the logs price in the {', '.join(names)} "
            "window billed at the base (off-peak) price",
        )
    for index in range(max((len(c.period.windows) for p in cell.parts if (c := choice(p.ref))), default=0)):

        def to_window(part: Part, ch: Choice, index: int = index) -> Choice | None:
            if ch.window != -1 or index >= len(ch.period.windows) or not _slot_in(ch.period.windows[index], part.slot):
                return None
            return dataclasses.replace(ch, window=index)

        raised = _reprice(cell, to_window)
        if raised is not None and _fits(cell, raised[0], ctx):
            name = next(c.period.windows[index].name for p in cell.parts if (c := choice(p.ref)) and c.period.windows)
            return (
                "time_window",
                f"time-of-day window: {raised[1]:,} tokens logged in the {name} hours billed at "
                f"{name} prices on a day the registry prices as {_day_kind(cell)}",
            )
    return None


def _day_kind(cell: Cell) -> str:
    from tokctl.errors import TokctlError
    from tokctl.registry.calendars import get_calendar

    day = dt.date.fromisoformat(cell.date)
    chosen = next((c for p in cell.parts if (c := choice(p.ref))), None)
    calendar = chosen.entry.platform.holiday_calendar if chosen else None
    try:
        if calendar and day in get_calendar(calendar).holidays():
            return "off-peak all day (a statutory holiday)"
        if calendar and day in get_calendar(calendar).workdays():
            return "off-peak all day (a weekend made a working day; the registry keeps it a weekend)"
    except TokctlError:
        pass
    return "off-peak all day (a weekend)" if day.weekday() >= 5 else "off-peak at those hours"


def _conversion_text(cell: Cell) -> str:
    rate = cell.rate
    inverse = " (the inverse of the listed rate)" if rate.inverse else ""
    return (
        f"currency conversion: expected {_plain(cell.expected_native)} {cell.native_currency} = "
        f"{_plain(cell.expected_cost)} {cell.currency} at the reference rate {rate.rate} of {rate.rate_date}{inverse}"
    )


def _currency(cell: Cell, ctx: Context) -> Explanation | None:
    if cell.rate is None or cell.billed_cost is None or not cell.expected_native:
        return None
    implied = cell.billed_cost / cell.expected_native
    if abs(implied / cell.rate.rate - 1) > Decimal("0.1"):
        return None
    return (
        "currency",
        f"currency conversion: billed {_plain(cell.billed_cost)} {cell.currency} for "
        f"{_plain(cell.expected_native)} {cell.native_currency} of usage, an implied rate of "
        f"{implied.quantize(Decimal('0.000001'))}; the reference rate is {cell.rate.rate} ({cell.rate.rate_date})",
    )


def _plain(value: Decimal | None) -> str:
    from tokctl.reconciliation.model import money_value

    return "-" if value is None else format(money_value(value), "f")


CELL_RULES: tuple[Callable[[Cell, Context], Explanation | None], ...] = (
    _unpriced, _non_token, _unknown_model, _price_change, _batch, _long_context, _time_window, _currency,
)  # fmt: skip
