"""Cross-check against genai-prices 0.2.3 (a test-only dependency): for every tokctl model on a USD platform that
genai-prices also prices, the charge per 1M tokens of each token class at one moment must be equal, or the
difference must be listed, with its reason and tokctl's source, in tests/data/genai_prices_differences.csv.

Both engines price the same small usage (1,000 tokens of one class, far below any tier) through their public
API, so each side's own rules (time windows, cache fallbacks, dated periods) apply. A class is compared only
where genai-prices has an explicit price for it; where it has none it bills the tokens as input, as tokctl
does, or refuses them.

The moment is 2026-11-27 12:00 UTC (a Friday, off-peak for DeepSeek): many registry rows start on the date
they were checked, 2026-11-27, when the vendor's start date is unknown, so an earlier date would compare
mostly registry gaps.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tokctl.pricing import Usage, price
from tokctl.pricing.book import lookup
from tokctl.pricing.quote import plain
from tokctl.registry.providers import all_platforms

genai_prices = pytest.importorskip("genai_prices")

AT = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
DIFFERENCES = Path(__file__).parent / "data" / "genai_prices_differences.csv"
COLUMNS = ["model", "field", "tokctl", "genai_prices", "reason", "tokctl_source"]
# tokctl platform (USD) -> genai-prices provider id
PLATFORMS = {"openai": "openai", "anthropic": "anthropic", "google": "google", "mistral": "mistral", "xai": "x-ai",
             "deepseek": "deepseek", "zai": "zai", "moonshot": "moonshotai", "minimax": "minimax"}  # fmt: skip
# token class -> usage of 1,000 tokens of it (input counts every input token, cache included, on both sides)
FIELDS = {
    "input": {"input_tokens": 1000},
    "cache_read": {"input_tokens": 1000, "cache_read_tokens": 1000},
    "cache_write": {"input_tokens": 1000, "cache_write_tokens": 1000},
    "cache_write_1h": {"input_tokens": 1000, "cache_write_1h_tokens": 1000},
    "output": {"output_tokens": 1000},
}
PER_MILLION = 1000  # 1,000 tokens priced -> x 1000 = per 1M


def _genai_name(model_names: tuple[str, ...], provider: str) -> str | None:
    for name in model_names:
        try:
            genai_prices.calc_price(
                genai_prices.Usage(input_tokens=1), name, provider_id=provider, genai_request_timestamp=AT
            )
        except LookupError:
            continue
        return name
    return None


def _genai_value(name: str, provider: str, field: str) -> str | None:
    """genai-prices' charge per 1M tokens of the class, None when it has no explicit price for it."""
    probe = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1), name, provider_id=provider, genai_request_timestamp=AT
    )
    if getattr(probe.model_price, f"{field}_mtok") is None:
        return None
    usage = dict(FIELDS[field])
    if field == "cache_write_1h":  # genai-prices wants the TTL part inside an explicit cache_write total
        usage["cache_write_tokens"] = usage["cache_write_1h_tokens"]
    result = genai_prices.calc_price(
        genai_prices.Usage(**usage), name, provider_id=provider, genai_request_timestamp=AT
    )
    return plain(result.total_price * PER_MILLION)


def _tokctl_value(model: str, platform: str, field: str) -> tuple[str, str]:
    """(charge per 1M tokens or "unpriced", the source of the price row used or of the model's last row)."""
    cost = price(Usage(**FIELDS[field]), model, platform, at=AT)
    if cost.total is not None and cost.price is not None:
        return plain(cost.total * PER_MILLION) or "", cost.price.source
    entry = lookup(model, platform)
    source = entry.segments[-1].period.source if entry.segments else "no price period (see the model's notes)"
    return "unpriced", source


def differences() -> tuple[dict[tuple[str, str], dict[str, str]], int]:
    """Every (platform/model, field) where the two disagree, and how many models were compared."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    compared = 0
    for platform_id, provider in PLATFORMS.items():
        platform = all_platforms().get(platform_id)
        if platform is None:
            continue
        for model in platform.models:
            name = _genai_name(model.names(), provider)
            if name is None:
                continue
            compared += 1
            for field in FIELDS:
                theirs = _genai_value(name, provider, field)
                if theirs is None:
                    continue
                ours, source = _tokctl_value(model.id, platform_id, field)
                if ours != theirs:
                    ref = f"{platform_id}/{model.id}"
                    found[(ref, field)] = {
                        "model": ref,
                        "field": field,
                        "tokctl": ours,
                        "genai_prices": theirs,
                        "tokctl_source": source,
                    }
    return found, compared


def listed() -> dict[tuple[str, str], dict[str, Any]]:
    with DIFFERENCES.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(line for line in fh if not line.startswith("#"))
        assert reader.fieldnames == COLUMNS, f"{DIFFERENCES}: the header must be {','.join(COLUMNS)}"
        return {(row["model"], row["field"]): row for row in reader}


@pytest.fixture(scope="module")
def current() -> tuple[dict[tuple[str, str], dict[str, str]], int]:
    if genai_prices.__version__ != "0.2.3":
        pytest.skip(f"the differences file is for genai-prices 0.2.3, not {genai_prices.__version__}")
    return differences()


def test_every_difference_is_listed_with_a_reason(current: tuple[dict[tuple[str, str], dict[str, str]], int]) -> None:
    found, _ = current
    known = listed()
    unexplained = [
        d
        for key, d in found.items()
        if key not in known or (known[key]["tokctl"], known[key]["genai_prices"]) != (d["tokctl"], d["genai_prices"])
    ]
    lines = "\n".join(
        f"{d['model']},{d['field']},{d['tokctl']},{d['genai_prices']},<reason>,{d['tokctl_source']}"
        for d in unexplained
    )
    assert not unexplained, (
        f"tokctl and genai-prices {genai_prices.__version__} disagree at {AT.isoformat()} "
        f"(per 1M tokens) and {DIFFERENCES.name} does not explain it. Fix the price in "
        f"tokenizers_registry/providers/<platform>.toml, or, if tokctl is right, add these lines with the reason:\n"
        f"{lines}"
    )


def test_no_stale_differences(current: tuple[dict[tuple[str, str], dict[str, str]], int]) -> None:
    found, _ = current
    stale = [f"{model},{field}" for model, field in listed() if (model, field) not in found]
    assert not stale, f"these lines of {DIFFERENCES} no longer differ: remove them:\n" + "\n".join(stale)


def test_differences_file_is_complete() -> None:
    for (model, field), row in listed().items():
        assert row["reason"].strip() and row["tokctl_source"].strip(), f"{model},{field}: give a reason and a source"
        assert field in FIELDS, f"{model}: field {field!r} is not one of {', '.join(FIELDS)}"


def test_the_cross_check_covers_the_usd_platforms(current: tuple[dict[tuple[str, str], dict[str, str]], int]) -> None:
    found, compared = current
    assert compared >= 50
    # hand-checked agreements: the same prices on both sides
    assert ("anthropic/claude-haiku-5-5", "input") not in found
    assert ("openai/gpt-6.1-sol", "cache_read") not in found
    assert _tokctl_value("claude-haiku-5-5", "anthropic", "cache_write_1h")[0] == "0.2"
    assert Decimal(_genai_value("claude-haiku-5-5", "anthropic", "output") or "0") == Decimal("0.5")
