"""Bills against priced usage: every cell matched, or classified and explained (``tokctl.reconcile``).

The module is not named ``reconcile``: a submodule of that name would hide the public function
``tokctl.reconcile`` once imported (the import system sets the package attribute to the module).

>>> bill = tokctl.read_bill(["cost_report.json", "usage_report.json"])      # doctest: +SKIP
>>> result = tokctl.reconcile(bill, tokctl.read_usage(["logs/"]))          # doctest: +SKIP
>>> [(c.date, c.model, c.token_class, c.status, c.explanation) for c in result.mismatched]  # doctest: +SKIP

Both sides are summed to the bill's grain (tokctl.reconciliation.cells), each cell is classified against the
tolerance, and each mismatch is given the first explanation rule that accounts for it
(tokctl.reconciliation.rules). Money never crosses currencies: a cell billed in another currency than the logs
were priced in is compared after converting the expected cost at the dated reference rate (tokctl.registry.fx), and
the summary totals are per provider and currency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokctl.errors import FxError, UsageError
from tokctl.reconciliation.cells import BillSide, LogSide
from tokctl.reconciliation.model import (
    STATUSES,
    Cell,
    Reconciliation,
    Tolerance,
    money_text,
    money_value,
    rounding_allowance,
)

__all__ = ["STATUSES", "Cell", "Reconciliation", "Tolerance", "money_value", "reconcile"]


def _usage_table(usage: Any) -> Any:
    """A pyarrow Table of priced usage: priced here when nothing in it was priced yet."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(usage, pa.RecordBatch):
        usage = pa.Table.from_batches([usage])
    if not isinstance(usage, pa.Table):
        raise UsageError("usage must be a pyarrow Table of usage records", fix="use tokctl.read_usage(paths)")
    if "price_ref" not in usage.column_names or pc.all(pc.is_null(usage.column("price_ref"))).as_py():
        from tokctl.pricing import price_table

        usage = price_table(usage)
    return usage


def reconcile(
    bill: Any,
    usage: Any,
    *,
    tolerance: str | Tolerance | None = None,
    by: Any = None,
    tz: str | None = None,
    fx_file: Path | None = None,
    services: Sequence[str] | None = None,
) -> Reconciliation:
    """Compare bill lines (a :class:`tokctl.bills.BillRead` or charge-line table) with usage records.

    ``usage`` is a usage table (tokctl.schema); it is priced first when it carries no price_ref. ``by`` picks
    the grain (tokctl.reconciliation.cells.parse_by), ``tz`` overrides the bill's time zone for day boundaries,
    ``tolerance`` is ``"0.5%"`` (the default) or an amount in the bill's currency. ``services`` chooses the
    services (or providers) of a whole-cloud bill to reconcile; by default every AI platform's lines, and the
    rest are listed as out of scope (tokctl.reconciliation.scope).
    """
    from tokctl.reconciliation import cells as cells_mod
    from tokctl.reconciliation.rules import explain
    from tokctl.reconciliation.scope import split

    lines, out_of_scope = split(getattr(bill, "lines", bill), services)
    tol = tolerance if isinstance(tolerance, Tolerance) else Tolerance.parse(tolerance)
    grain = cells_mod.parse_by(by)
    if tz is not None:
        from tokctl.bills import zone

        zone(tz)
    scope_of = cells_mod.scopes(lines, grain, tz)
    billed, other = cells_mod.bill_cells(lines, grain, scope_of)
    logged, accounting = cells_mod.usage_cells(_usage_table(usage), grain, scope_of)
    cells = _join(billed, logged, fx_file)
    rounding = {p: max((c.rounding for c in cells if c.provider == p and c.rounding), default=None) for p in scope_of}
    for cell in cells:
        _classify(cell, tol, rounding.get(cell.provider))
    explain(cells, tol, grain, scope_of)
    result = Reconciliation(cells, _summary(cells), accounting, scope_of, other, out_of_scope=out_of_scope)
    result.notes += _notes(result)
    return result


def _join(billed: dict[Any, BillSide], logged: dict[Any, LogSide], fx_file: Path | None) -> list[Cell]:
    from tokctl.reconciliation.prices import choice, class_cost

    by_key: dict[Any, list[tuple[str | None, BillSide | None]]] = {}
    for bill_key, bill_side in billed.items():
        by_key.setdefault(bill_key[:6], []).append((bill_key[6], bill_side))
    for key, sides in by_key.items():
        by_key[key] = _merge_exports(sides)
    cells = []
    for key in sorted(set(by_key) | set(logged), key=_sort_key):
        sides = by_key.get(key, [])
        log = logged.get(key)
        if log is not None and not sides and log.quantity == 0:
            continue  # nothing used, nothing billed
        if log is None and all(not side or (not side.quantity and not side.cost) for _, side in sides):
            continue  # a zero line (a usage export lists every class) for nothing logged
        currencies = [c for c, _ in sides]
        home = log.currency if log is not None and log.currency in currencies else (currencies or [None])[0]
        for code, side in sides or [(None, None)]:
            date, provider, model, token_class, project, api_key = key
            currency = code or (log.currency if log else None) or ""
            cell = Cell(date, provider, model, token_class, project, api_key, currency)
            if side is not None:
                cell.billed_quantity, cell.billed_cost, cell.bill_lines, cell.rounding = (
                    side.quantity,
                    side.cost,
                    side.lines,
                    side.rounding,
                )
            if log is not None and code == home:
                _attach(cell, log, choice, class_cost, fx_file)
            cells.append(cell)
    return cells


