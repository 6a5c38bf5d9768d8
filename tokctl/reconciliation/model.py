"""What a reconciliation is made of: the tolerance, the cells (one per day, provider, model, token class and
project) and the result. The engine fills them (tokctl.reconciliation.engine), the rules explain them
(tokctl.reconciliation.rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tokctl.errors import UsageError
from tokctl.reconciliation.cells import Part, Scope, UsageAccounting

STATUSES = ("match", "over_billed", "under_billed", "missing_from_logs", "missing_from_bill")
_DEFAULT_PCT = Decimal("0.005")
_SCALE = Decimal(1).scaleb(-12)


@dataclass(frozen=True)
class Tolerance:
    """``0.5%`` of the expected cost, or an amount in the cell's currency; quantities always by percent."""

    percent: Decimal | None = _DEFAULT_PCT
    amount: Decimal | None = None

    @classmethod
    def parse(cls, text: str | Decimal | None) -> Tolerance:
        if text is None:
            return cls()
        raw = str(text).strip()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", raw)
        if match is None:
            raise UsageError(
                f"--tolerance {raw!r} is neither a percent nor an amount",
                fix="write e.g. 0.5% (of the expected cost) or 0.01 (in the bill's currency)",
            )
        value = Decimal(match[1])
        return cls(value / 100, None) if match[2] else cls(None, value)

    def money(self, expected: Decimal) -> Decimal:
        return self.amount if self.amount is not None else abs(expected) * (self.percent or Decimal(0))

    def quantity(self, logged: int) -> Decimal:
        return abs(Decimal(logged)) * (self.percent if self.percent is not None else _DEFAULT_PCT)


@dataclass
class Cell:
    date: str
    provider: str
    model: str
    token_class: str
    project: str | None
    api_key: str | None
    currency: str  # of billed_cost, expected_cost and difference
    billed_quantity: int | None = None
    billed_cost: Decimal | None = None
    bill_lines: int = 0
    rounding: Decimal | None = None
    logged_quantity: int | None = None
    expected_cost: Decimal | None = None
    expected_native: Decimal | None = None  # in the currency the logs were priced in
    native_currency: str | None = None
    rate: Any = None  # tokctl.registry.fx.Converted when the expected cost was converted
    parts: list[Part] = field(default_factory=list)
    records: int = 0
    unpriced: int = 0
    status: str = ""
    rule: str | None = None
    explanation: str | None = None

    @property
    def has_bill(self) -> bool:
        return self.bill_lines > 0

    @property
    def has_logs(self) -> bool:
        return self.logged_quantity is not None

    @property
    def difference(self) -> Decimal | None:
        if self.billed_cost is None and self.expected_cost is None:
            return None
        if self.has_bill and self.billed_cost is None:
            return None  # a usage export: quantities only
        return (self.billed_cost or Decimal(0)) - (self.expected_cost or Decimal(0))

    @property
    def quantity_difference(self) -> int | None:
        if self.billed_quantity is None:
            return None
        return self.billed_quantity - (self.logged_quantity or 0)

    @property
    def matched(self) -> bool:
        return self.status == "match"

    def key(self) -> tuple[Any, ...]:
        return (self.date, self.provider, self.model, self.token_class, self.project, self.api_key)


@dataclass
class Reconciliation:
    cells: list[Cell]
    summary: list[dict[str, Any]]
    accounting: UsageAccounting
    scopes: dict[str, Scope]
    other_charges: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    out_of_scope: list[dict[str, Any]] = field(default_factory=list)  # per provider, service, currency

    @property
    def mismatched(self) -> list[Cell]:
        return [c for c in self.cells if not c.matched]

    @property
    def ok(self) -> bool:
        return all(c.matched for c in self.cells)

    def over(self, amount: Decimal) -> bool:
        """Whether the mismatched cells' absolute difference passes ``amount`` in any currency."""
        totals: dict[str, Decimal] = {}
        for cell in self.mismatched:
            totals[cell.currency] = totals.get(cell.currency, Decimal(0)) + abs(cell.difference or Decimal(0))
        return any(total > amount for total in totals.values())


def rounding_allowance(cell: Cell) -> Decimal | None:
    return None if cell.rounding is None else cell.rounding / 2 * max(cell.bill_lines, 1)


def money_text(value: Decimal | None) -> str:
    """An amount as plain decimal text (``-`` when unknown, never ``-0``)."""
    if value is None:
        return "-"
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def money_value(value: Decimal | None) -> Decimal | None:
    """At most 12 decimals (the Arrow money scale), without trailing zeros (``0.547020000000`` -> ``0.54702``)."""
    return None if value is None else Decimal(money_text(value.quantize(_SCALE)))
