"""Dated exchange rates: the reference tables in ``tokenizers_registry/fx/*.csv`` plus an optional user file.

A line ``date,from,to,rate,source`` says that one unit of ``from`` was ``rate`` units of ``to`` on ``date``
(a user file may leave out ``source``). A conversion uses the latest rate dated on or before the moment
converted (its UTC date), from the user file first; the inverse of a listed pair is used when it is newer,
and the result says so. There is no default rate: a missing rate is an :class:`FxError`.

>>> convert(Decimal("10"), "CNY", "USD", dt.date(2026, 11, 16))   # doctest: +SKIP
Converted(amount=Decimal('1.4...'), currency='USD', rate=..., rate_date=datetime.date(2026, 11, 13), ...)
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import tokenizers_registry
from tokctl.errors import FxError, InputFormatError, InputNotFoundError, RegistryError

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DIVISION = decimal.Context(prec=28)  # an inverse rate cannot be exact; 28 significant digits
_PRODUCT = decimal.Context(prec=80)


@dataclass(frozen=True)
class Rate:
    date: dt.date
    from_currency: str
    to_currency: str
    rate: Decimal
    source: str
    user: bool = False  # from the user's file (wins over the reference table on the same date)


@dataclass(frozen=True)
class Converted:
    amount: Decimal
    currency: str
    rate: Decimal  # units of ``currency`` per unit of the original currency
    rate_date: dt.date
    rate_source: str
    inverse: bool = False  # the rate is 1 / a listed rate of the opposite pair


def parse_rates(path: Path, *, user: bool) -> list[Rate]:
    """Read one rates file; errors name the file and line and say how to fix it."""
    error = InputFormatError if user else RegistryError
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputNotFoundError(f"no such rates file: {path}", fix="check the --fx-file path") from None
    except OSError as exc:
        raise error(f"cannot read rates file: {exc.strerror}", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise error(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            where=f"{path}:{exc.object[: exc.start].count(10) + 1}",
            fix="save the rates file as UTF-8 CSV",
        ) from None
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip() for h in rows[0]] if rows else []
    if header[:4] != ["date", "from", "to", "rate"] or header[4:] not in ([], ["source"]):
        raise error(
            f"header {','.join(header)!r} is not date,from,to,rate[,source]",
            where=f"{path}:1",
            fix="make the first line: date,from,to,rate,source",
        )
    rates = []
    for line, row in enumerate(rows[1:], start=2):
        if not "".join(row).strip():
            continue
        rates.append(_rate(row, len(header), f"{path}:{line}", user, error))
    return rates


def _rate(row: list[str], width: int, where: str, user: bool, error: type[RegistryError | InputFormatError]) -> Rate:
    cells = [c.strip() for c in row]
    if len(cells) != width:
        raise error(f"expected {width} fields, found {len(cells)}", where=where, fix="quote fields with commas")
    try:
        date = dt.date.fromisoformat(cells[0])
    except ValueError:
        raise error(f"date {cells[0]!r} is not YYYY-MM-DD", where=where, fix="write e.g. 2026-11-13") from None
    for code in cells[1:3]:
        if not _CURRENCY.match(code):
            raise error(f"currency {code!r} is not an ISO 4217 code", where=where, fix="write e.g. USD or CNY")
    try:
        rate = Decimal(cells[3])
    except decimal.InvalidOperation:
        rate = Decimal("NaN")
    # Past 10^12 (or below 10^-12) a rate is a typo, and its products leave decimal128(38, 12).
    if not rate.is_finite() or rate <= 0 or not -12 <= rate.adjusted() < 12:
        raise error(
            f"rate {cells[3]!r} is not a positive number (from 1e-12 to 1e12)",
            where=where,
            fix="write how many units of 'to' one unit of 'from' buys, e.g. 0.1408",
        )
    source = cells[4] if width == 5 and cells[4] else ("user file " + where if user else "")
    if not source:
        raise error("source is empty", where=where, fix="give the URL the rate was read from")
    return Rate(date, cells[1], cells[2], rate, source, user)


@functools.cache
def reference_rates() -> tuple[Rate, ...]:
    return tuple(r for path in sorted(tokenizers_registry.FX.glob("*.csv")) for r in parse_rates(path, user=False))


def _candidates(rates: list[Rate], from_currency: str, to_currency: str, day: dt.date) -> list[tuple[Rate, bool]]:
    found = []
    for rate in rates:
        if rate.date > day:
            continue
        if (rate.from_currency, rate.to_currency) == (from_currency, to_currency):
            found.append((rate, False))
        elif (rate.from_currency, rate.to_currency) == (to_currency, from_currency):
            found.append((rate, True))
    return found


def find_rate(
    from_currency: str, to_currency: str, at: dt.datetime | dt.date, fx_file: Path | None = None
) -> tuple[Rate, bool]:
    """The rate to use and whether it is the inverse of the listed one."""
    day = at.astimezone(dt.UTC).date() if isinstance(at, dt.datetime) else at
    rates = [*(parse_rates(fx_file, user=True) if fx_file else []), *reference_rates()]
    found = _candidates(rates, from_currency, to_currency, day)
    if not found:
        pairs = sorted({f"{r.from_currency}->{r.to_currency}" for r in rates})
        raise FxError(
            f"no {from_currency}->{to_currency} exchange rate dated on or before {day}",
            fix=f"add a line 'date,from,to,rate,source' to a file given with --fx-file "
            f"(known pairs: {', '.join(pairs) or 'none'})",
        )
    # Latest date first; on the same date the user's file, then a direct rate, wins.
    return max(found, key=lambda pair: (pair[0].date, pair[0].user, not pair[1]))


def convert(
    amount: Decimal, from_currency: str, to_currency: str, at: dt.datetime | dt.date, fx_file: Path | None = None
) -> Converted:
    """``amount`` of ``from_currency`` in ``to_currency`` at the latest rate on or before ``at``."""
    from_currency, to_currency = from_currency.upper(), to_currency.upper()
    if from_currency == to_currency:
        day = at.astimezone(dt.UTC).date() if isinstance(at, dt.datetime) else at
        return Converted(amount, to_currency, Decimal(1), day, "same currency")
    rate, inverse = find_rate(from_currency, to_currency, at, fx_file)
    if inverse:
        return Converted(
            _DIVISION.divide(amount, rate.rate),
            to_currency,
            _DIVISION.divide(Decimal(1), rate.rate),
            rate.date,
            f"inverse of {rate.from_currency}->{rate.to_currency} {rate.rate} ({rate.source})",
            inverse=True,
        )
    return Converted(_PRODUCT.multiply(amount, rate.rate), to_currency, rate.rate, rate.date, rate.source)


def clear_caches() -> None:
    reference_rates.cache_clear()
