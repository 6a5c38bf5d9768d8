"""Data tests over every provider price file, the holiday calendar, the reference FX rates and the presets.

The parser (tokctl.registry.providers) already rejects malformed files; these tests check what it cannot:
tokenizer ids that exist, the platforms and models the CLI promises, sources on every price, calendars and
rates that parse, presets that resolve. Every failure message says which file to fix and how.
"""

from __future__ import annotations

import csv
import datetime as dt
import tomllib
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

import tokenizers_registry
from tokctl.errors import RegistryError
from tokctl.registry.catalog import resolve_model
from tokctl.registry.providers import Model, Platform, PricePeriod, all_platforms, parse_platform

SHARED_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


# Platform ids are part of the CLI (--provider): currency and region are promised with them.
PLATFORMS = {
    "openai": "USD",
    "anthropic": "USD",
    "google": "USD",
    "mistral": "USD",
    "xai": "USD",
    "meta": "USD",
    "deepseek": "USD",
    "deepseek-cn": "CNY",
    "alibaba": "USD",
    "alibaba-cn": "CNY",
    "moonshot": "USD",
    "moonshot-cn": "CNY",
    "minimax": "USD",
    "minimax-cn": "CNY",
    "zai": "USD",
    "zhipu": "CNY",
    "stepfun": "CNY",
    "volcengine": "CNY",
    "baidu": "CNY",
    "tencent": "CNY",
}

REQUIRED_RESOLUTIONS = {
    "gpt-4o": "o200k_base",
    "gpt-4": "cl100k_base",
    "deepseek-v4-pro": "deepseek-v4",
    "qwen3-max": "qwen",
    "claude-sonnet-4-5": "claude-estimate",
}

KNOWN_CURRENCIES = frozenset({"USD", "CNY", "EUR"})


def manifest_ids() -> set[str]:
    return {tomllib.loads(p.read_text(encoding="utf-8"))["id"] for p in tokenizers_registry.TOKENIZERS.glob("*.toml")}


def tokenizer_problems(platform: Platform, known: set[str]) -> list[str]:
    return [
        f"{platform.path.name}: model {m.id!r} uses tokenizer {m.tokenizer!r}, which has no manifest; "
        f"fix: use one of {', '.join(sorted(known))} or add tokenizers_registry/tokenizers/{m.tokenizer}.toml"
        for m in platform.models
        if m.tokenizer not in known
    ]


def periods() -> Iterator[tuple[Platform, Model, PricePeriod]]:
    for platform in all_platforms().values():
        for model in platform.models:
            for period in model.prices:
                yield platform, model, period


def where(platform: Platform, model: Model, period: PricePeriod) -> str:
    return f"{platform.path.name} model {model.id!r} period from {period.effective_from.isoformat()}"


# --- provider files ---------------------------------------------------------------------------------------


def test_every_promised_platform_exists_with_its_currency() -> None:
    platforms = all_platforms()
    missing = sorted(set(PLATFORMS) - set(platforms))
    assert not missing, f"no provider file for {missing}; fix: add tokenizers_registry/providers/<id>.toml"
    for pid, currency in PLATFORMS.items():
        assert platforms[pid].currency == currency, (
            f"{pid}.toml bills in {platforms[pid].currency}, expected {currency}; "
            "fix: prices stay in the platform's native currency (never converted)"
        )


def test_china_platforms_use_beijing_time() -> None:
    for platform in all_platforms().values():
        if platform.region == "cn":
            assert platform.timezone == "Asia/Shanghai", (
                f'{platform.path.name}: a China platform must use timezone = "Asia/Shanghai"'
            )


def test_every_tokenizer_has_a_manifest() -> None:
    known = manifest_ids()
    problems = [p for platform in all_platforms().values() for p in tokenizer_problems(platform, known)]
    assert not problems, "\n".join(problems)


def test_tokenizer_check_catches_an_unknown_tokenizer(tmp_path: Path) -> None:
    raw = {
        "platform": {
            "id": "broken",
            "name": "x",
            "vendor": "x",
            "region": "intl",
            "currency": "USD",
            "timezone": "UTC",
            "pricing_url": "https://example.invalid",
        },
        "models": [{"id": "m", "tokenizer": "no-such-tokenizer"}],
    }
    platform = parse_platform(raw, tmp_path / "broken.toml")
    [problem] = tokenizer_problems(platform, manifest_ids())
    assert "no-such-tokenizer" in problem and "fix:" in problem