def _merge_exports(sides: list[tuple[str | None, BillSide | None]]) -> list[tuple[str | None, BillSide | None]]:
    """Quantities from a usage export (no currency) go to the cell its provider's bill charges in."""
    export = next((side for code, side in sides if not code), None)
    charged: list[tuple[str | None, BillSide | None]] = [(code, side) for code, side in sides if code]
    if export is None or not charged:
        return sides
    home = charged[0][1]
    assert home is not None
    home.quantity = export.quantity
    return charged


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    from tokctl.reconciliation.cells import TOKEN_CLASSES

    order = TOKEN_CLASSES.index(key[3]) if key[3] in TOKEN_CLASSES else len(TOKEN_CLASSES)
    return (key[1], key[0], key[2], key[4] or "", key[5] or "", order, key[3])


def _attach(cell: Cell, log: LogSide, choice: Any, class_cost: Any, fx_file: Path | None) -> None:
    cell.logged_quantity, cell.parts, cell.records, cell.unpriced = log.quantity, log.parts, log.records, log.unpriced
    cell.native_currency = log.currency
    total: Decimal | None = None
    for part in log.parts:
        chosen = choice(part.ref)
        cost = class_cost(chosen, part.token_class, part.tokens, part.reasoning) if chosen else None
        if cost is not None:
            total = (total or Decimal(0)) + cost
    cell.expected_native = total
    if total is None or not log.currency or not cell.currency or log.currency == cell.currency:
        cell.expected_cost = total
        cell.currency = cell.currency or log.currency or ""
        return
    from tokctl.registry.fx import convert

    try:
        cell.rate = convert(total, log.currency, cell.currency, cell_day(cell.date), fx_file)
    except FxError:
        cell.expected_cost = None  # left unexplained: no rate to compare with
        return
    cell.expected_cost = cell.rate.amount


def cell_day(label: str) -> dt.date:
    """The first day of a cell's date label (``2026-10-07`` or, by month, ``2026-10``)."""
    return dt.date.fromisoformat(label if len(label) == 10 else f"{label}-01")


def _classify(cell: Cell, tol: Tolerance, provider_rounding: Decimal | None) -> None:
    if not cell.has_logs:
        cell.status = "missing_from_logs"
        return
    if not cell.has_bill:
        expected = cell.expected_cost or Decimal(0)
        if provider_rounding is not None and expected <= provider_rounding / 2:
            cell.status, cell.rule = "match", "rounding"
            cell.explanation = (
                f"rounding: {money_text(expected)} {cell.currency} is below half the bill's smallest "
                f"amount ({money_text(provider_rounding)}), so the bill shows no line"
            )
            return
        cell.status = "missing_from_bill"
        return
    quantity_ok = cell.billed_quantity is None or abs(
        cell.billed_quantity - (cell.logged_quantity or 0)
    ) <= tol.quantity(cell.logged_quantity or 0)
    difference = cell.difference
    expected = cell.expected_cost or Decimal(0)  # unpriced logs expect nothing: the unpriced rule says so
    money_ok = difference is None or abs(difference) <= tol.money(expected)
    if quantity_ok and money_ok:
        cell.status = "match"
        return
    allowance = rounding_allowance(cell)
    if quantity_ok and difference is not None and allowance is not None and abs(difference) <= allowance:
        cell.status, cell.rule = "match", "rounding"
        cell.explanation = (
            f"rounding: the difference {money_text(difference)} {cell.currency} is within half the "
            f"bill's smallest amount ({money_text(cell.rounding or Decimal(0))}) per line"
        )
        return
    if not money_ok and difference is not None:
        cell.status = "over_billed" if difference > 0 else "under_billed"
    else:
        cell.status = "over_billed" if (cell.quantity_difference or 0) > 0 else "under_billed"


def _summary(cells: list[Cell]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in cells:
        entry = groups.setdefault((cell.provider, cell.currency), {
            "provider": cell.provider, "currency": cell.currency, "billed": Decimal(0), "expected": Decimal(0),
            "cells": 0, "matched": 0, "mismatched": 0})  # fmt: skip
        entry["billed"] += cell.billed_cost or Decimal(0)
        entry["expected"] += cell.expected_cost or Decimal(0)
        entry["cells"] += 1
        entry["matched" if cell.matched else "mismatched"] += 1
    for entry in groups.values():
        entry["difference"] = entry["billed"] - entry["expected"]
    return list(groups.values())


def _notes(result: Reconciliation) -> list[str]:
    acc = result.accounting
    notes = [f"usage records: {acc.records}, reconciled {acc.reconciled}"
             + (f", other providers {acc.other_providers}" if acc.other_providers else "")
             + (f", outside the bill's period {acc.outside_period}" if acc.outside_period else "")
             + (f", without a timestamp {acc.no_timestamp}" if acc.no_timestamp else "")]  # fmt: skip
    if acc.unpriced_reasons:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(acc.unpriced_reasons.items()))
        notes.append(f"unpriced usage records (left out of the expected cost): {reasons}")
    for scope in result.scopes.values():
        notes.append(
            f"{scope.provider}: days in {scope.timezone}, bill period {scope.start.isoformat()} to "
            f"{scope.end.isoformat()}"
        )
    for charge in result.other_charges:
        notes.append(
            f"not reconciled: {charge.get('charge_category')} line of {charge.get('provider')} "
            f"{money_text(charge.get('billed_cost'))} {charge.get('billing_currency')}"
        )
    for entry in result.out_of_scope:
        notes.append(
            f"out of scope (not reconciled): {entry['service'] or '(no service)'} of {entry['provider']}, "
            f"{entry['lines']} line(s), {money_text(entry['billed'])} {entry['currency']}"
        )
    return notes
