"""Provider files: ``tokenizers_registry/providers/*.toml``, one per billing platform.

Each holds the platform (currency, time zone), its models (ids, aliases, tokenizer, context window) and each
model's dated price periods. The format is documented in docs/registry.md; this module rejects anything else.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import tokenizers_registry
from tokctl.errors import RegistryError
from tokctl.registry.strict_toml import check_keys, expect, load_toml, moment, money

PRICE_KEYS = (
    "input",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "cache_write_12h",
    "output",
    "reasoning",
)
# The optional keys of a price period (the required ones: effective_from, source, checked, confidence).
PERIOD_KEYS = (
    "effective_to",
    "notes",
    "default_window",
    "tier_basis",
    "tiers",
    "windows",
    "batch_multiplier",
    "batch",
    "service_tiers",
    *PRICE_KEYS,
)
CONFIDENCES = ("high", "medium", "low")
REGIONS = ("intl", "cn")
TIER_BASIS = ("uncached_input", "cache_read", "cache_write")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY_RULES = ("exclude", "only")
SERVICE_TIERS = ("flex", "priority", "scale")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_ID = re.compile(r"^[a-z0-9][a-z0-9._:/-]*$")


@dataclass(frozen=True)
class Prices:
    """Prices per 1M tokens in the platform's currency. None: not offered / not priced."""

    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    cache_write_12h: Decimal | None = None
    output: Decimal | None = None
    reasoning: Decimal | None = None

    def scaled(self, multiplier: Decimal) -> Prices:
        return Prices(**{k: (None if v is None else v * multiplier) for k, v in self.items()})

    def items(self) -> list[tuple[str, Decimal | None]]:
        return [(k, getattr(self, k)) for k in PRICE_KEYS]

    def given(self) -> set[str]:
        return {k for k, v in self.items() if v is not None}


@dataclass(frozen=True)
class Tier:
    """Applies when the request's prompt tokens are > ``above`` (or >= ``from_``)."""

    threshold: int
    inclusive: bool
    prices: Prices
    reprices: str  # "all": every token of the request, output included; "input": input kinds only

    def applies(self, prompt_tokens: int) -> bool:
        return prompt_tokens >= self.threshold if self.inclusive else prompt_tokens > self.threshold

    @property
    def label(self) -> str:
        return f"{'>=' if self.inclusive else '>'}{self.threshold}"


@dataclass(frozen=True)
class Window:
    """A time-of-day window in the platform's time zone: [start, end) per listed weekday."""

    name: str
    days: frozenset[int]  # 0 = Monday
    hours: tuple[tuple[int, int], ...]  # minutes from midnight, [start, end); end may be < start (wraps)
    holidays: str | None  # "exclude": never on holidays; "only": only on holidays; None: calendar ignored
    prices: Prices | None
    multiplier: Decimal | None


@dataclass(frozen=True)
class PricePeriod:
    effective_from: dt.datetime
    effective_to: dt.datetime | None
    source: str
    checked: dt.date
    confidence: str
    base: Prices
    notes: str = ""
    default_window: str | None = None
    tier_basis: tuple[str, ...] = TIER_BASIS
    tiers: tuple[Tier, ...] = ()
    windows: tuple[Window, ...] = ()
    batch_multiplier: Decimal | None = None
    batch_prices: Prices | None = None
    service_tiers: dict[str, tuple[Decimal | None, Prices | None]] = field(default_factory=dict)

    def covers(self, at: dt.datetime) -> bool:
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)


