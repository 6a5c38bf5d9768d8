"""User price overrides and custom models, from the user config file (``tokctl.paths.config_path()``).

```toml
[[overrides]]                  # a negotiated discount or markup, or the user's own prices
model = "gpt-6-astra"          # scope: model and/or platform (id or alias)
platform = "openai"
effective_from = 2026-01-01    # a bare date is 00:00 in the platform's time zone
effective_to = 2027-01-01      # optional, exclusive
multiplier = 0.8               # every price of the registry row x 0.8 ...
# input = 8                    # ... or explicit prices in the price-period format (model scope only)
source = "MSA 2026 clause 4"   # optional

[[custom_models]]              # a model the registry does not know, with its own prices
platform = "openai"            # a registry platform, or a new id with currency and timezone
id = "ft:gpt-6-luna:acme"
[[custom_models.prices]]
effective_from = 2026-01-01
input = 0.3
output = 1.2
```

Precedence at a moment: an override scoped to model and platform beats one scoped to the model alone,
which beats one scoped to the platform alone, which beats the registry. Overrides never stack. Other
top-level tables of the config file (``[calibration.*]``, ...) belong to other modules and are ignored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokctl.errors import RegistryError, UnknownModelError, UnknownProviderError
from tokctl.paths import config_path
from tokctl.registry.providers import (
    PERIOD_KEYS,
    PRICE_KEYS,
    Model,
    Platform,
    PricePeriod,
    Prices,
    all_platforms,
    parse_model,
    parse_price_period,
)
from tokctl.registry.strict_toml import check_keys, expect, moment, money

_UTC = dt.UTC


@dataclass(frozen=True)
class Override:
    index: int
    where: str
    platform: str | None
    model: str | None  # lowercased id or alias
    start: Any  # date or aware datetime, resolved in the platform's time zone by bounds()
    end: Any
    multiplier: Decimal | None
    raw_period: dict[str, Any] | None  # explicit prices, parsed per platform time zone
    source: str

    @property
    def rank(self) -> int:
        """Higher wins: model and platform (3) > model (2) > platform (1)."""
        return (2 if self.model else 0) + (1 if self.platform else 0)

    def matches(self, platform_id: str, model: Model) -> bool:
        if self.platform is not None and self.platform != platform_id:
            return False
        return self.model is None or self.model in {n.lower() for n in model.names()}

    def bounds(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime | None]:
        start = moment(self.start, where=self.where, key="effective_from", tz=tz)
        end = None if self.end is None else moment(self.end, where=self.where, key="effective_to", tz=tz)
        return start, end

    def period(self, platform: Platform) -> PricePeriod:
        """The explicit prices as a price period in the platform's time zone."""
        assert self.raw_period is not None
        return parse_price_period(self.raw_period, self.where, platform.tz)


@dataclass(frozen=True)
class UserPricing:
    path: Path | None
    overrides: tuple[Override, ...] = ()
    custom_platforms: dict[str, Platform] = dataclasses.field(default_factory=dict)

    def find_custom(self, name: str, provider: str | None) -> list[tuple[Platform, Model]]:
        wanted = name.lower()
        return [
            (platform, model)
            for platform in self.custom_platforms.values()
            if provider is None or platform.id == provider
            for model in platform.models
            if wanted in {n.lower() for n in model.names()}
        ]

    def for_model(self, platform_id: str, model: Model) -> list[Override]:
        return [o for o in self.overrides if o.matches(platform_id, model)]


