"""What every bill reader shares: money and quantity parsing, currencies, times, and the line builder.

Amounts are parsed from text into ``Decimal`` (JSON is loaded with ``parse_float=Decimal``), never through
float. A value that does not parse raises :class:`LineError`, which the reader turns into a counted skip (or,
with ``strict``, into an :class:`~tokctl.errors.InputFormatError` naming the file and line).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tokctl.errors import InputFormatError
from tokctl.ingest.secrets import redact_repeated
from tokctl.schema import MAX_TOKENS, MONEY_LIMIT_DIGITS

# ISO 4217 active codes (2026): a bill in anything else is refused rather than guessed.
_ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD
    CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ
    GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
    LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
    PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()  # noqa: SIM905 - a compact table
)
# What Chinese consoles write instead of the code.
_CURRENCY_ALIASES = {"RMB": "CNY", "元": "CNY", "人民币": "CNY", "¥": "CNY", "￥": "CNY", "US$": "USD", "$": "USD"}
_SYMBOLS = "¥￥$€£"
_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")

TOKEN_CLASSES = ("input", "cache_read", "cache_write", "cache_write_1h", "output")
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")


class LineError(ValueError):
    """One line of a bill cannot be used; the reader skips it (counted) or stops (strict)."""


@dataclass(frozen=True)
class Skip:
    where: str  # file:line
    reason: str  # a short category, the same for every line skipped for the same cause
    detail: str = ""


def currency(value: Any) -> str:
    """An ISO 4217 code from what a bill writes (``usd``, ``RMB``, ``¥``)."""
    text = str(value or "").strip()
    code = _CURRENCY_ALIASES.get(text, text.upper())
    if code not in _ISO_4217:
        raise LineError(f"unknown currency {text!r}; write an ISO 4217 code such as USD or CNY")
    return code


def decimal(value: Any, what: str = "amount") -> Decimal:
    """A finite Decimal from a JSON number (already Decimal), an int, or text such as ``"1,234.50"`` or ``"¥3.20"``."""
    if isinstance(value, bool) or value is None:
        raise LineError(f"{what} is missing")
    if isinstance(value, Decimal | int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # only from Parquet doubles: the shortest text that round-trips
    else:
        text = str(value).strip().lstrip(_SYMBOLS).strip()
        if _GROUPED.match(text):
            text = text.replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise LineError(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise LineError(f"{what} {value!r} is not a finite number")
    if number and number.adjusted() >= MONEY_LIMIT_DIGITS:
        raise LineError(f"{what} {_short(value)} is too large (amounts stay below 10^{MONEY_LIMIT_DIGITS})")
    return number


def tokens(quantity: Any, multiplier: int = 1, what: str = "quantity") -> int:
    """A token count from a quantity in ``multiplier``-token units (``2.45`` in 1K tokens -> 2450)."""
    number = decimal(quantity, what) * multiplier
    if number < 0:
        raise LineError(f"{what} {quantity!r} is negative")
    if number > MAX_TOKENS:
        raise LineError(f"{what} {_short(quantity)} is more tokens than any bill line holds (limit 2^53 - 1)")
    whole = number.to_integral_value()
    if multiplier == 1 and whole != number:  # in 1K or 1M units a bill rounds; in tokens a fraction is bad input
        raise LineError(f"{what} {_short(quantity)} is not a whole number of tokens")
    return int(whole)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a directory of zones
        raise InputFormatError(
            f"unknown time zone {name!r}", fix="use an IANA name such as UTC or Asia/Shanghai"
        ) from None


def moment(value: Any, tz: dt.tzinfo, what: str = "time") -> dt.datetime:
    """An aware UTC datetime from unix seconds, RFC 3339 text, or a bare date (midnight in ``tz``)."""
    if isinstance(value, bool) or value is None:
        raise LineError(f"{what} is missing")
    try:
        return _moment(value, tz, what)
    except (OverflowError, OSError, ValueError):  # past year 9999 (or before year 1) once in UTC
        raise LineError(f"{what} {_short(value)} is out of the range of dates (years 1 to 9999)") from None


def _moment(value: Any, tz: dt.tzinfo, what: str) -> dt.datetime:
    if isinstance(value, int | Decimal):
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime.combine(value, dt.time(0))
    else:
        text = str(value).strip().replace("/", "-")
        try:
            stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise LineError(f"{what} {value!r} is not a date or an ISO 8601 time") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=tz)
    return stamp.astimezone(dt.UTC)


def next_day(start: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Midnight after ``start`` in ``tz`` (23 or 25 hours on a DST change)."""
    try:
        local = start.astimezone(tz)
        following = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        return following.astimezone(dt.UTC)
    except OverflowError:
        raise LineError(f"the day after {start.date()} is out of the range of dates (years 1 to 9999)") from None


