"""``tokctl price`` and ``tokctl models`` through the CLI runner, on the fixture registry (tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.pricing_fixtures import fixture_registry  # noqa: F401  (pytest fixture)
from tokctl.cli.app import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("fixture_registry")
# acme-pro on Monday 2026-11-16 10:00 Beijing, peak 8/0.2/24: 800*8 + 200*0.2 + 200*24 + 100*24 = 13640
PEAK = [
    "price",
    "-m",
    "acme-pro",
    "--input",
    "1000",
    "--cache-read",
    "200",
    "--output",
    "300",
    "--reasoning",
    "100",
    "--at",
    "2026-11-16T10:00:00+08:00",
]


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_price_json_document() -> None:
    code, out, err = run(*PEAK, "--format", "json")
    assert code == 0 and err == ""
    assert json.loads(out) == {
        "provider": "acme-cn",
        "model": "acme-pro",
        "currency": "CNY",
        "total": "0.01364",
        "components": [
            {"kind": "input", "tokens": 800, "unit_price": "8", "cost": "0.0064"},
            {"kind": "cache_read", "tokens": 200, "unit_price": "0.2", "cost": "0.00004"},
            {"kind": "output", "tokens": 200, "unit_price": "24", "cost": "0.0048"},
            {"kind": "reasoning", "tokens": 100, "unit_price": "24", "cost": "0.0024"},
        ],
        "price": {
            "effective_from": "2026-06-01T00:00:00+08:00",
            "source": "https://example.invalid/acme-cn/v2",
            "tier": None,
            "window": "peak",
        },
        "at": "2026-11-16T10:00:00+08:00",
    }


def test_price_table_output() -> None:
    code, out, _ = run(*PEAK)
    assert code == 0
    assert "acme-pro on acme-cn (CNY) at 2026-11-16T10:00:00+08:00" in out
    assert "│ total " in out and "0.01364" in out
    assert "price row: effective 2026-06-01T00:00:00+08:00, window peak; confidence high" in out
    assert "billed at the output price" in out


def test_price_csv_rows() -> None:
    code, out, _ = run(*PEAK, "--format", "csv")
    assert code == 0
    assert out.splitlines() == [
        "kind,tokens,unit_price,cost,note",
        "input,800,8,0.0064,",
        "cache_read,200,0.2,0.00004,",
        "output,200,24,0.0048,",
        "reasoning,100,24,0.0024,billed at the output price",
        "total,,,0.01364,CNY",
    ]


def test_price_converted_at_a_dated_rate() -> None:
    code, out, _ = run(*PEAK, "--currency", "usd", "--format", "json")
    assert code == 0
    # the fixture rate of Friday 2026-11-13: 0.01364 x 0.14 = 0.0019096
    assert json.loads(out)["converted"] == {
        "currency": "USD",
        "total": "0.0019096",
        "rate": "0.14",
        "rate_date": "2026-11-13",
        "rate_source": "https://example.invalid/fx",
    }
    code, out, _ = run(*PEAK, "--currency", "USD")
    assert "= 0.0019096 USD at 0.14 CNY->USD of 2026-11-13 (https://example.invalid/fx)" in out


def test_price_converted_with_a_user_rate_file(tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("date,from,to,rate,source\n2026-11-16,CNY,USD,0.15,my bank\n", encoding="utf-8")
    _, out, _ = run(*PEAK, "--currency", "USD", "--fx-file", str(rates), "--format", "json")
    # the user's rate of the same day is newer: 0.01364 x 0.15 = 0.002046
    assert json.loads(out)["converted"]["total"] == "0.002046"
    assert json.loads(out)["converted"]["rate_source"] == "my bank"


def test_price_missing_rate_is_an_error() -> None:
    code, out, err = run(*PEAK, "--currency", "EUR")
    assert code == 2 and out == ""
    assert "no CNY->EUR exchange rate dated on or before 2026-11-16" in err and "--fx-file" in err


def test_unpriced_exits_3_with_the_reason_on_stderr() -> None:
    code, out, err = run("price", "-m", "acme-old", "--input", "10", "--at", "2026-03-01")
    assert (code, out) == (3, "")
    assert "unpriced: no price of acme-cn/acme-old covers 2026-03-01T00:00:00+08:00 (no_price_for_date)" in err
    code, _, err = run(
        "price", "-m", "rivet-mini", "--input", "10", "--cache-read", "5", "--batch", "--at", "2026-03-01"
    )
    assert code == 3 and "missing_price:cache_read" in err


def test_bare_date_is_midnight_in_the_platform_zone() -> None:
    _, out, _ = run("price", "-m", "acme-pro", "--input", "1000", "--at", "2026-06-01", "--format", "json")
    doc = json.loads(out)
    assert doc["at"] == "2026-06-01T00:00:00+08:00" and doc["total"] == "0.004"  # 1000 x 4, off-peak


def test_chosen_platform_is_stated() -> None:
    code, out, err = run("price", "-m", "rivet-large", "--input", "1000", "--at", "2026-03-01")
    assert code == 0 and "priced on rivet; also offered on acme-cn (choose with --provider)" in out
    code, out, err = run("price", "-m", "rivet-large", "--input", "1000", "--at", "2026-03-01", "--format", "json")
    assert json.loads(out)["provider"] == "rivet" and "also offered on acme-cn" in err
    code, out, _ = run(
        "price",
        "-m",
        "rivet-large",
        "--provider",
        "acme-cn",
        "--input",
        "1000",
        "--at",
        "2026-03-01",
        "--format",
        "json",
    )
    assert (json.loads(out)["provider"], json.loads(out)["total"]) == ("acme-cn", "0.02")  # 1000 x 20


def test_price_output_file(tmp_path: Path) -> None:
    target = tmp_path / "cost.json"
    code, out, _ = run(*PEAK, "-o", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["total"] == "0.01364"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "acme-prp"], "unknown model 'acme-prp'; did you mean acme-pro"),
        (["-m", "acme-pro", "--provider", "acme"], "unknown provider 'acme'"),
        (["-m", "acme-pro", "--input", "5", "--cache-read", "6"], "exceed the input"),
        (["-m", "acme-pro", "--at", "2026-11-16T10:00"], "has no time zone offset"),
        (["-m", "acme-pro", "--at", "yesterday"], "is not an ISO 8601"),
    ],
)
def test_price_bad_input(args: list[str], message: str) -> None:
    code, out, err = run("price", *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_negative_counts_are_rejected() -> None:
    code, _, err = run("price", "-m", "acme-pro", "--input", "-1")
    assert code == 2 and "greater than or equal to 0" in err


def test_models_list() -> None:
    code, out, _ = run("models", "--format", "json")
    assert code == 0
    rows = {(r["provider"], r["id"]): r for r in json.loads(out)["models"]}
    assert set(rows) == {
        ("acme-cn", m) for m in ("acme-old", "acme-pro", "acme-tiered", "acme-unpriced", "rivet-large")
    } | {("rivet", m) for m in ("rivet-large", "rivet-mini", "rivet-nano")}
    large = rows[("rivet", "rivet-large")]
    assert (large["input"], large["output"], large["currency"], large["context_window"]) == ("3", "15", "USD", 1000000)
    assert large["tokenizer"] == "o200k_base" and large["accuracy"] == "exact"
    assert rows[("acme-cn", "acme-old")]["input"] is None


def test_models_filters() -> None:
    code, out, _ = run("models", "--provider", "rivet", "--search", "MINI", "--format", "json")
    assert [r["id"] for r in json.loads(out)["models"]] == ["rivet-mini"]
    code, out, _ = run("models", "--search", "rivet-large-2026", "--format", "csv")
    assert out.splitlines()[1].startswith("rivet-large,rivet,o200k_base,exact,1000000,")
    code, out, err = run("models", "--provider", "rivett")
    assert code == 2 and "did you mean rivet" in err


def test_models_table_marks_rules() -> None:
    code, out, _ = run("models", "--provider", "acme-cn")
    assert code == 0 and "time windows (peak, night)" in out and "tiers >32768, >131072" in out


def test_models_show_full_history() -> None:
    code, out, _ = run("models", "show", "rivet-large-2026", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["id"], doc["provider"], doc["aliases"], doc["other_providers"]) == (
        "rivet-large",
        "rivet",
        ["rivet-large-2026"],
        [],
    )
    first, second = doc["prices"]
    assert (first["from"], first["to"]) == ("2026-01-01T00:00:00+00:00", "2026-10-07T00:00:00+00:00")
    assert first["tiers"] == [
        {
            "bound": ">=200000",
            "reprices": "input",
            "prices": {
                "input": "6",
                "cache_read": "0.6",
                "cache_write": "7.5",
                "cache_write_1h": "12",
                "output": "22.5",
            },
        }
    ]
    assert first["batch"] == {"multiplier": "0.5", "prices": None}
    assert first["service_tiers"]["flex"] == {"multiplier": "0.5", "prices": None}
    assert first["source"] == "https://example.invalid/rivet/2026-01" and first["checked"] == "2026-11-28"
    assert second["prices"]["cache_read"] == "0.15" and second["tiers"] == []


def test_models_show_windows_table() -> None:
    code, out, _ = run("models", "show", "acme-pro")
    assert code == 0 and "acme-cn/acme-pro: price history" in out and "https://example.invalid/acme-cn/v2" in out
    code, out, _ = run("models", "show", "acme-pro", "--format", "csv")
    lines = out.splitlines()
    assert lines[0] == (
        "from,to,applies,input,cache_read,cache_write,cache_write_1h,cache_write_12h,output,reasoning,confidence"
    )
    assert lines[1:] == [
        "2026-01-01T00:00:00+08:00,2026-06-01T00:00:00+08:00,base,2,0.5,,,,8,,medium",
        "2026-06-01T00:00:00+08:00,,off-peak (base),4,0.1,,,,12,,high",
        '2026-06-01T00:00:00+08:00,,"peak: mon-fri 09:00-12:00,14:00-18:00, not on holidays",8,0.2,,,,24,,high',
        "2026-06-01T00:00:00+08:00,,night: fri 22:00-02:00,1,0.025,,,,3,,high",  # 0.25 x base
        "2026-06-01T00:00:00+08:00,,batch x0.5,2,0.05,,,,6,,high",
    ]
