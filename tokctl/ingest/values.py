"""Strict coercion of logged values: token counts, timestamps, money, text.

A value of the wrong kind makes the whole record unusable: :class:`Skip` carries the reason the accounting
counts (``wrong_type``, ``negative_count``, ...) and a detail that never quotes the value itself (logs may hold
secrets). Readers call these helpers on every record, so they are kept small and branch-light.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from tokctl.schema import MAX_TOKENS, MONEY_LIMIT_DIGITS

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Microseconds of 0001-01-01 and of the end of 9999-12-31 (UTC): the dates every consumer can hold.
FIRST_US = -62_135_596_800_000_000
LAST_US = 253_402_300_799_999_999
# A duration past 100 years is not a request's.
LONGEST_US = 100 * 366 * 86_400 * 1_000_000
_ONE_US = dt.timedelta(microseconds=1)


class Skip(Exception):
    """The current record gives no usage row; ``reason`` is the accounting bucket."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def count(value: Any, field: str) -> int | None:
    """A token count: None stays None (not reported), ints >= 0 pass, anything else skips the record."""
    if value is None:
        return None
    kind = type(value)
    if kind is int:
        if value < 0:
            raise Skip("negative_count", f"{field} is negative")
        if value > MAX_TOKENS:
            raise Skip("too_large", f"{field} is past 2^53 - 1 tokens")
        return value  # type: ignore[no-any-return]
    if kind is float and value.is_integer():
        if value < 0:
            raise Skip("negative_count", f"{field} is negative")
        if value > MAX_TOKENS:
            raise Skip("too_large", f"{field} is past 2^53 - 1 tokens")
        return int(value)
    raise Skip("wrong_type", f"{field} is {_kind(value)}, not an integer")


def add(*values: int | None) -> int | None:
    """Sum of the values that were reported; None when none was."""
    total = None
    for value in values:
        if value is not None:
            total = value if total is None else total + value
    return total


def text(value: Any, field: str) -> str | None:
    """A short identifier or label; numbers are accepted and written as text."""
    if value is None or value == "":
        return None
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int or kind is float:
        return str(value)
    raise Skip("wrong_type", f"{field} is {_kind(value)}, not text")


def money(value: Any, field: str) -> Decimal | None:
    """An amount in major units; floats go through their shortest repr so 0.1 stays 0.1."""
    if value is None or value == "":
        return None
    kind = type(value)
    if kind is bool:
        raise Skip("wrong_type", f"{field} is a boolean, not an amount")
    if kind is int or kind is float or kind is str or kind is Decimal:
        try:
            amount = Decimal(repr(value)) if kind is float else Decimal(value)
        except InvalidOperation:
            raise Skip("wrong_type", f"{field} is not a number") from None
        if not amount.is_finite():
            raise Skip("wrong_type", f"{field} is not a finite number")
        if amount and amount.adjusted() >= MONEY_LIMIT_DIGITS:
            raise Skip("too_large", f"{field} is past 10^{MONEY_LIMIT_DIGITS}")
        return amount
    raise Skip("wrong_type", f"{field} is {_kind(value)}, not an amount")


def timestamp_us(value: Any, field: str) -> int | None:
    """Microseconds since the epoch (UTC) from ISO 8601 text or a unix time in s, ms, us or ns.

    Numbers are told apart by size: anything past 1e17 is nanoseconds, 1e14 microseconds, 1e11
    milliseconds, else seconds (1e11 s is the year 5138). Text without a zone is taken as UTC.
    """
    if value is None or value == "":
        return None
    kind = type(value)
    if kind is str:
        micros = _unix_us(int(value)) if value.isdigit() and len(value) < 25 else _iso_us(value, field)
    elif kind is int or kind is float:
        if value != value or value in (_INF, -_INF):
            raise Skip("wrong_type", f"{field} is not a finite number")
        micros = _unix_us(value)
    else:
        raise Skip("wrong_type", f"{field} is {_kind(value)}, not a time")
    if not FIRST_US <= micros <= LAST_US:
        raise Skip("wrong_type", f"{field} is outside the years 1 to 9999")
    return micros


_INF = float("inf")


def _unix_us(number: float) -> int:
    magnitude = abs(number)
    if magnitude >= 1e17:
        return int(number) // 1000
    if magnitude >= 1e14:
        return int(number)
    if magnitude >= 1e11:
        return round(number * 1000)
    return round(number * 1_000_000)


def _iso_us(value: str, field: str) -> int:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = _iso_fallback(value, field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // _ONE_US  # exact integer arithmetic, in C


def _iso_fallback(value: str, field: str) -> dt.datetime:
    # fromisoformat takes at most 6 fraction digits; OTel and Go loggers write 7 to 9.
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise Skip("wrong_type", f"{field} is not an ISO 8601 time")


def us_to_datetime(micros: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=micros)


def duration_us(value: Any, field: str, unit: float) -> int | None:
    """A duration given in ``unit`` seconds (1e-3 for milliseconds), as whole microseconds."""
    if value is None or value == "":
        return None
    kind = type(value)
    if kind is bool or not (kind is int or kind is float):
        raise Skip("wrong_type", f"{field} is {_kind(value)}, not a number")
    if value < 0:
        raise Skip("negative_count", f"{field} is negative")
    if not value * unit * 1_000_000 <= LONGEST_US:  # also NaN
        raise Skip("wrong_type", f"{field} is not a duration of a request")
    return round(value * unit * 1_000_000)


def obj(value: Any) -> dict[str, Any]:
    """A nested object, or an empty one when absent (so ``obj(x).get(k)`` chains)."""
    return value if type(value) is dict else _EMPTY


_EMPTY: dict[str, Any] = {}


def _kind(value: Any) -> str:
    return {str: "text", bool: "a boolean", list: "a list", dict: "an object", float: "a fraction"}.get(
        type(value), type(value).__name__
    )


def tag_map(value: Any) -> dict[str, str] | None:
    """Tags as a str -> str mapping: objects keep their keys; list items ``k:v`` (LiteLLM's habit) split
    on the first colon, other items become ``item -> "true"``; nested values are kept as JSON text."""
    if value is None:
        return None
    kind = type(value)
    if kind is dict:
        return {str(k): _tag_value(v) for k, v in value.items() if v is not None} or None
    if kind is list:
        found: dict[str, str] = {}
        for item in value:
            if type(item) is str:
                key, colon, rest = item.partition(":")
                found[key.strip() if colon else item] = rest.strip() if colon else "true"
        return found or None
    if kind is str:
        return {value: "true"}
    return None


def _tag_value(value: Any) -> str:
    if type(value) is str:
        return value  # type: ignore[no-any-return]
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