def test_parser_rejects_unknown_keys(tmp_path: Path) -> None:
    raw = {
        "platform": {
            "id": "broken",
            "name": "x",
            "vendor": "x",
            "region": "intl",
            "currency": "USD",
            "timezone": "UTC",
            "pricing_url": "https://example.invalid",
            "colour": "red",
        }
    }
    with pytest.raises(RegistryError, match="colour"):
        parse_platform(raw, tmp_path / "broken.toml")


def test_ids_and_aliases_are_lowercase_and_unique_per_platform() -> None:
    for platform in all_platforms().values():
        seen: dict[str, str] = {}
        for model in platform.models:
            for name in model.names():
                assert name == name.lower(), f"{platform.path.name}: {name!r} must be lowercase"
                assert name not in seen, (
                    f"{platform.path.name}: {name!r} names both {seen[name]} and {model.id}; "
                    "fix: keep each id or alias on one model"
                )
                seen[name] = model.id


def test_every_period_has_source_checked_date_and_confidence() -> None:
    today = dt.date.today()
    for platform, model, period in periods():
        at = where(platform, model, period)
        assert period.source.strip(), f"{at}: empty source; fix: give the URL the price was read from"
        assert period.confidence in ("high", "medium", "low"), f"{at}: fix: confidence = high | medium | low"
        assert dt.date(2023, 1, 1) <= period.checked <= today, (
            f"{at}: checked = {period.checked} is not a plausible check date; fix: the day the price was read"
        )


def test_amounts_are_sane() -> None:
    for platform, model, period in periods():
        at = where(platform, model, period)
        base = period.base
        assert base.input is not None and base.output is not None
        if base.cache_read is not None:
            assert base.cache_read <= base.input, f"{at}: cache_read above input; fix: check the columns"
        for tier in period.tiers:
            assert tier.prices.input is not None and tier.prices.input >= base.input, (
                f"{at}: tier {tier.label} is cheaper than the base; fix: list tiers lowest threshold first"
            )


def test_required_models_resolve_to_their_tokenizers() -> None:
    for name, tokenizer in REQUIRED_RESOLUTIONS.items():
        resolved = resolve_model(name)
        assert resolved.model.tokenizer == tokenizer, (
            f"{name} resolves to {resolved.platform.id}/{resolved.model.id} with tokenizer "
            f"{resolved.model.tokenizer!r}, expected {tokenizer!r}; fix its tokenizer in "
            f"tokenizers_registry/providers/{resolved.platform.id}.toml"
        )


def test_dated_aliases_resolve() -> None:
    assert resolve_model("gpt-4-0613").model.id == "gpt-4"
    assert resolve_model("claude-sonnet-4-5-20250929").model.id == "claude-sonnet-4-5"
    assert resolve_model("deepseek-cn/deepseek-v4-flash-0731").platform.id == "deepseek-cn"


def test_deepseek_peak_tariff_matches_the_cn_page() -> None:
    model = next(m for m in all_platforms()["deepseek-cn"].models if m.id == "deepseek-v4-pro")
    at = dt.datetime(2026, 11, 27, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    [period] = [p for p in model.prices if p.covers(at)]
    [peak] = period.windows
    assert (peak.name, peak.holidays, sorted(peak.days)) == ("peak", "exclude", [0, 1, 2, 3, 4])
    assert peak.hours == ((9 * 60, 12 * 60), (14 * 60, 18 * 60))
    assert peak.prices is not None and peak.prices.input == Decimal("9") and period.base.input == Decimal("4.5")


def test_low_confidence_reference_rows_stay_low() -> None:
    platforms = all_platforms()
    for pid, mid in [
        ("xai", "grok-code-fast-1"),
        ("google", "gemini-3.6-flash"),
        ("moonshot-cn", "kimi-k3"),
        ("volcengine", "doubao-seed-2.1-pro"),
        ("baidu", "ernie-5.0-thinking-latest"),
    ]:
        model = next(m for m in platforms[pid].models if m.id == mid)
        assert model.prices and all(p.confidence == "low" for p in model.prices), (
            f'{pid}.toml {mid}: the reference marks this price low; fix: keep confidence = "low"'
        )


def test_reference_csv_models_are_all_in_the_registry() -> None:
    path = SHARED_REFERENCE / "prices_reference.csv"
    if not path.is_file():
        pytest.skip("../shared/reference is not here")
    known = {name for p in all_platforms().values() for m in p.models for name in m.names()}
    missing = set()
    for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines()):
        name = row["model"].split(" (")[0].split(" / ")[0].strip().lower()
        if name not in known:
            missing.add(name)
    assert not missing, f"reference models absent from every provider file: {sorted(missing)}; fix: add them"


