"""Holiday calendars: ``tokenizers_registry/calendars/<id>.csv`` with ``date,kind,name,source``.

``kind`` is ``holiday`` (a statutory day off) or ``workday`` (a weekend day made a working day, e.g. China's
调休 Saturdays). Price windows with a holiday rule (DeepSeek: statutory holidays are off-peak all day) ask
:func:`is_holiday`. The format is documented in docs/registry.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import tokenizers_registry
from tokctl.errors import RegistryError, UnknownNameError

KINDS = ("holiday", "workday")
COLUMNS = ("date", "kind", "name", "source")


class UnknownCalendarError(UnknownNameError):
    kind = "calendar"


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    kind: str
    name: str
    source: str


@dataclass(frozen=True)
class Calendar:
    id: str
    path: Path
    days: dict[dt.date, CalendarDay]

    def holidays(self) -> frozenset[dt.date]:
        return frozenset(d for d, day in self.days.items() if day.kind == "holiday")

    def workdays(self) -> frozenset[dt.date]:
        return frozenset(d for d, day in self.days.items() if day.kind == "workday")


def parse_calendar(path: Path) -> Calendar:
    """Read and validate one calendar file; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read calendar: {exc.strerror}", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise RegistryError(f"not UTF-8 text ({exc.reason})", where=str(path), fix="save it as UTF-8") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise RegistryError(
            f"header {header!r} is not {','.join(COLUMNS)}",
            where=f"{path}:1",
            fix=f"make the first line {','.join(COLUMNS)}",
        )
    days: dict[dt.date, CalendarDay] = {}
    for line, row in enumerate(reader, start=2):
        where = f"{path}:{line}"
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(COLUMNS):
            raise RegistryError(
                f"expected {len(COLUMNS)} fields, found {len(row)}",
                where=where,
                fix="quote fields that contain commas",
            )
        text_date, kind, name, source = (cell.strip() for cell in row)
        try:
            date = dt.date.fromisoformat(text_date)
        except ValueError:
            raise RegistryError(
                f"date {text_date!r} is not YYYY-MM-DD", where=where, fix="write e.g. 2026-10-01"
            ) from None
        if kind not in KINDS:
            raise RegistryError(f"kind {kind!r} is not holiday or workday", where=where, fix="fix kind")
        if not source:
            raise RegistryError("source is empty", where=where, fix="give the URL of the official notice")
        if date in days:
            raise RegistryError(f"{date} is listed twice", where=where, fix="keep one line per date")
        days[date] = CalendarDay(date, kind, name, source)
    return Calendar(path.stem, path, days)


def load_calendars(directory: Path) -> dict[str, Calendar]:
    return {path.stem: parse_calendar(path) for path in sorted(directory.glob("*.csv"))}


@functools.cache
def all_calendars() -> dict[str, Calendar]:
    return load_calendars(tokenizers_registry.CALENDARS)


def get_calendar(calendar_id: str) -> Calendar:
    calendars = all_calendars()
    try:
        return calendars[calendar_id]
    except KeyError:
        raise UnknownCalendarError(
            calendar_id, calendars, fix=f"add tokenizers_registry/calendars/{calendar_id}.csv"
        ) from None


@functools.cache
def holiday_set(calendar_id: str) -> frozenset[dt.date]:
    return get_calendar(calendar_id).holidays()


def is_holiday(calendar_id: str, date: dt.date) -> bool:
    """True when ``date`` is a statutory holiday in the calendar (a make-up workday is not a holiday).

    >>> is_holiday("cn", dt.date(2026, 10, 1))  # doctest: +SKIP
    True
    """
    return date in holiday_set(calendar_id)


def clear_caches() -> None:
    """Forget loaded calendars (tests point the registry at other directories)."""
    all_calendars.cache_clear()
    holiday_set.cache_clear()
