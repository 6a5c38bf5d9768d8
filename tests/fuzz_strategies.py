"""Hypothesis strategies for fuzzing the readers: real records and files (examples/, tests/data/) with hostile
values put in, keys taken out, containers swapped and text garbled.

Shared by tests/test_fuzz.py (a CI-sized run) and tests/fuzz_atheris.py (the long run in docs/hardening.md).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "examples" / "logs"
BILLS = ROOT / "tests" / "data" / "bills"
CHATS = ROOT / "tests" / "data" / "chat"
PROVIDERS = ROOT / "tokenizers_registry" / "providers"

# Values that broke, or could break, a reader somewhere: limits of int64, JSON's NaN, dates past the range,
# text where numbers go, secrets, formulas, path tricks, surrogates.
HOSTILE_TEXT = [
    "",
    " ",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1",
    "0x10",
    "1,234.50",
    "¥3.20",
    "2026-13-45",
    "2026-02-30T25:61:61Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "99999-01-01",
    '=HYPERLINK("http://x")',
    "+1+1",
    "@SUM(A1)",
    "../../etc/passwd",
    "/etc",
    "a\x00b",
    "\ud800",
    "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop",
    "x" * 300,
    "日期",
    "\u202e\u0301",
]
HOSTILE_NUMBERS: list[Any] = [0, -1, 1, 2**31, 2**53 - 1, 2**53, 2**63 - 1, 2**63, -(2**63), 10**30, 0.5, -0.0, 1e308]


def hostile_json_values() -> st.SearchStrategy[Any]:
    """Anything a JSON log could hold where a reader expects something else."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(HOSTILE_NUMBERS),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=12),
        st.lists(st.one_of(st.integers(), st.text(max_size=4), st.none()), max_size=3),
        st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
        st.just([[[[[]]]]]),
    )


def hostile_toml_values() -> st.SearchStrategy[Any]:
    """What a TOML price file can hold where the loader expects something else (Decimal as tomllib gives it)."""
    return st.one_of(
        st.booleans(),
        st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-1"), Decimal("1e999999"), Decimal("0")]),
        st.integers(min_value=-(2**64), max_value=2**64),
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=12),
        st.dates(),
        st.datetimes(timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=14))])),
        st.times(),
        st.lists(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
        st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    )


def _slots(value: Any, depth: int = 0) -> Iterator[tuple[Any, Any]]:
    """(container, key or index) for every place inside ``value`` that holds something."""
    if depth > 12:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield value, key
            yield from _slots(item, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield value, index
            yield from _slots(item, depth + 1)


@st.composite
def mutated(draw: st.DrawFn, seed: Any, values: st.SearchStrategy[Any] | None = None, max_changes: int = 4) -> Any:
    """``seed`` with one to ``max_changes`` changes: a value replaced, a key removed, or a value wrapped."""
    value = copy.deepcopy(seed)
    values = values if values is not None else hostile_json_values()
    for _ in range(draw(st.integers(min_value=1, max_value=max_changes))):
        slots = list(_slots(value))
        if not slots:
            return copy.deepcopy(draw(values))
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "wrap", "stringify"]))
        if action == "delete":
            del container[key]
        elif action == "wrap":
            container[key] = [container[key]] if draw(st.booleans()) else {"value": container[key]}
        elif action == "stringify" and not isinstance(container[key], dict | list):
            container[key] = str(container[key])
        else:
            container[key] = copy.deepcopy(draw(values))  # st.just() hands out one object: never share it
    return value


# ---- seeds ----------------------------------------------------------------------------------------------------


def _json_records(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            return [json.loads(text)]
        except ValueError:
            pass
    found = []
    for line in text.splitlines():
        line = line.strip().removeprefix("data:").strip()
        if line.startswith(("{", "[")):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


@cache
def log_seeds() -> tuple[Any, ...]:
    """Every JSON record of every example log (one per vendor format)."""
    return tuple(
        r for path in sorted(LOGS.iterdir()) if path.suffix in (".jsonl", ".json", ".sse") for r in _json_records(path)
    )


@cache
def bill_json_seeds() -> tuple[Any, ...]:
    return tuple(
        r for path in sorted(BILLS.iterdir()) if path.suffix in (".json", ".jsonl") for r in _json_records(path)
    )


@cache
def csv_seeds() -> tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]:
    """(name, rows) of every CSV bill and CSV log, the header first."""
    paths = [*sorted(BILLS.glob("*.csv")), *sorted(LOGS.glob("*.csv"))]
    return tuple(
        (p.name, tuple(tuple(r) for r in csv.reader(io.StringIO(p.read_text(encoding="utf-8"))))) for p in paths
    )


@cache
def chat_seeds() -> tuple[Any, ...]:
    return tuple(json.loads(p.read_text(encoding="utf-8")) for p in sorted(CHATS.glob("*.json")))


@cache
def provider_seeds() -> tuple[tuple[str, Any], ...]:
    """(file stem, parsed TOML) of a few real provider price files (small ones keep each example fast)."""
    names = ("deepseek-cn", "zhipu", "moonshot", "anthropic")
    return tuple(
        (name, tomllib.loads((PROVIDERS / f"{name}.toml").read_text(encoding="utf-8"), parse_float=Decimal))
        for name in names
        if (PROVIDERS / f"{name}.toml").exists()
    )


# ---- whole inputs ---------------------------------------------------------------------------------------------

_GARBAGE_LINES = [
    '{"truncated',
    "plain text",
    "[]",
    "null",
    "data: [DONE]",
    "\x00\x01",
    '{"usage": {"prompt_tokens": "1"}}',
]


@st.composite
def log_lines(draw: st.DrawFn, max_records: int = 12) -> list[str]:
    """JSON lines: mutated vendor records, untouched ones and garbage, in any order."""
    seeds = log_seeds()
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=max_records))):
        kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "seed", "garbage"]))
        if kind == "garbage":
            lines.append(draw(st.sampled_from(_GARBAGE_LINES)))
            continue
        seed = draw(st.sampled_from(seeds))
        record = draw(mutated(seed)) if kind == "mutated" else seed
        lines.append(json.dumps(record, ensure_ascii=draw(st.booleans())))
    return lines


@st.composite
def csv_text(draw: st.DrawFn) -> tuple[str, str]:
    """(file name, CSV text) of a real CSV with cells replaced, rows cut short or made longer."""
    name, rows = draw(st.sampled_from(csv_seeds()))
    out = [list(rows[0])]
    for row in rows[1:]:
        cells = list(row)
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            if not cells:
                break
            index = draw(st.integers(min_value=0, max_value=len(cells) - 1))
            cells[index] = draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=10)).map(str))
        shape = draw(st.sampled_from(["same", "same", "same", "short", "long"]))
        if shape == "short":
            cells = cells[:-1]
        elif shape == "long":
            cells.append("extra")
        out.append(cells)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(out)
    return name, buffer.getvalue()


def surrogate_safe(text: str) -> bytes:
    """Text to bytes even when it holds lone surrogates (written as the bytes a careless logger would)."""
    return text.encode("utf-8", "surrogatepass")