# --- calendars, FX, presets -------------------------------------------------------------------------------


def read_csv(path: Path, header: list[str]) -> list[tuple[int, dict[str, str]]]:
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    assert rows and rows[0] == header, f"{path.name}:1: fix: the first line must be {','.join(header)}"
    return [(n, dict(zip(header, r, strict=True))) for n, r in enumerate(rows[1:], start=2) if r]


def test_cn_calendar_parses_and_matches_the_2026_notice() -> None:
    path = tokenizers_registry.CALENDARS / "cn.csv"
    days: dict[dt.date, str] = {}
    for line, row in read_csv(path, ["date", "kind", "name", "source"]):
        at = f"{path.name}:{line}"
        try:
            day = dt.date.fromisoformat(row["date"])
        except ValueError:
            pytest.fail(f"{at}: {row['date']!r} is not YYYY-MM-DD; fix the date")
        assert row["kind"] in ("holiday", "workday"), f"{at}: fix: kind is holiday or workday"
        assert row["name"].strip() and row["source"].strip(), f"{at}: fix: give the holiday name and source"
        assert day not in days, f"{at}: {day} listed twice; fix: one row per date"
        if row["kind"] == "workday":
            assert day.weekday() >= 5, f"{at}: a make-up workday must be a weekend day; fix the date or kind"
        days[day] = row["kind"]
    # State Council notice of 2025-11-04: National Day 10-01..10-07, make-up workdays 09-20 and 10-10.
    assert all(days.get(dt.date(2026, 10, d)) == "holiday" for d in range(1, 8))
    assert days.get(dt.date(2026, 9, 20)) == days.get(dt.date(2026, 10, 10)) == "workday"
    assert dt.date(2026, 10, 8) not in days
    assert sum(1 for d, k in days.items() if d.year == 2025 and k == "holiday") == 28


def test_fx_reference_rates_parse_and_cover_every_month() -> None:
    for path in sorted(tokenizers_registry.FX.glob("*.csv")):
        months: dict[tuple[str, str], set[str]] = {}
        rates: dict[tuple[str, str, str], Decimal] = {}
        for line, row in read_csv(path, ["date", "from", "to", "rate", "source"]):
            at = f"{path.name}:{line}"
            day = dt.date.fromisoformat(row["date"])
            assert row["from"] in KNOWN_CURRENCIES and row["to"] in KNOWN_CURRENCIES and row["from"] != row["to"], (
                f"{at}: fix: from/to must be two different codes of {sorted(KNOWN_CURRENCIES)}"
            )
            try:
                rate = Decimal(row["rate"])
            except InvalidOperation:
                pytest.fail(f"{at}: rate {row['rate']!r} is not a decimal number; fix it")
            assert rate.is_finite() and rate > 0, f"{at}: fix: a rate is a positive number"
            assert row["source"].startswith("https://"), f"{at}: fix: the source starts with its URL"
            months.setdefault((row["from"], row["to"]), set()).add(row["date"][:7])
            rates[(row["date"], row["from"], row["to"])] = rate
            assert dt.date(2025, 1, 1) <= day
        expected = {f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13) if (y, m) <= (2026, 10)}
        for pair in [("USD", "CNY"), ("CNY", "USD"), ("EUR", "USD"), ("USD", "EUR")]:
            gaps = sorted(expected - months.get(pair, set()))
            assert not gaps, f"{path.name}: {pair[0]}->{pair[1]} has no rate in {gaps}; fix: add a dated row"
        for (date, src, dst), rate in rates.items():
            back = rates.get((date, dst, src))
            assert back is None or abs(rate * back - 1) < Decimal("0.0001"), (
                f"{path.name}: {src}->{dst} and {dst}->{src} on {date} are not inverses; fix one of them"
            )
    assert rates[("2025-01-02", "EUR", "USD")] == Decimal("1.0321")  # ECB reference rate of that day


def test_presets_resolve_and_are_priced() -> None:
    raw = tomllib.loads(tokenizers_registry.PRESETS.read_text(encoding="utf-8"))
    assert {"popular", "china", "west", "flagship", "budget"} <= set(raw["presets"])
    at = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    for name, preset in raw["presets"].items():
        assert preset.get("description") and preset["models"], f"presets.toml [{name}]: fix: add description/models"
        for entry in preset["models"]:
            assert "/" in entry, f"presets.toml [{name}] {entry!r}: fix: write platform/model"
            resolved = resolve_model(entry)
            assert any(p.covers(at) for p in resolved.model.prices), (
                f"presets.toml [{name}] {entry!r} has no price on {at.date()}; fix: pick a priced model"
            )
