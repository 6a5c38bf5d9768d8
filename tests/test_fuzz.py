"""Fuzzing, CI-sized: real records and files with hostile values put in, through every log reader, the bill
readers, the chat parser and the price-file loader. The only exceptions allowed are tokctl's own errors (a
one-line message and exit 2); every record read is parsed or counted as skipped.

The long run (atheris, millions of inputs) is tests/fuzz_atheris.py; its figures are in docs/hardening.md.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokctl
from tokctl.bills import read_bill
from tokctl.counting.chat import count_chat_file
from tokctl.errors import RegistryError, TokctlError
from tokctl.ingest import SOURCES
from tokctl.registry.providers import parse_platform
from tokctl.schema import charge_schema, usage_schema

from .fuzz_strategies import (
    LOGS,
    bill_json_seeds,
    chat_seeds,
    csv_text,
    hostile_toml_values,
    log_lines,
    mutated,
    provider_seeds,
    surrogate_safe,
)

# TOKCTL_FUZZ_EXAMPLES=5000 makes this a long run of the same strategies.
EXAMPLES = int(os.environ.get("TOKCTL_FUZZ_EXAMPLES", "40"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_logs(text: str, name: str = "log.jsonl", **kwargs: Any) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(surrogate_safe(text))
        if name == "gateway_usage.csv":
            shutil.copy(LOGS / "gateway_usage.mapping.toml", Path(tmp) / "gateway_usage.mapping.toml")
        return tokctl.read_usage_with_accounting([str(path)], price=True, **kwargs)


def _check_usage(result: Any, lines: int | None = None) -> None:
    acc = result.accounting
    assert acc.records == acc.parsed + acc.skipped
    if lines is not None:
        assert acc.records >= min(lines, 1)
    assert result.table.schema.equals(usage_schema())
    assert result.table.num_rows == acc.rows - acc.duplicates


@FAST
@given(log_lines())
def test_log_readers_never_crash(lines: list[str]) -> None:
    result = _read_logs("\n".join(lines) + "\n")
    _check_usage(result, len(lines))


@FAST
@given(log_lines(max_records=6), st.sampled_from(sorted(set(SOURCES) - {"generic"})))
def test_each_log_family_reads_any_record_without_crashing(lines: list[str], source: str) -> None:
    _check_usage(_read_logs("\n".join(lines) + "\n", source=source))


@FAST
@given(csv_text())
def test_csv_logs_and_bills_never_crash(named: tuple[str, str]) -> None:
    name, text = named
    if (LOGS / name).exists():
        _check_usage(_read_logs(text, name))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(surrogate_safe(text))
        try:
            bill = read_bill([path])
        except TokctlError:
            return
        assert bill.lines.schema.equals(charge_schema())


@FAST
@given(st.data())
def test_json_bills_never_crash(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(bill_json_seeds()))
    pages = [data.draw(mutated(seed)) for _ in range(data.draw(st.integers(min_value=1, max_value=2)))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bill.json"
        path.write_bytes(surrogate_safe(json.dumps(pages if len(pages) > 1 else pages[0])))
        try:
            bill = read_bill([path])
        except TokctlError:
            return
    assert bill.lines.schema.equals(charge_schema())
    for cost in bill.lines.column("billed_cost").to_pylist():
        assert cost is None or cost.is_finite()


@FAST
@given(st.data())
def test_chat_parser_never_crashes(data: st.DataObject) -> None:
    doc = data.draw(mutated(data.draw(st.sampled_from(chat_seeds())), max_changes=3))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.json"
        path.write_bytes(surrogate_safe(json.dumps(doc)))
        try:
            result = count_chat_file(path, ["gpt-4o", "deepseek-v4-pro"])
        except TokctlError:
            return
    assert all(row.tokens >= 0 for row in result.rows)


@settings(max_examples=EXAMPLES * 3 // 2, deadline=None)
@given(st.data())
def test_price_file_loader_never_crashes(data: st.DataObject) -> None:
    stem, seed = data.draw(st.sampled_from(provider_seeds()))
    raw = data.draw(mutated(seed, hostile_toml_values(), max_changes=3))
    try:
        platform = parse_platform(raw, Path(f"{stem}.toml"))
    except RegistryError:
        return
    assert platform.id == stem


def test_fuzzing_reaches_every_reader() -> None:
    """The seeds cover every log family the detection knows, so the fuzzers exercise each reader."""
    result = tokctl.read_usage_with_accounting([str(LOGS)])
    formats = set(pa.compute.unique(result.table.column("source_format").cast(pa.string())).to_pylist())
    families = {f.split(".")[0] for f in formats}
    assert len(families) >= 12, families
