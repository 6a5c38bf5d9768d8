"""tokctl.registry.overrides: negotiated multipliers, explicit prices and custom models from the user config file, and
their precedence (model and platform > model > platform > registry), on the fixture registry."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from tests.pricing_fixtures import fixture_registry  # noqa: F401  (pytest fixture)
from tokctl.errors import RegistryError, UnknownModelError, UnknownProviderError
from tokctl.paths import config_path
from tokctl.pricing import Usage, price, price_table
from tokctl.schema import usage_schema

pytestmark = pytest.mark.usefixtures("fixture_registry")
D = Decimal
UTC = dt.UTC
# rivet-large before 2026-10-07: 3 input, 15 output -> 1000*3 + 100*15 = 4500 -> 0.0045 USD at list price
SMALL = Usage(input_tokens=1000, output_tokens=100)


def configure(text: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stat = path.stat()  # a new mtime each time, so the cached parse is dropped
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    return path


PLATFORM_DISCOUNT = """
[calibration.o200k_base]          # another module's table: ignored here
factor = 1.1

[[overrides]]
platform = "rivet"
effective_from = 2026-06-01
effective_to = 2026-09-01
multiplier = 0.8
source = "MSA 2026"
"""


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_no_config_file_means_registry_prices() -> None:
    assert not config_path().exists()
    assert price(SMALL, "rivet-large", at=at("2026-07-01")).total == D("0.0045")


def test_platform_multiplier_within_its_dates() -> None:
    configure(PLATFORM_DISCOUNT)
    inside = price(SMALL, "rivet-large", at=at("2026-07-01"))
    assert inside.total == D("0.0036")  # 4500 x 0.8
    assert inside.price is not None and "x 0.8 (MSA 2026)" in inside.price.source
    assert inside.price.effective_from == at("2026-06-01")
    assert price(SMALL, "rivet-large", at=at("2026-05-31T23:59:59")).total == D("0.0045")
    assert price(SMALL, "rivet-large", at=at("2026-09-01")).total == D("0.0045")
    # after the registry's own change on 2026-10-07 the override is over: the registry row is used as is
    late = price(SMALL, "rivet-large", at=at("2026-10-08"))
    assert late.price is not None and late.price.source == "https://example.invalid/rivet/2026-10"


def test_model_beats_platform_and_they_do_not_stack() -> None:
    configure(
        PLATFORM_DISCOUNT
        + """
[[overrides]]
model = "rivet-large-2026"        # an alias names the model
effective_from = 2026-07-01
multiplier = 0.5
"""
    )
    assert price(SMALL, "rivet-large", at=at("2026-06-15")).total == D("0.0036")  # platform x 0.8
    assert price(SMALL, "rivet-large", at=at("2026-07-15")).total == D("0.00225")  # model x 0.5, not 0.4
    assert price(SMALL, "rivet-large", at=at("2026-09-15")).total == D("0.00225")  # open-ended
    # rivet-mini has only the platform override: 1000*0.1 + 100*0.5 = 150 x 0.8 = 120
    assert price(SMALL, "rivet-mini", at=at("2026-07-15")).total == D("0.00012")


def test_model_and_platform_beats_model_alone() -> None:
    configure(
        """
[[overrides]]
model = "rivet-large"
effective_from = 2026-01-01
multiplier = 0.5

[[overrides]]
model = "rivet-large"
platform = "acme-cn"
effective_from = 2026-01-01
multiplier = 2
"""
    )
    assert price(SMALL, "rivet-large", "rivet", at=at("2026-03-01")).total == D("0.00225")
    # acme-cn resale 20/100: 1000*20 + 100*100 = 30000 x 2 = 60000
    assert price(SMALL, "rivet-large", "acme-cn", at=at("2026-03-01")).total == D("0.06")


def test_explicit_prices_replace_the_row() -> None:
    configure(
        PLATFORM_DISCOUNT
        + """
[[overrides]]
model = "rivet-mini"
effective_from = 2026-08-01
input = 1
output = 2
"""
    )
    cost = price(SMALL, "rivet-mini", at=at("2026-08-02"))
    assert cost.total == D("0.0012")  # 1000*1 + 100*2, the platform discount does not apply on top
    assert cost.price is not None and cost.price.source.startswith("user config ")
    assert cost.price.effective_from == at("2026-08-01")
    # its own rules only: no tier, no cache price -> a cache read is unpriced
    assert price(Usage(200000, cache_read_tokens=1), "rivet-mini", at=at("2026-08-02")).unpriced == (
        "missing_price:cache_read"
    )


def test_multiplier_scales_windows_tiers_and_batch() -> None:
    configure(
        """
[[overrides]]
platform = "acme-cn"
effective_from = 2026-01-01
multiplier = 0.5
"""
    )
    peak = dt.datetime(2026, 11, 16, 2, tzinfo=UTC)  # Monday 10:00 Beijing
    # peak 8/0.2/24 x 0.5 = 4/0.1/12: 800*4 + 200*0.1 + 300*12 = 3200 + 20 + 3600 = 6820
    mixed = Usage(input_tokens=1000, cache_read_tokens=200, output_tokens=300)
    cost = price(mixed, "acme-pro", at=peak)
    assert cost.total == D("0.00682") and cost.price is not None and cost.price.window == "peak"
    # tier above 32768 (4/16) x 0.5, then batch x 0.5: (32769*4 + 1000*16) / 4 = 36769
    tiered = price(Usage(32769, output_tokens=1000), "acme-tiered", at=at("2026-03-01"), batch=True)
    assert tiered.total == D("0.036769")


def test_custom_models() -> None:
    configure(
        """