def _override(raw: Any, index: int, path: Path, known_platforms: dict[str, Platform]) -> Override:
    where = f"{path} overrides[{index}]"
    expect(raw, dict, where=where, key="overrides[]")
    check_keys(
        raw,
        where=where,
        required=("effective_from",),
        optional=("platform", "model", "multiplier", "source", "checked", "confidence", *PERIOD_KEYS),
    )
    platform = raw.get("platform")
    model = raw.get("model")
    if platform is None and model is None:
        raise RegistryError("an override needs a scope", where=where, fix='add platform = "..." and/or model = "..."')
    if platform is not None and platform not in known_platforms:
        raise UnknownProviderError(str(platform), known_platforms, fix=f"fix platform in {where}")
    has_prices = any(k in raw for k in PRICE_KEYS)
    if ("multiplier" in raw) == has_prices:
        raise RegistryError(
            "an override needs either multiplier or explicit prices, not both",
            where=where,
            fix="write multiplier = 0.8 for a 20% discount, or input = ... and output = ...",
        )
    multiplier = money(raw["multiplier"], where=where, key="multiplier") if "multiplier" in raw else None
    raw_period = None
    if multiplier is None:
        if model is None:
            raise RegistryError(
                "explicit prices need a model scope",
                where=where,
                fix='add model = "..." or use a multiplier for a whole platform',
            )
        raw_period = {k: v for k, v in raw.items() if k not in ("platform", "model", "multiplier")}
        raw_period.setdefault("source", f"user config {path}")
        raw_period.setdefault("checked", _as_date(raw["effective_from"]))
        raw_period.setdefault("confidence", "high")
        parse_price_period(raw_period, where, _UTC)  # validate now; parsed again per platform time zone
    elif any(k in raw for k in PERIOD_KEYS if k != "effective_to"):
        extra = sorted(k for k in raw if k in PERIOD_KEYS and k != "effective_to")
        raise RegistryError(f"{', '.join(extra)} cannot go with a multiplier", where=where, fix="remove them")
    override = Override(
        index,
        where,
        platform,
        None if model is None else str(model).lower(),
        raw["effective_from"],
        raw.get("effective_to"),
        multiplier,
        raw_period,
        str(raw.get("source", f"user config {path} overrides[{index}]")),
    )
    start, end = override.bounds(_tz(known_platforms, platform))
    if end is not None and end <= start:
        raise RegistryError("effective_to is not after effective_from", where=where, fix="swap or fix the dates")
    return override


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _tz(platforms: dict[str, Platform], platform_id: str | None) -> dt.tzinfo:
    return platforms[platform_id].tz if platform_id in platforms else _UTC


