"""Strict reading of registry TOML: unknown keys rejected, money as Decimal, messages that say how to fix."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokctl.errors import RegistryError


def load_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read registry file: {exc.strerror}", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise RegistryError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=str(path), fix="save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"invalid TOML: {exc}", where=str(path), fix="fix the TOML syntax") from None
    except RecursionError:
        raise RegistryError("invalid TOML: nested too deeply", where=str(path), fix="fix the TOML syntax") from None


def check_keys(
    table: Mapping[str, Any],
    *,
    where: str,
    required: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> None:
    if not isinstance(table, Mapping):
        raise RegistryError(
            f"expected a table, not {type(table).__name__} {table!r:.40}", where=where, fix="write it as a TOML table"
        )
    required = tuple(required)
    allowed = set(required) | set(optional)
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RegistryError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            where=where,
            fix=f"remove or rename it; allowed keys are {', '.join(sorted(allowed))}",
        )
    missing = [k for k in required if k not in table]
    if missing:
        raise RegistryError(
            f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            where=where,
            fix=f"add {', '.join(missing)}",
        )


def expect(value: Any, kind: type | tuple[type, ...], *, where: str, key: str) -> Any:
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise RegistryError(
            f"{key} must be {names}, not {type(value).__name__} {value!r}",
            where=where,
            fix=f"write {key} as a {names}",
        )
    return value


def money(value: Any, *, where: str, key: str) -> Decimal:
    """A non-negative price per 1M tokens. Integers are accepted and made Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise RegistryError(
            f"{key} must be a number, not {value!r}",
            where=where,
            fix=f"write {key} as a plain number (per 1M tokens), e.g. {key} = 1.25",
        )
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0:
        raise RegistryError(
            f"{key} must be a finite, non-negative number, not {value}", where=where, fix=f"correct {key}"
        )
    return amount


def moment(value: Any, *, where: str, key: str, tz: dt.tzinfo) -> dt.datetime:
    """An aware datetime. A bare date means 00:00 in the platform's time zone."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise RegistryError(
                f"{key} {value.isoformat()} has no time zone",
                where=where,
                fix=f"add an offset, e.g. {value.isoformat()}+08:00, or give a bare date",
            )
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0), tzinfo=tz)
    raise RegistryError(
        f"{key} must be a date or a datetime with offset, not {value!r}",
        where=where,
        fix=f"write e.g. {key} = 2026-08-17T00:00:00+08:00",
    )
