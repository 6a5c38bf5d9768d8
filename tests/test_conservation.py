"""Conservation: the tokens and the money that go in come out, through read, price, report, export and
reconcile, for generated logs of several vendors and currencies (with bad lines and unpriced models mixed in).

Tokens in are the counts the generator wrote; money in is each record priced on its own by the scalar pricer
(tokctl.price, not the vectorized price_table the pipeline uses), summed per currency. The bill given to
reconcile is built from those same per-record prices, so every cell must match and the totals must agree.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokctl
from tokctl.errors import InputNotFoundError
from tokctl.pricing import Usage
from tokctl.usage.export import export_usage
from tokctl.usage.report import summarize

from .reconcile_helpers import lines as charge_lines

MONTH = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
TOKEN_COLUMNS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
GARBAGE = ['{"truncated', "plain text", '{"usage": {"prompt_tokens": "1"}}', "[]", '{"id": 1, "usage": -1}']


@dataclass
class Truth:
    """What one generated record holds, worked out without tokctl's readers."""

    provider: str | None
    model: str
    at: dt.datetime
    usage: Usage


count = st.integers(min_value=0, max_value=400_000)


@st.composite
def generated_log(draw: st.DrawFn) -> tuple[list[str], list[Truth], int]:
    """(lines, truth of every good record, number of bad lines)."""
    lines: list[str] = []
    truths: list[Truth] = []
    bad = 0
    for index in range(draw(st.integers(min_value=1, max_value=25))):
        kind = draw(st.sampled_from(["openai", "anthropic", "deepseek", "unpriced", "garbage"]))
        at = MONTH + dt.timedelta(seconds=draw(st.integers(min_value=0, max_value=29 * 86400 - 1)))
        if kind == "garbage":
            lines.append(draw(st.sampled_from(GARBAGE)))
            bad += 1
            continue
        prompt, out = draw(count), draw(st.integers(min_value=0, max_value=60_000))
        cached = draw(st.integers(min_value=0, max_value=prompt))
        if kind == "anthropic":
            write = draw(st.integers(min_value=0, max_value=prompt - cached))
            uncached = prompt - cached - write
            usage = {"input_tokens": uncached, "cache_read_input_tokens": cached,
                     "cache_creation_input_tokens": write, "output_tokens": out}  # fmt: skip
            response = {"id": f"msg_{index}", "type": "message", "model": "claude-sonnet-4-5", "usage": usage}
            record = {"timestamp": at.isoformat(), "provider": "anthropic", "response": response}
            truths.append(Truth("anthropic", "claude-sonnet-4-5", at, Usage(prompt, cached, write, 0, out)))
        elif kind == "deepseek":
            usage = {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out,
                     "prompt_cache_hit_tokens": cached, "prompt_cache_miss_tokens": prompt - cached}  # fmt: skip
            response = {"id": f"ds-{index}", "object": "chat.completion", "model": "deepseek-v4-pro", "usage": usage}
            record = {"timestamp": at.isoformat(), "provider": "deepseek-cn", "response": response}
            truths.append(Truth("deepseek-cn", "deepseek-v4-pro", at, Usage(prompt, cached, 0, 0, out)))
        else:
            model = "gpt-4o-2024-08-06" if kind == "openai" else "nope-model-1"
            usage = {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out,
                     "prompt_tokens_details": {"cached_tokens": cached}}  # fmt: skip
            record = {"id": f"chatcmpl-{index}", "object": "chat.completion", "created": int(at.timestamp()),
                      "model": model, "usage": usage}  # fmt: skip
            provider = "openai" if kind == "openai" else None
            truths.append(Truth(provider, "gpt-4o" if provider else model, at, Usage(prompt, cached, 0, 0, out)))
        lines.append(json.dumps(record))
    return lines, truths, bad


def _money_in(truths: list[Truth]) -> tuple[dict[str, Decimal], list[Any]]:
    """Each record priced alone (tokctl.price), summed per currency; and each priced record's cost."""
    money: dict[str, Decimal] = defaultdict(Decimal)
    costs = []
    for truth in truths:
        if truth.provider is None:
            continue
        cost = tokctl.price(truth.usage, truth.model, truth.provider, at=truth.at)
        assert cost.total is not None, cost.reason
        money[cost.currency] += cost.total
        costs.append((truth, cost))
    return dict(money), costs


