"""docs/schema.md documents every usage column: its column table is generated from tokctl/schema.py.
Run with TOKCTL_REGEN_DOCS=1 to rewrite the table after changing the schema."""

from __future__ import annotations

import os
from pathlib import Path

from tokctl.ingest.detection import SOURCES
from tokctl.schema import USAGE_COLUMNS

DOC = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
START, END = "<!-- columns:start (generated from tokctl/schema.py) -->", "<!-- columns:end -->"
TYPES = {
    "string": "string",
    "dict": "string (dictionary)",
    "int64": "int64",
    "int16": "int16",
    "bool": "bool",
    "timestamp": "timestamp[us, UTC]",
    "money": "decimal128(38, 12)",
    "map": "map<string, string>",
    "list": "list<string>",
}


def column_table() -> str:
    lines = ["| column | type | null | meaning |", "| --- | --- | --- | --- |"]
    for name, kind, nullable, doc in USAGE_COLUMNS:
        lines.append(
            f"| `{name}` | {TYPES[kind]} | {'yes' if nullable else 'no'} | {doc.replace('|', chr(92) + '|')} |"
        )
    return "\n".join(lines)


def test_the_doc_lists_every_column_as_the_schema_says() -> None:
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(START + "\n", 1)
    table, tail = rest.split("\n" + END, 1)
    if os.environ.get("TOKCTL_REGEN_DOCS"):
        DOC.write_text(f"{head}{START}\n{column_table()}\n{END}{tail}", encoding="utf-8")
        table = column_table()
    assert table == column_table()
    for name, *_ in USAGE_COLUMNS:
        assert f"| `{name}` |" in table


def test_the_doc_names_every_source() -> None:
    text = DOC.read_text(encoding="utf-8")
    for source in SOURCES:
        assert f"`{source}`" in text