@dataclass(frozen=True)
class Model:
    id: str
    platform: str
    tokenizer: str
    context_window: int | None
    max_output: int | None
    aliases: tuple[str, ...] = ()
    name: str = ""
    maker: str = ""
    deprecated: dt.date | None = None
    notes: str = ""
    prices: tuple[PricePeriod, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


@dataclass(frozen=True)
class Platform:
    id: str
    name: str
    vendor: str
    region: str
    currency: str
    timezone: str
    pricing_url: str
    path: Path
    holiday_calendar: str | None = None
    models: tuple[Model, ...] = ()

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def _prices(raw: dict[str, Any], where: str) -> Prices:
    return Prices(**{k: money(raw[k], where=where, key=k) for k in PRICE_KEYS if k in raw})


def _window(raw: Any, where: str) -> Window:
    expect(raw, dict, where=where, key="windows[]")
    check_keys(raw, where=where, required=("name", "days", "hours"), optional=("holidays", "multiplier", *PRICE_KEYS))
    days = expect(raw["days"], list, where=where, key="days")
    bad = [d for d in days if d not in WEEKDAYS]
    if bad or not days:
        raise RegistryError(f"days {days!r} must list weekdays", where=where, fix=f"use {', '.join(WEEKDAYS)}")
    spans = []
    for text in expect(raw["hours"], list, where=where, key="hours"):
        m = _HOURS.match(str(text))
        if not m:
            raise RegistryError(
                f"hours entry {text!r} is not HH:MM-HH:MM",
                where=where,
                fix='write e.g. "09:00-12:00" (end exclusive; 22:00-02:00 wraps midnight)',
            )
        h1, m1, h2, m2 = map(int, m.groups())
        spans.append((h1 * 60 + m1, h2 * 60 + m2))
    holidays = raw.get("holidays")
    if holidays is not None and holidays not in HOLIDAY_RULES:
        raise RegistryError(f"holidays {holidays!r} must be exclude or only", where=where, fix="fix holidays")
    prices = _prices(raw, where) if any(k in raw for k in PRICE_KEYS) else None
    multiplier = money(raw["multiplier"], where=where, key="multiplier") if "multiplier" in raw else None
    if (prices is None) == (multiplier is None):
        raise RegistryError(
            "a window needs either prices or a multiplier, not both",
            where=where,
            fix="give input/output/... prices or multiplier = 0.5",
        )
    return Window(raw["name"], frozenset(WEEKDAYS.index(d) for d in days), tuple(spans), holidays, prices, multiplier)


def _tier(raw: Any, where: str, base: Prices) -> Tier:
    expect(raw, dict, where=where, key="tiers[]")
    check_keys(raw, where=where, optional=("above", "from", "reprices", *PRICE_KEYS))
    if ("above" in raw) == ("from" in raw):
        raise RegistryError(
            "a tier needs exactly one of above (>) or from (>=)",
            where=where,
            fix="write above = 32768 for 'more than 32K' or from = 200000 for 'at least 200K'",
        )
    inclusive = "from" in raw
    threshold = expect(raw["from" if inclusive else "above"], int, where=where, key="above/from")
    reprices = raw.get("reprices", "all")
    if reprices not in ("all", "input"):
        raise RegistryError(f"reprices {reprices!r} must be all or input", where=where, fix="fix reprices")
    prices = _prices(raw, where)
    missing = sorted(base.given() - prices.given())
    if missing:
        raise RegistryError(
            f"tier {'>=' if inclusive else '>'}{threshold} lacks {', '.join(missing)} that the base prices give",
            where=where,
            fix="give every price in each tier (copy the base price if it does not change)",
        )
    return Tier(threshold, inclusive, prices, reprices)


def _period(raw: Any, where: str, tz: dt.tzinfo) -> PricePeriod:
    expect(raw, dict, where=where, key="prices[]")
    check_keys(
        raw,
        where=where,
        required=("effective_from", "source", "checked", "confidence"),
        optional=PERIOD_KEYS,
    )
    start = moment(raw["effective_from"], where=where, key="effective_from", tz=tz)
    end = moment(raw["effective_to"], where=where, key="effective_to", tz=tz) if "effective_to" in raw else None
    if end is not None and end <= start:
        raise RegistryError("effective_to is not after effective_from", where=where, fix="swap or fix the dates")
    if raw["confidence"] not in CONFIDENCES:
        raise RegistryError(
            f"confidence {raw['confidence']!r} is not high, medium or low", where=where, fix="set confidence"
        )
    source = expect(raw["source"], str, where=where, key="source")
    if not source.strip():
        raise RegistryError("source is empty", where=where, fix="give the URL the price was read from")
    checked = raw["checked"]
    if not isinstance(checked, dt.date) or isinstance(checked, dt.datetime):
        raise RegistryError(f"checked must be a date, not {checked!r}", where=where, fix="write checked = 2026-11-27")
    base = _prices(raw, where)
    if base.input is None or base.output is None:
        raise RegistryError("a price period needs input and output", where=where, fix="add input and output")
    basis = tuple(expect(raw.get("tier_basis", list(TIER_BASIS)), list, where=where, key="tier_basis"))
    if not basis or any(b not in TIER_BASIS for b in basis):
        raise RegistryError(
            f"tier_basis {list(basis)} must list some of {', '.join(TIER_BASIS)}",
            where=where,
            fix="fix tier_basis",
        )
    tiers = tuple(
        _tier(t, f"{where} tiers[{i}]", base)
        for i, t in enumerate(expect(raw.get("tiers", []), list, where=where, key="tiers"))
    )
    keys = [(t.threshold, not t.inclusive) for t in tiers]
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        raise RegistryError(
            "tiers overlap or are out of order",
            where=where,
            fix="list tiers from the lowest threshold up, each threshold once",
        )
    windows = tuple(
        _window(w, f"{where} windows[{i}]")
        for i, w in enumerate(expect(raw.get("windows", []), list, where=where, key="windows"))
    )
    if tiers and windows:
        raise RegistryError(
            "a price period cannot have both tiers and windows yet",
            where=where,
            fix="split the model or open an issue for the combined rule",
        )
    _check_windows_disjoint(windows, where)
    batch_mult = (
        money(raw["batch_multiplier"], where=where, key="batch_multiplier") if "batch_multiplier" in raw else None
    )
    batch_prices = None
    if "batch" in raw:
        check_keys(raw["batch"], where=f"{where} batch", optional=PRICE_KEYS)
        batch_prices = _prices(raw["batch"], f"{where} batch")
    if batch_mult is not None and batch_prices is not None:
        raise RegistryError("give batch_multiplier or [batch] prices, not both", where=where, fix="remove one")
    service_tiers: dict[str, tuple[Decimal | None, Prices | None]] = {}
    for name, st in expect(raw.get("service_tiers", {}), dict, where=where, key="service_tiers").items():
        sw = f"{where} service_tiers.{name}"
        if name not in SERVICE_TIERS:
            raise RegistryError(
                f"service tier {name!r} is not one of {', '.join(SERVICE_TIERS)}", where=sw, fix="rename it"
            )
        check_keys(st, where=sw, optional=("multiplier", *PRICE_KEYS))
        mult = money(st["multiplier"], where=sw, key="multiplier") if "multiplier" in st else None
        sp = _prices(st, sw) if any(k in st for k in PRICE_KEYS) else None
        if (mult is None) == (sp is None):
            raise RegistryError("a service tier needs either prices or a multiplier", where=sw, fix="fix it")
        service_tiers[name] = (mult, sp)
    return PricePeriod(
        start,
        end,
        source,
        checked,
        raw["confidence"],
        base,
        raw.get("notes", ""),
        raw.get("default_window"),
        basis,
        tiers,
        windows,
        batch_mult,
        batch_prices,
        service_tiers,
    )


def _minutes(window: Window) -> set[tuple[int, int]]:
    slots = set()
    for day in window.days:
        for start, end in window.hours:
            stop = end if end > start else end + 24 * 60
            for minute in range(start, stop, 15):
                slots.add(((day + minute // (24 * 60)) % 7, minute % (24 * 60)))
    return slots


def _check_windows_disjoint(windows: tuple[Window, ...], where: str) -> None:
    for i, a in enumerate(windows):
        for b in windows[i + 1 :]:
            if a.holidays != b.holidays and {a.holidays, b.holidays} == {"exclude", "only"}:
                continue
            if _minutes(a) & _minutes(b):
                raise RegistryError(
                    f"windows {a.name!r} and {b.name!r} overlap",
                    where=where,
                    fix="make the windows disjoint; the base prices cover all other hours",
                )


def _model(raw: Any, where: str, platform: dict[str, Any], tz: dt.tzinfo) -> Model:
    expect(raw, dict, where=where, key="models[]")
    check_keys(
        raw,
        where=where,
        required=("id", "tokenizer"),
        optional=(
            "aliases",
            "name",
            "maker",
            "context_window",
            "max_output",
            "deprecated",
            "notes",
            "prices",
        ),
    )
    mid = expect(raw["id"], str, where=where, key="id")
    if not _ID.match(mid):
        raise RegistryError(
            f"model id {mid!r} must be lowercase",
            where=where,
            fix="use lowercase ids; put the vendor's spelling in aliases",
        )
    where = f"{where} ({mid})"
    aliases = tuple(expect(raw.get("aliases", []), list, where=where, key="aliases"))
    for alias in aliases:
        if not isinstance(alias, str) or alias != alias.lower():
            raise RegistryError(
                f"alias {alias!r} must be a lowercase string",
                where=where,
                fix="aliases are matched case-insensitively; write them in lowercase",
            )
    periods = tuple(
        _period(p, f"{where} prices[{i}]", tz)
        for i, p in enumerate(expect(raw.get("prices", []), list, where=where, key="prices"))
    )
    ordered = sorted(periods, key=lambda p: p.effective_from)
    for prev, nxt in itertools.pairwise(ordered):
        if prev.effective_to is None or prev.effective_to > nxt.effective_from:
            raise RegistryError(
                f"price periods overlap: {prev.effective_from.isoformat()} has no effective_to before "
                f"{nxt.effective_from.isoformat()}",
                where=where,
                fix=f"set effective_to = {nxt.effective_from.isoformat()} on the earlier period",
            )
    for key in ("context_window", "max_output"):
        if key in raw:
            expect(raw[key], int, where=where, key=key)
    deprecated = raw.get("deprecated")
    return Model(
        mid,
        platform["id"],
        raw["tokenizer"],
        raw.get("context_window"),
        raw.get("max_output"),
        aliases,
        raw.get("name", ""),
        raw.get("maker", platform["vendor"]),
        deprecated,
        raw.get("notes", ""),
        tuple(ordered),
    )


def parse_platform(raw: dict[str, Any], path: Path) -> Platform:
    where = str(path)
    check_keys(raw, where=where, required=("platform",), optional=("models",))
    p = expect(raw["platform"], dict, where=where, key="platform")
    pw = f"{where} [platform]"
    check_keys(
        p,
        where=pw,
        required=("id", "name", "vendor", "region", "currency", "timezone", "pricing_url"),
        optional=("holiday_calendar",),
    )
    if p["id"] != path.stem:
        raise RegistryError(
            f"platform id {p['id']!r} does not match the file name {path.name!r}",
            where=pw,
            fix=f"rename the file to {p['id']}.toml",
        )
    if p["region"] not in REGIONS:
        raise RegistryError(f"region {p['region']!r} is not intl or cn", where=pw, fix="set region")
    if not re.fullmatch(r"[A-Z]{3}", str(p["currency"])):
        raise RegistryError(
            f"currency {p['currency']!r} is not an ISO 4217 code", where=pw, fix='write e.g. currency = "CNY"'
        )
    try:
        tz = zoneinfo.ZoneInfo(expect(p["timezone"], str, where=pw, key="timezone"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory, a name too long
        raise RegistryError(
            f"unknown time zone {p['timezone']!r}",
            where=pw,
            fix="use an IANA name such as Asia/Shanghai or UTC",
        ) from None
    models = tuple(
        _model(m, f"{where} models[{i}]", p, tz)
        for i, m in enumerate(expect(raw.get("models", []), list, where=where, key="models"))
    )
    seen: dict[str, str] = {}
    for model in models:
        for name in model.names():
            if name in seen:
                raise RegistryError(
                    f"{name!r} names both {seen[name]} and {model.id}",
                    where=where,
                    fix="each id and alias may name one model per platform",
                )
            seen[name] = model.id
    return Platform(
        p["id"],
        p["name"],
        p["vendor"],
        p["region"],
        p["currency"],
        p["timezone"],
        p["pricing_url"],
        path,
        p.get("holiday_calendar"),
        models,
    )


def parse_price_period(raw: Any, where: str, tz: dt.tzinfo) -> PricePeriod:
    """One ``[[models.prices]]`` table; also used for user overrides and custom models (tokctl.registry.overrides)."""
    return _period(raw, where, tz)


def parse_model(raw: Any, where: str, platform: dict[str, Any], tz: dt.tzinfo) -> Model:
    """One ``[[models]]`` table (``platform`` needs ``id`` and ``vendor``); also used for custom models."""
    return _model(raw, where, platform, tz)


def load_platforms(directory: Path) -> dict[str, Platform]:
    """Every ``*.toml`` platform file in ``directory`` (tests load fixture directories this way)."""
    return {
        plat.id: plat for path in sorted(directory.glob("*.toml")) for plat in [parse_platform(load_toml(path), path)]
    }


@functools.cache
def all_platforms() -> dict[str, Platform]:
    return load_platforms(tokenizers_registry.PROVIDERS)