def _bill(costs: list[Any]) -> Any:
    """Charge lines per (local day, provider, model, token class), from the per-record prices."""
    import zoneinfo

    from tokctl.registry.providers import all_platforms

    cells: dict[tuple[str, str, str, str], list[Any]] = {}
    for truth, cost in costs:
        tz = all_platforms()[truth.provider].timezone
        day = truth.at.astimezone(zoneinfo.ZoneInfo(tz)).date().isoformat()
        for component in cost.components:
            token_class = "output" if component.kind == "reasoning" else component.kind
            cell = cells.setdefault((day, truth.provider, truth.model, token_class), [0, Decimal(0), cost.currency, tz])
            cell[0] += component.tokens
            cell[1] += component.cost
    items = []
    for (day, provider, model, token_class), (quantity, amount, currency, tz) in sorted(cells.items()):
        item = {"day": day, "provider": provider, "model": model, "token_class": token_class}
        items.append({**item, "quantity": quantity, "cost": str(amount), "currency": currency, "tz": tz})
    return charge_lines(*items)


def _sums(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {c: sum(r[c] or 0 for r in rows) for c in TOKEN_COLUMNS}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_log())
def test_tokens_and_money_are_conserved_from_logs_to_reconcile(log: tuple[list[str], list[Truth], int]) -> None:
    lines, truths, bad = log
    tokens_in = {
        "input_tokens": sum(t.usage.input_tokens for t in truths),
        "cache_read_tokens": sum(t.usage.cache_read_tokens for t in truths),
        "cache_write_tokens": sum(t.usage.cache_write_tokens for t in truths),
        "output_tokens": sum(t.usage.output_tokens for t in truths),
        "reasoning_tokens": 0,
    }
    money_in, costs = _money_in(truths)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "usage.jsonl"
        path.write_text("\n".join(lines) + "\n")

        # read + price: every line accounted for, every token and every unit of money in the table
        read = tokctl.read_usage_with_accounting([str(path)], price=True)
        acc, table = read.accounting, read.table
        assert (acc.records, acc.parsed, acc.skipped) == (len(lines), len(truths), bad)
        assert acc.duplicates == 0 and table.num_rows == len(truths)
        assert _sums(table.to_pylist()) == tokens_in
        priced = defaultdict(Decimal)
        for row in table.to_pylist():
            if row["cost"] is not None:
                priced[row["currency"]] += row["cost"]
        assert dict(priced) == money_in
        assert acc.unpriced == sum(t.provider is None for t in truths)

        # report: totals per currency add up to the same tokens and money
        summary = summarize(table, by=["day", "provider", "model"])
        totals = summary.totals
        assert {c: sum(t[c] for t in totals) for c in TOKEN_COLUMNS} == tokens_in
        assert {t["currency"]: t["cost"] for t in totals if t["currency"]} == money_in
        assert sum(t["requests"] for t in totals) == len(truths)

        # export: the Parquet file holds exactly the table, so the same sums
        out = Path(tmp) / "usage.parquet"
        if not acc.parsed:  # nothing read: an error, and no output file
            with pytest.raises(InputNotFoundError):
                export_usage([str(path)], out)
            assert not out.exists()
            return
        export_acc = export_usage([str(path)], out)
        exported = pq.read_table(out)
        assert exported.to_pylist() == table.to_pylist()
        assert export_acc.to_dict() == acc.to_dict()
        for column in TOKEN_COLUMNS:
            assert (pc.sum(exported.column(column)).as_py() or 0) == tokens_in[column]

    # reconcile: a bill made of the same per-record prices matches cell by cell, to the last digit
    if not costs:
        return
    result = tokctl.reconcile(_bill(costs), table)
    assert {c.status for c in result.cells} == {"match"}, [
        (c.date, c.model, c.token_class, c.status) for c in result.cells
    ]
    billed: dict[str, Decimal] = defaultdict(Decimal)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for cell in result.cells:
        billed[cell.currency] += cell.billed_cost or 0
        expected[cell.currency] += cell.expected_cost or 0
    assert dict(billed) == dict(expected) == money_in
    quantities = sum(c.billed_quantity or 0 for c in result.cells)
    assert quantities == sum(sum(co.tokens for co in cost.components) for _, cost in costs)
