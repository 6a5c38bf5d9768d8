"""The Report of ``tokctl reconcile``: the cells as rows, the summary and the explanations as sections."""

from __future__ import annotations

from tokctl.reconciliation.report import Outcome, arrow_table, document, money_value, provider_entry, row
from tokctl.render import Column, Report, Section

ROW_COLUMNS = [
    Column("date", "date"), Column("provider", "provider"), Column("model", "model"),
    Column("token_class", "class"), Column("project", "project"),
    Column("billed_quantity", "billed tokens", True), Column("logged_quantity", "logged tokens", True),
    Column("billed_cost", "billed", True), Column("expected_cost", "expected", True),
    Column("difference", "difference", True), Column("currency", "cur"), Column("status", "status"),
    Column("explanation", "explanation"),
]  # fmt: skip
_WHY_COLUMNS = [
    Column("date", "date"), Column("model", "model"), Column("token_class", "class"), Column("project", "project"),
    Column("status", "status"), Column("explanation", "explanation"),
]  # fmt: skip
_SUMMARY_COLUMNS = [
    Column("provider", "provider"), Column("currency", "currency"), Column("billed", "billed", True),
    Column("expected", "expected", True), Column("difference", "difference", True), Column("cells", "cells", True),
    Column("matched", "matched", True), Column("mismatched", "mismatched", True),
]  # fmt: skip


_SCOPE_COLUMNS = [
    Column("provider", "provider"), Column("service", "service"), Column("currency", "currency"),
    Column("lines", "lines", True), Column("billed", "billed", True),
]  # fmt: skip


def report(outcome: Outcome, *, compact: bool = False) -> Report:
    """The Report of a run. ``compact`` (the table on a terminal) leaves out plain matches and matches within
    the bill's rounding; every other format has every cell."""
    result = outcome.result
    cells = [c for c in result.cells if not compact or not c.matched or c.rule not in (None, "rounding")]
    notes = list(result.notes)
    if len(cells) < len(result.cells):
        rounded = sum(1 for c in result.cells if c.matched and c.rule == "rounding")
        notes.insert(0, f"not shown: {len(result.cells) - len(cells) - rounded} exact matches and {rounded} matches "
                     "within the bill's rounding (--format json or csv lists every cell)")  # fmt: skip
    rows = [row(c) for c in cells]
    sections = [Section("summary per provider and currency", _SUMMARY_COLUMNS,
                        [provider_entry(e) for e in result.summary])]  # fmt: skip
    if result.out_of_scope:
        sections.append(Section("out of scope (not reconciled)", _SCOPE_COLUMNS,
                                [{**e, "billed": money_value(e["billed"])} for e in result.out_of_scope]))  # fmt: skip
    columns = ROW_COLUMNS
    if compact:  # a terminal is too narrow for the explanations beside the numbers: they get their own table
        columns = [c for c in ROW_COLUMNS if c.key != "explanation"]
        sections.insert(0, Section("explanations", _WHY_COLUMNS, [r for r in rows if r["explanation"]]))
    return Report(
        doc=document(result),
        rows=rows,
        columns=columns,
        title=f"reconciliation: {len(result.cells)} cells, {len(result.cells) - len(result.mismatched)} matched, "
        f"{len(result.mismatched)} mismatched",
        notes=notes,
        sections=sections,
        arrow=lambda: arrow_table(result),
    )
