"""``tokctl audit`` and ``--calibrate`` on logs whose billed counts were produced independently of tokctl:
tiktoken's own engine and the OpenAI cookbook rules, written out in examples/audit/generate.py."""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from tokctl.cli.app import app
from tokctl.registry import tokenizers as tokenizer_registry

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AUDIT = EXAMPLES / "audit"
# (file, line or record id, direction) of every record whose drift was planted
PLANTED = {
    ("requests.jsonl", "5", "input"),
    ("requests.jsonl", "12", "output"),
    ("requests.jsonl", "19", "input"),
    ("litellm_spendlogs.jsonl", "7", "output"),
    ("otel_spans.json", "otel-0005", "input"),
}

runner = CliRunner()


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_examples", AUDIT / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()


@pytest.fixture
def claude_estimate(monkeypatch: pytest.MonkeyPatch) -> tokenizer_registry.Tokenizer:
    """The registry's claude-estimate, or a stand-in with the same base while the manifest is not there."""
    known = dict(tokenizer_registry.all_tokenizers())
    if "claude-estimate" not in known:
        known["claude-estimate"] = tokenizer_registry.Tokenizer(
            id="claude-estimate",
            name="stand-in",
            engine="estimate",
            accuracy="estimate",
            license="-",
            description="test stand-in",
            verified="-",
            path=Path("claude-estimate.toml"),
            base="o200k_base",
            factor={k: Decimal("1.15") for k in ("latin", "han", "other")},
            error_band=Decimal("0.15"),
            basis="test stand-in",
        )
        monkeypatch.setattr(tokenizer_registry, "all_tokenizers", lambda: known)
    return known["claude-estimate"]


def audit(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["audit", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def flagged(doc: dict) -> set[tuple[str, str, str]]:
    found = set()
    for entry in doc["beyond_tolerance"]:
        path, line = entry["location"].rsplit(":", 1)
        name = Path(path).name
        found.add((name, entry["record"] if name.endswith(".json") else line, entry["direction"]))
    return found


def test_the_example_uses_the_registry_base(claude_estimate: tokenizer_registry.Tokenizer) -> None:
    assert claude_estimate.base == GENERATOR.CLAUDE_BASE


def test_bundled_examples_are_what_the_generator_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GENERATOR, "HERE", tmp_path)
    GENERATOR.main()
    for name in ("requests.jsonl", "litellm_spendlogs.jsonl", "otel_spans.json"):
        assert (tmp_path / name).read_bytes() == (AUDIT / name).read_bytes(), name


def test_clean_logs_show_zero_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claude_estimate) -> None:
    monkeypatch.setattr(GENERATOR, "HERE", tmp_path)
    monkeypatch.setattr(GENERATOR, "PLANTED", {})
    GENERATOR.main()
    code, doc = audit(str(tmp_path))
    assert code == 0 and doc["beyond_tolerance"] == []
    exact = [m for m in doc["models"] if m["accuracy"] == "exact"]
    assert {(m["model"], m["direction"]) for m in exact} == {
        ("gpt-4o", "input"),
        ("gpt-4o", "output"),
        ("gpt-4o-mini", "input"),
        ("gpt-4o-mini", "output"),
    }
    for row in exact:
        assert row["billed_tokens"] == row["local_tokens"]
        assert row["min_drift"] == row["max_drift"] == row["mean_drift"] == row["stdev_drift"] == 0
    assert sum(m["records"] for m in exact) == 2 * (24 + 10 + 8)


def test_bundled_examples_flag_exactly_the_planted_records(claude_estimate) -> None:
    code, doc = audit(str(AUDIT))
    assert code == 1
    assert flagged(doc) == PLANTED
    planted_by_generator = {(f, str(k), d) for (f, k), (d, _) in GENERATOR.PLANTED.items()}
    assert planted_by_generator == PLANTED
    line_5 = next(e for e in doc["beyond_tolerance"] if e["location"].endswith("requests.jsonl:5"))
    assert line_5["drift"] == pytest.approx((line_5["billed"] - line_5["local"]) / line_5["local"])
    assert line_5["drift"] == pytest.approx(0.06, abs=0.005)


def test_tolerance_and_model_filter(claude_estimate) -> None:
    _, doc = audit(str(AUDIT), "--tolerance", "10%")
    assert flagged(doc) == {("requests.jsonl", "12", "output"), ("litellm_spendlogs.jsonl", "7", "output")}
    _, doc = audit(str(AUDIT), "-m", "gpt-4o", "--tolerance", "0.02")
    assert {m["model"] for m in doc["models"]} == {"gpt-4o"}
    assert flagged(doc) == {("requests.jsonl", "5", "input"), ("requests.jsonl", "19", "input")}


def test_bad_tolerance_is_one_line() -> None:
    result = runner.invoke(app, ["audit", str(AUDIT), "--tolerance", "two"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: tolerance 'two' is not a fraction; write e.g. --tolerance 2% or 0.02"
    ]


def test_logs_without_content_are_listed_not_guessed() -> None:
    code, doc = audit(str(EXAMPLES / "quality" / "otel_spans.json"))
    assert code == 0 and doc["models"] == []
    reasons = {entry["reason"]: entry["count"] for entry in doc["skipped"]}
    assert reasons == {
        "input: no captured input (enable content capture: gen_ai.input.messages)": 60,
        "output: no captured output (enable content capture: gen_ai.output.messages)": 60,
    }


def test_calibration_recovers_the_planted_factor_and_count_uses_it(claude_estimate) -> None:
    import tokctl
    from tokctl.registry.calibration import load_calibrations

    logs = str(AUDIT / "litellm_spendlogs.jsonl")
    _, before = audit(logs, "-m", "claude-sonnet-4-5")
    code, doc = audit(logs, "--calibrate")
    assert code == 1 and flagged(doc) == {("litellm_spendlogs.jsonl", "7", "output")}  # gpt-4o-mini's plant
    (fit,) = doc["calibrations"]
    low, high, factor = (Decimal(fit[k]) for k in ("ci_low", "ci_high", "factor"))
    assert fit["tokenizer"] == "claude-estimate" and fit["samples"] == 30
    assert low <= Decimal(str(GENERATOR.CLAUDE_FACTOR)) <= high
    assert high - low < Decimal("0.02")
    saved = load_calibrations()["claude-estimate"]
    assert (saved.factor, saved.ci_low, saved.ci_high, saved.samples) == (factor, low, high, 30)
    assert saved.source == (str((AUDIT / "litellm_spendlogs.jsonl").resolve()),)

    # count now uses the calibrated factor on the base tokenizer, and says so
    text = "The quarterly invoice review is scheduled for tomorrow morning, please confirm."
    counted = tokctl.count_text(text, model="claude-sonnet-4-5")
    base = len(GENERATOR.encoding(GENERATOR.CLAUDE_BASE).encode(text))
    assert counted.accuracy == "estimate" and counted.calibration is not None
    assert counted.tokens == int((base * factor).to_integral_value(rounding=ROUND_HALF_UP))

    # and the audit's drift for Claude's output collapses to the per-record spread
    _, after = audit(logs, "-m", "claude-sonnet-4-5")
    out_before = next(m for m in before["models"] if m["direction"] == "output")
    out_after = next(m for m in after["models"] if m["direction"] == "output")
    assert abs(out_after["mean_drift"]) < 0.005 < abs(out_before["mean_drift"])
    assert out_after["tolerance"] == 0.02 and after["beyond_tolerance"] == []
