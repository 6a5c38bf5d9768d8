"""tokctl.registry.calibration: fitting a factor with its interval, and keeping it in the user config file."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tokctl.errors import InputFormatError
from tokctl.paths import config_path
from tokctl.registry.calibration import Calibration, fit_factor, load_calibrations, save_calibrations

USER_CONFIG = """# my settings
[[overrides]]
provider = "openai"
model = "gpt-4o"
input = "2.0"   # negotiated

[[overrides]]
provider = "anthropic"
model = "claude-sonnet-4-5"
output = "12"
"""


def calibration(tokenizer: str = "claude-estimate", factor: str = "1.2100") -> Calibration:
    return Calibration(
        tokenizer,
        Decimal(factor),
        Decimal("1.2000"),
        Decimal("1.2200"),
        30,
        dt.date(2026, 2, 3),
        ("/logs/spend.jsonl",),
    )


def planted(factor: float, n: int, seed: int, spread: float = 0.03) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    base = rng.integers(20, 900, size=n)
    billed = np.rint(base * factor * (1 + rng.normal(0, spread, size=n))).astype(int)
    return billed.tolist(), base.tolist()


def test_fit_recovers_a_planted_factor_within_its_interval() -> None:
    factor, low, high = fit_factor(*planted(1.21, 40, seed=1))
    assert low <= Decimal("1.21") <= high
    assert low < factor < high and high - low < Decimal("0.05")
    assert all(v == v.quantize(Decimal("0.0001")) for v in (factor, low, high))


def test_interval_covers_the_planted_factor_about_95_percent_of_the_time() -> None:
    covered = 0
    for seed in range(60):
        _, low, high = fit_factor(*planted(1.15, 30, seed=seed), resamples=600)
        covered += low <= Decimal("1.15") <= high
    # a percentile bootstrap on 30 records runs a little under its nominal 95%
    assert covered >= 50


def test_the_factor_is_pooled_and_equal_ratios_give_no_spread() -> None:
    # Pooled: (200 + 100) / (100 + 900) = 0.3; the mean of the per-record ratios would be (2 + 0.111) / 2 = 1.0556.
    factor, _, _ = fit_factor([200, 100], [100, 900])
    assert factor == Decimal("0.3000")
    # Every record billed at 1.21x its base: every resample has the ratio 1.21, so the interval is that point.
    assert fit_factor([121, 242, 363], [100, 200, 300]) == (Decimal("1.2100"),) * 3


def test_the_interval_depends_only_on_the_seed() -> None:
    data = planted(0.9, 25, seed=4)
    again = fit_factor(*data, seed=0)
    assert fit_factor(*data) == again  # the default seed is fixed: the same data gives the same interval
    other = fit_factor(*data, seed=1)
    assert other[0] == again[0] and other[1:] != again[1:]  # a different resampling moves only the interval


def test_no_config_file_means_no_calibrations() -> None:
    assert load_calibrations() == {}


def test_save_keeps_the_rest_of_the_config_and_replaces_its_own_table() -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(USER_CONFIG, encoding="utf-8")
    save_calibrations([calibration()])
    save_calibrations([calibration(factor="1.2150"), calibration("gemini-estimate")])
    text = path.read_text(encoding="utf-8")
    assert text.startswith(USER_CONFIG.rstrip("\n"))  # the user's lines, comments included, untouched
    assert text.count('[calibration."claude-estimate"]') == 1
    doc = tomllib.loads(text)
    assert doc["overrides"] == tomllib.loads(USER_CONFIG)["overrides"]
    assert doc["calibration"]["claude-estimate"]["factor"] == "1.2150"
    loaded = load_calibrations()
    assert loaded["claude-estimate"] == calibration(factor="1.2150")
    assert loaded["claude-estimate"].as_dict()["fitted_at"] == "2026-02-03"
    assert loaded["claude-estimate"].relative_half_width == Decimal("0.0123")
    assert set(loaded) == {"claude-estimate", "gemini-estimate"}


def test_save_refuses_to_rewrite_a_calibration_written_another_way(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[calibration]\n"claude-estimate" = { factor = "1.1" }\n', encoding="utf-8")
    with pytest.raises(InputFormatError, match="without changing the rest"):
        save_calibrations([calibration()], path)
    assert path.read_text(encoding="utf-8").startswith("[calibration]")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('factor = "x"\nci_low = "1"\nci_high = "1"\nsamples = 3\nfitted_at = 2026-01-01\nsource = []', "decimal"),
        ('factor = "1.3"\nci_low = "1.0"\nci_high = "1.2"\nsamples = 3\nfitted_at = 2026-01-01\nsource = []', "ci_low"),
        ('factor = "1.1"\nci_low = "1.0"\nci_high = "1.2"\nsamples = 3\nfitted_at = "soon"\nsource = []', "ISO date"),
        ('factor = "1.1"\nci_low = "1.0"\nci_high = "1.2"\nsamples = 3\nfitted_at = 2026-01-01', "exactly"),
    ],
)
def test_bad_calibrations_name_the_file_and_the_fix(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[calibration."claude-estimate"]\n{body}\n', encoding="utf-8")
    with pytest.raises(InputFormatError, match=message) as info:
        load_calibrations(path)
    assert str(path) in info.value.one_line() and "tokctl audit" in info.value.one_line()


def test_invalid_toml_is_reported_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[[overrides]\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="not valid TOML"):
        save_calibrations([calibration()], path)
    assert path.read_text(encoding="utf-8") == "[[overrides]\n"
