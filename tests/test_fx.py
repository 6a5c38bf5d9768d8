"""tokctl.registry.fx: dated rates from a reference directory and a user file; latest on or before, inverse, errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import tokenizers_registry
from tokctl.errors import FxError, InputFormatError, InputNotFoundError, RegistryError
from tokctl.registry import fx

D = Decimal
REFERENCE = """date,from,to,rate,source
2026-10-01,CNY,USD,0.1400,https://example.invalid/ref
2026-10-05,CNY,USD,0.1410,https://example.invalid/ref
2026-10-20,EUR,USD,1.1000,https://example.invalid/ref
"""


@pytest.fixture
def reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "fx"
    directory.mkdir()
    (directory / "reference.csv").write_text(REFERENCE, encoding="utf-8")
    monkeypatch.setattr(tokenizers_registry, "FX", directory)
    fx.clear_caches()
    yield directory
    fx.clear_caches()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rates.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.usefixtures("reference")
def test_latest_rate_on_or_before() -> None:
    # 100 CNY on 2026-10-04 (a Sunday in no table): the 2026-10-01 rate, 100 x 0.14 = 14
    on_4th = fx.convert(D(100), "CNY", "USD", dt.date(2026, 10, 4))
    assert (on_4th.amount, on_4th.rate, on_4th.rate_date) == (D("14.0000"), D("0.1400"), dt.date(2026, 10, 1))
    assert on_4th.rate_source == "https://example.invalid/ref" and not on_4th.inverse
    on_5th = fx.convert(D(100), "cny", "usd", dt.date(2026, 10, 5))
    assert (on_5th.amount, on_5th.rate_date, on_5th.currency) == (D("14.1000"), dt.date(2026, 10, 5), "USD")


@pytest.mark.usefixtures("reference")
def test_datetime_uses_its_utc_date() -> None:
    # 2026-10-05 07:00 in Beijing is 2026-10-04 23:00 UTC: the rate of the 1st, not the 5th
    beijing = dt.datetime(2026, 10, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert fx.convert(D(1), "CNY", "USD", beijing).rate_date == dt.date(2026, 10, 1)


@pytest.mark.usefixtures("reference")
def test_inverse_is_stated() -> None:
    # USD -> CNY from the listed CNY -> USD 0.141: 14.1 / 0.141 = 100
    back = fx.convert(D("14.1"), "USD", "CNY", dt.date(2026, 10, 6))
    assert back.inverse and back.amount == D(100)
    assert back.rate == D(1) / D("0.1410")
    assert back.rate_source.startswith("inverse of CNY->USD 0.1410")


@pytest.mark.usefixtures("reference")
def test_missing_rate_is_an_error_never_a_default() -> None:
    with pytest.raises(FxError, match="no CNY->USD exchange rate dated on or before 2026-09-30"):
        fx.convert(D(1), "CNY", "USD", dt.date(2026, 9, 30))
    with pytest.raises(FxError, match="known pairs: CNY->USD, EUR->USD"):
        fx.convert(D(1), "CNY", "EUR", dt.date(2026, 11, 1))  # no cross rates through USD


@pytest.mark.usefixtures("reference")
def test_same_currency_needs_no_rate() -> None:
    same = fx.convert(D("1.5"), "USD", "USD", dt.date(2020, 1, 1))
    assert (same.amount, same.rate, same.rate_source) == (D("1.5"), D(1), "same currency")


@pytest.mark.usefixtures("reference")
def test_user_file_wins_on_the_same_date(tmp_path: Path) -> None:
    user = write(tmp_path, "date,from,to,rate\n2026-10-05,CNY,USD,0.15\n2026-10-07,USD,CNY,8\n")
    same_day = fx.convert(D(100), "CNY", "USD", dt.date(2026, 10, 5), fx_file=user)
    assert same_day.amount == D("15.00") and same_day.rate_source == f"user file {user}:2"
    # on the 7th the newest is the user's USD->CNY 8, used inverted: 100 / 8 = 12.5
    newer = fx.convert(D(100), "CNY", "USD", dt.date(2026, 10, 7), fx_file=user)
    assert newer.inverse and newer.amount == D("12.5") and newer.rate_date == dt.date(2026, 10, 7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,from,to,rate\n", "is not date,from,to,rate"),
        ("date,from,to,rate\n2026-13-01,CNY,USD,1\n", "rates.csv:2: date '2026-13-01'"),
        ("date,from,to,rate\n2026-10-01,CNY,US,1\n", "currency 'US'"),
        ("date,from,to,rate\n2026-10-01,CNY,USD,-1\n", "rate '-1' is not a positive number"),
        ("date,from,to,rate\n2026-10-01,CNY,USD,abc\n", "rate 'abc'"),
        ("date,from,to,rate\n2026-10-01,CNY,USD\n", "expected 4 fields"),
    ],
)
@pytest.mark.usefixtures("reference")
def test_bad_user_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputFormatError, match=message):
        fx.convert(D(1), "CNY", "USD", dt.date(2026, 10, 5), fx_file=write(tmp_path, text))


@pytest.mark.usefixtures("reference")
def test_missing_user_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="--fx-file"):
        fx.convert(D(1), "CNY", "USD", dt.date(2026, 10, 5), fx_file=tmp_path / "none.csv")


def test_reference_file_needs_a_source(reference: Path) -> None:
    (reference / "reference.csv").write_text("date,from,to,rate,source\n2026-10-01,CNY,USD,0.14,\n")
    fx.clear_caches()
    with pytest.raises(RegistryError, match="source is empty"):
        fx.reference_rates()


def test_real_reference_rates_parse() -> None:
    fx.clear_caches()
    rates = fx.reference_rates()
    assert rates and all(r.rate > 0 and r.source for r in rates)