def _custom_model(raw: Any, index: int, path: Path, registry: dict[str, Platform]) -> tuple[Platform, Model]:
    where = f"{path} custom_models[{index}]"
    expect(raw, dict, where=where, key="custom_models[]")
    platform_id = expect(raw.get("platform"), str, where=where, key="platform")
    fields = {k: v for k, v in raw.items() if k not in ("platform", "currency", "timezone")}
    fields.setdefault("tokenizer", "")
    if platform_id in registry:
        if "currency" in raw or "timezone" in raw:
            raise RegistryError(
                f"{platform_id} is a registry platform with its own currency and time zone",
                where=where,
                fix="remove currency and timezone, or use a new platform id",
            )
        platform = registry[platform_id]
    else:
        check_keys(
            {k: raw.get(k) for k in ("currency", "timezone") if k in raw},
            where=where,
            required=("currency", "timezone"),
        )
        try:
            zoneinfo.ZoneInfo(raw["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, TypeError):
            raise RegistryError(
                f"unknown time zone {raw['timezone']!r}",
                where=where,
                fix="use an IANA name such as UTC or Asia/Shanghai",
            ) from None
        platform = Platform(
            platform_id, platform_id, platform_id, "intl", str(raw["currency"]), raw["timezone"], "", path
        )
    defaults = {"source": f"user config {path}", "confidence": "high"}
    for period in fields.get("prices", []):
        if isinstance(period, dict):
            for key, value in defaults.items():
                period.setdefault(key, value)
            period.setdefault("checked", _as_date(period.get("effective_from", dt.date.today())))
    model = parse_model(fields, where, {"id": platform.id, "vendor": platform.vendor}, platform.tz)
    return platform, model


def parse_user_pricing(raw: dict[str, Any], path: Path) -> UserPricing:
    """The ``[[overrides]]`` and ``[[custom_models]]`` of a config document; other keys are ignored."""
    registry = all_platforms()
    custom: dict[str, Platform] = {}
    for i, entry in enumerate(expect(raw.get("custom_models", []), list, where=str(path), key="custom_models")):
        platform, model = _custom_model(entry, i, path, registry)
        held = custom.get(platform.id, dataclasses.replace(platform, models=()))
        if any(set(model.names()) & set(m.names()) for m in held.models):
            raise RegistryError(
                f"custom model {model.id!r} is defined twice on {platform.id}",
                where=f"{path} custom_models[{i}]",
                fix="keep one entry per model",
            )
        custom[platform.id] = dataclasses.replace(held, models=(*held.models, model))
    known = {**registry, **custom}
    entries = expect(raw.get("overrides", []), list, where=str(path), key="overrides")
    overrides = tuple(_override(entry, i, path, known) for i, entry in enumerate(entries))
    _check_models_exist(overrides, known)
    _check_no_overlap(overrides, known)
    return UserPricing(path, overrides, custom)


def _check_models_exist(overrides: tuple[Override, ...], platforms: dict[str, Platform]) -> None:
    names = {n.lower() for p in platforms.values() for m in p.models for n in m.names()}
    for o in overrides:
        if o.model is not None and o.model not in names:
            raise UnknownModelError(o.model, names, fix=f"fix model in {o.where}")


def _check_no_overlap(overrides: tuple[Override, ...], platforms: dict[str, Platform]) -> None:
    for i, a in enumerate(overrides):
        for b in overrides[i + 1 :]:
            if (a.platform, a.model) != (b.platform, b.model):
                continue
            tz = _tz(platforms, a.platform)
            (a0, a1), (b0, b1) = a.bounds(tz), b.bounds(tz)
            if (a1 is None or b0 < a1) and (b1 is None or a0 < b1):
                raise RegistryError(
                    f"overrides[{a.index}] and overrides[{b.index}] cover the same scope and time",
                    where=b.where,
                    fix=f"set effective_to on overrides[{a.index}] or merge them",
                )


_cache: dict[tuple[str, int, int], UserPricing] = {}
_NO_FILE = UserPricing(None)
_pinned: list[UserPricing] = []  # at most one, set by pin_user_pricing


def _fingerprint(path: Path) -> tuple[str, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path), stat.st_mtime_ns, stat.st_size)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise RegistryError(f"cannot read the config file: {exc.strerror}", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise RegistryError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=str(path), fix="save the config as UTF-8"
        ) from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise RegistryError(f"invalid TOML: {why}", where=str(path), fix="fix the TOML syntax") from None


def user_pricing(path: Path | None = None) -> UserPricing:
    """The overrides and custom models of the user config file (empty when there is no file).

    Re-read when the file changes; the result is shared, so treat it as read-only. A process that was
    given the driver's registry (tokctl.registry.snapshot.install: a Spark executor) uses its copy instead.
    """
    if path is None and _pinned:
        return _pinned[0]
    path = path or config_path()
    key = _fingerprint(path)
    if key is None:
        return _NO_FILE
    if key not in _cache:
        _cache.clear()
        _cache[key] = parse_user_pricing(_read(path), path)
    return _cache[key]


def pin_user_pricing(user: UserPricing | None) -> None:
    """Use ``user`` instead of the config file from now on (None: read the file again)."""
    _pinned.clear()
    if user is not None:
        _pinned.append(user)


def scaled_period(
    period: PricePeriod, multiplier: Decimal, source: str, start: dt.datetime, end: dt.datetime | None
) -> PricePeriod:
    """A registry period with every price x ``multiplier`` (window and service-tier multipliers kept)."""

    def scale(prices: Prices | None) -> Prices | None:
        return None if prices is None else prices.scaled(multiplier)

    tiers = tuple(dataclasses.replace(t, prices=t.prices.scaled(multiplier)) for t in period.tiers)
    windows = tuple(dataclasses.replace(w, prices=scale(w.prices)) for w in period.windows)
    service = {name: (mult, scale(prices)) for name, (mult, prices) in period.service_tiers.items()}
    return dataclasses.replace(
        period,
        effective_from=start,
        effective_to=end,
        base=period.base.scaled(multiplier),
        tiers=tiers,
        windows=windows,
        batch_prices=scale(period.batch_prices),
        service_tiers=service,
        source=f"{period.source} x {multiplier} ({source})",
    )