def line_id(*parts: Any) -> str:
    return hashlib.blake2b("\x1f".join("" if p is None else str(p) for p in parts).encode(), digest_size=12).hexdigest()


@dataclass
class LineBuilder:
    """Collects charge lines as columns and builds the canonical table once."""

    source_format: str
    source_file: str
    columns: dict[str, list[Any]] = field(default_factory=dict)
    count: int = 0
    line: int | None = None  # the reader sets it before adding the lines of a record

    def add(self, *, key: tuple[Any, ...], **values: Any) -> None:
        from tokctl.schema import CHARGE_COLUMNS

        values.setdefault("line_id", line_id(self.source_format, self.source_file, *key))
        values.setdefault("source_format", self.source_format)
        values.setdefault("source_file", self.source_file)
        values.setdefault("source_line", self.line)
        values.setdefault("charge_category", "Usage")
        unknown = set(values) - {name for name, *_ in CHARGE_COLUMNS}
        if unknown:
            raise AssertionError(f"not charge columns: {sorted(unknown)}")
        for name, spec, *_ in CHARGE_COLUMNS:  # checked before any column grows: a bad line adds nothing
            if spec in ("string", "dict"):
                values[name] = _label(values.get(name), name)
        for name, *_ in CHARGE_COLUMNS:
            self.columns.setdefault(name, [None] * self.count).append(values.get(name))
        self.count += 1

    def table(self) -> Any:
        import pyarrow as pa

        from tokctl.schema import CHARGE_COLUMNS, charge_schema

        schema = charge_schema()
        if not self.count:
            return schema.empty_table()
        arrays = [_array(self.columns[name], schema.field(name).type) for name, *_ in CHARGE_COLUMNS]
        return pa.Table.from_arrays(arrays, schema=schema)


def _label(value: Any, name: str) -> str | None:
    """Text columns hold text (numbers are written as text, anything else makes the line unusable), and never
    a secret: an API key where a key id belongs becomes ``redacted:<hash>``, the alias the log readers give
    the same key, so bill and logs still meet on it."""
    if value is None:
        return None
    if isinstance(value, str):
        return redact_repeated(value)
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return str(value)
    raise LineError(f"{name} is {type(value).__name__}, not text")


def _array(values: list[Any], arrow_type: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return pa.array(values, pa.string()).dictionary_encode().cast(arrow_type)
    if pa.types.is_decimal(arrow_type):
        scale = Decimal(1).scaleb(-arrow_type.scale)
        values = [None if v is None else v.quantize(scale) for v in values]
    return pa.array(values, arrow_type)


@dataclass
class FileRead:
    """One bill file read: its charge lines and the lines skipped, with why."""

    table: Any
    skipped: list[Skip] = field(default_factory=list)


class Collector:
    """Turns a line's :class:`LineError` into a counted skip, or into a one-line error when strict."""

    def __init__(self, path: str, *, strict: bool) -> None:
        self.path = path
        self.strict = strict
        self.skipped: list[Skip] = []

    def skip(self, line: int | str | None, reason: str, detail: str = "") -> None:
        where = f"{self.path}:{line}" if line is not None else self.path
        if self.strict:
            raise InputFormatError(
                f"{reason}: {detail}" if detail else reason,
                where=where,
                fix="correct or remove the line (or drop --strict to skip it)",
            )
        self.skipped.append(Skip(where, reason, detail))


def canonical_model(name: str | None, provider: str | None) -> str | None:
    """The registry id for a model as a bill names it, or None when the registry does not know it."""
    if not name:
        return None
    return _canonical(name.strip(), provider)


_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")
_BEDROCK = re.compile(r"^(?:[a-z]{2,4}\.|global\.)?(?:[a-z0-9-]+\.)?(?P<model>[a-z0-9.-]+?)(?:-v\d+(?::\d+)?)?$")


@functools.lru_cache(maxsize=4096)
def _canonical(name: str, provider: str | None) -> str | None:
    from tokctl.errors import TokctlError
    from tokctl.registry.catalog import resolve_model

    lower = name.lower()
    slug = re.sub(r"[\s_.]+", "-", lower).strip("-")
    candidates = [lower, slug, _DATE_SUFFIX.sub("", lower), _DATE_SUFFIX.sub("", slug)]
    bedrock = _BEDROCK.match(lower.rsplit("/", 1)[-1])
    if bedrock:
        candidates += [bedrock["model"], _DATE_SUFFIX.sub("", bedrock["model"])]
    for candidate in dict.fromkeys(candidates):
        try:
            return resolve_model(candidate, provider).model.id
        except TokctlError:
            continue
    return None