[[custom_models]]
platform = "rivet"
id = "ft:rivet-mini:acme"
aliases = ["acme-finetune"]

[[custom_models.prices]]
effective_from = 2026-01-01
input = 0.3
output = 1.2

[[custom_models]]
platform = "my-gateway"
currency = "EUR"
timezone = "Europe/Berlin"
id = "house-model"

[[custom_models.prices]]
effective_from = 2026-07-01
input = 1
output = 4
"""
    )
    ft = price(SMALL, "acme-finetune", at=at("2026-03-01"))
    assert (ft.provider, ft.model, ft.currency, ft.total) == ("rivet", "ft:rivet-mini:acme", "USD", D("0.00042"))
    house = price(SMALL, "my-gateway/house-model", at=at("2026-07-01"))
    assert (house.provider, house.currency, house.total) == ("my-gateway", "EUR", D("0.0014"))
    # a bare date is midnight in the custom platform's zone: 2026-06-30 22:00 UTC is 2026-07-01 00:00 in Berlin
    assert price(SMALL, "house-model", at=dt.datetime(2026, 6, 30, 22, tzinfo=UTC)).priced
    assert price(SMALL, "house-model", at=dt.datetime(2026, 6, 30, 21, 59, tzinfo=UTC)).unpriced == (
        "before_first_price"
    )


def test_price_table_applies_overrides() -> None:
    configure(PLATFORM_DISCOUNT)
    schema = usage_schema()
    row = {
        "record_id": "1",
        "source_format": "t",
        "token_basis": "reported",
        "provider": "rivet",
        "model": "rivet-large",
        "ts_start": at("2026-07-01"),
        "input_tokens": 1000,
        "output_tokens": 100,
    }
    table = pa.table({f.name: [row.get(f.name)] for f in schema}, schema=schema)
    out = price_table(table)
    assert out.column("cost").to_pylist() == [D("0.0036")]
    assert out.column("price_ref").to_pylist() == ["rivet/rivet-large@2026-06-01T00:00:00+00:00"]


def test_config_changes_are_picked_up() -> None:
    configure(PLATFORM_DISCOUNT)
    assert price(SMALL, "rivet-large", at=at("2026-07-01")).total == D("0.0036")
    configure(PLATFORM_DISCOUNT.replace("0.8", "0.9"))
    assert price(SMALL, "rivet-large", at=at("2026-07-01")).total == D("0.00405")


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (
            "[[overrides]]\nplatform='rivet'\neffective_from=2026-01-01\nmultiplier=0.5\ndiscount=1\n",
            RegistryError,
            r"overrides\[0\]: unknown key discount",
        ),
        ("[[overrides]]\neffective_from=2026-01-01\nmultiplier=0.5\n", RegistryError, "needs a scope"),
        (
            "[[overrides]]\nmodel='rivet-mini'\neffective_from=2026-01-01\nmultiplier=0.5\ninput=1\noutput=1\n",
            RegistryError,
            "either multiplier or explicit prices",
        ),
        (
            "[[overrides]]\nplatform='rivet'\neffective_from=2026-01-01\ninput=1\noutput=1\n",
            RegistryError,
            "need a model scope",
        ),
        (
            "[[overrides]]\nplatform='rivit'\neffective_from=2026-01-01\nmultiplier=0.5\n",
            UnknownProviderError,
            "did you mean rivet",
        ),
        (
            "[[overrides]]\nmodel='rivet-mimi'\neffective_from=2026-01-01\nmultiplier=0.5\n",
            UnknownModelError,
            "did you mean rivet-mini",
        ),
        (
            "[[overrides]]\nplatform='rivet'\neffective_from=2026-01-01\neffective_to=2025-01-01\nmultiplier=0.5\n",
            RegistryError,
            "not after effective_from",
        ),
        ("[[overrides]]\nplatform='rivet'\neffective_from=2026-01-01\nmultiplier=-1\n", RegistryError, "non-negative"),
        (
            "[[overrides]]\nplatform='rivet'\neffective_from=2026-01-01\nmultiplier=0.5\n"
            "[[overrides]]\nplatform='rivet'\neffective_from=2026-06-01\nmultiplier=0.7\n",
            RegistryError,
            r"overrides\[0\] and overrides\[1\] cover the same scope",
        ),
        ("[[custom_models]]\nplatform='rivet'\nid='x'\ncurrency='EUR'\n", RegistryError, "registry platform"),
        ("[[custom_models]]\nplatform='new'\nid='x'\ncurrency='EUR'\n", RegistryError, "missing key timezone"),
        ("[[overrides]]\nplatform = \n", RegistryError, "invalid TOML"),
    ],
)
def test_bad_config_says_where_and_how(text: str, error: type[Exception], message: str) -> None:
    configure(text)
    with pytest.raises(error, match=message):
        price(SMALL, "rivet-large", at=at("2026-07-01"))
