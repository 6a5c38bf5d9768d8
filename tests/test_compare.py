"""``tokctl compare``: hand-worked golden amounts, tokenizer reuse, currencies, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.reference_engines import reference
from tokctl.cli import app
from tokctl.counting.compare import compare
from tokctl.errors import UsageError

REPORT = Path(__file__).resolve().parents[1] / "examples" / "report.md"
# Monday 2026-11-16 10:00 in Beijing: DeepSeek's peak window on deepseek-cn.
AT = dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
M = Decimal(1_000_000)


def test_golden_three_tokenizers_two_currencies() -> None:
    text = REPORT.read_text(encoding="utf-8")
    chars = len(text)
    o200k, deepseek, tekken = (reference(t)(text) for t in ("o200k_base", "deepseek-v4", "mistral-tekken"))
    result = compare(
        [str(REPORT)], ["gpt-4o", "deepseek-cn/deepseek-v4-pro", "mistral-large-2512"], output_tokens=200, at=AT
    )
    rows = {r.model: r for r in result.rows}
    # Prices per 1M tokens from the registry, worked by hand:
    #   gpt-4o (openai, USD, from 2024-10-02): input 2.5, output 10
    #   deepseek-v4-pro (deepseek-cn, CNY, peak window Mon-Fri 09-12, 14-18 Beijing): input 9, output 27
    #   mistral-large-2512 (mistral, USD, from 2025-12-02): input 0.5, output 1.5
    expected = {
        "gpt-4o": (o200k, "USD", Decimal("2.5"), Decimal("10")),
        "deepseek-cn/deepseek-v4-pro": (deepseek, "CNY", Decimal("9"), Decimal("27")),
        "mistral-large-2512": (tekken, "USD", Decimal("0.5"), Decimal("1.5")),
    }
    for model, (tokens, currency, p_in, p_out) in expected.items():
        row = rows[model]
        assert row.tokens == tokens
        assert row.currency == currency
        assert row.input_cost == tokens * p_in / M
        assert row.output_cost == 200 * p_out / M
        assert row.total_cost == tokens * p_in / M + 200 * p_out / M
        assert row.cost_per_1m_chars == (tokens * p_in / M * M / chars).quantize(Decimal("0.000001"))
        assert row.fits_context is True
    assert rows["deepseek-cn/deepseek-v4-pro"].relative_tokens == round(deepseek / o200k, 4)
    # Without --currency, amounts in different currencies are not compared: rows are grouped by currency
    # (alphabetically) and sorted by total within each group.
    assert [r.currency for r in result.rows] == ["CNY", "USD", "USD"]
    assert [r.model for r in result.rows[1:]] == ["mistral-large-2512", "gpt-4o"]


def test_each_tokenizer_runs_once_however_many_models_share_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokctl.tokenize import engines

    calls: list[str] = []
    original = engines.TiktokenEngine.count_many

    def spy(self: engines.TiktokenEngine, texts: list[str]) -> list[int]:
        calls.append(self.tokenizer.id)
        return original(self, texts)

    monkeypatch.setattr(engines.TiktokenEngine, "count_many", spy)
    compare("the same content for every model", ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4"], output_tokens=10, at=AT)
    assert sorted(calls) == ["cl100k_base", "o200k_base"]


def test_currency_conversion_shows_the_dated_rate() -> None:
    result = compare("hello world", ["gpt-4o", "deepseek-cn/deepseek-v4-pro"], output_tokens=100, at=AT, currency="USD")
    [fx] = result.fx
    assert (fx["from"], fx["to"]) == ("CNY", "USD")
    assert fx["rate_date"] <= AT.date() and fx["source"]
    cny = next(r for r in result.rows if r.currency == "CNY")
    assert cny.converted is not None
    assert cny.converted["total_cost"] == (cny.total_cost * fx["rate"]).quantize(Decimal("0.000001"))
    converted = [r.converted["total_cost"] for r in result.rows if r.converted]
    assert converted == sorted(converted)


def test_requests_and_output_ratio_scale_the_totals() -> None:
    one = compare("hello world " * 50, ["gpt-4o"], output_ratio="0.5", at=AT).rows[0]
    many = compare("hello world " * 50, ["gpt-4o"], output_ratio="0.5", requests=1000, at=AT).rows[0]
    assert one.output_tokens == (one.tokens + 1) // 2  # half up: 101 * 0.5 = 50.5 -> 51
    assert many.total_cost == one.total_cost * 1000
    assert many.cost_per_1m_chars == one.cost_per_1m_chars


def test_content_larger_than_the_context_window_needs_several_windows() -> None:
    row = compare("word " * 130_000, ["gpt-4"], at=AT).rows[0]
    assert row.context_window == 8192
    assert row.fits_context is False and row.windows_needed == -(-row.tokens // 8192)


def test_bad_arguments() -> None:
    with pytest.raises(UsageError, match="not both"):
        compare("x", ["gpt-4o"], output_tokens=1, output_ratio=1)
    with pytest.raises(UsageError, match="no models"):
        compare("x", [])
    with pytest.raises(UsageError, match="baseline"):
        compare("x", ["gpt-4o"], baseline="gpt-4")


def test_cli_json_is_pure_and_has_the_documented_keys() -> None:
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(REPORT),
            "-m",
            "gpt-4o",
            "-m",
            "deepseek-cn/deepseek-v4-pro",
            "--output-tokens",
            "200",
            "--at",
            AT.isoformat(),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"rows", "baseline", "fx"}
    assert set(data["rows"][0]) >= {
        "model",
        "provider",
        "tokenizer",
        "accuracy",
        "tokens",
        "chars",
        "chars_per_token",
        "input_cost",
        "output_cost",
        "total_cost",
        "currency",
        "cost_per_1m_chars",
        "fits_context",
    }
    assert data["baseline"] == "gpt-4o"


def test_cli_table_has_a_chart() -> None:
    result = CliRunner().invoke(
        app, ["compare", str(REPORT), "-m", "gpt-4o", "-m", "mistral-large-2512", "--at", AT.isoformat()]
    )
    assert result.exit_code == 0
    assert "cost per 1M characters" in result.stdout and "█" in result.stdout


def test_public_api_names_stay_functions_after_their_modules_are_imported() -> None:
    """A submodule named like a public function would replace it on the package once imported."""
    import importlib
    import inspect

    import tokctl

    for name in tokctl.__all__:
        module, _ = tokctl._API[name].split(":")
        importlib.import_module(module)
    for name in tokctl.__all__:
        assert not inspect.ismodule(getattr(tokctl, name)), f"tokctl.{name} is a module; rename the module"
