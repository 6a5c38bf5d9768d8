"""Helpers for the usage reader tests: read a file or JSON records and compare canonical rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tokctl
from tokctl.ingest.generic import TOKEN_FIELDS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "logs"
TOKENS = TOKEN_FIELDS  # every token column a reader may fill


def read(path: Path | str, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
    result = tokctl.read_usage_with_accounting([str(path)], **kwargs)
    return result.table.to_pylist(), result.accounting


def read_records(
    tmp_path: Path, records: list[Any], name: str = "log.jsonl", **kwargs: Any
) -> tuple[list[dict[str, Any]], Any]:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return read(path, **kwargs)


def tokens(row: dict[str, Any]) -> dict[str, Any]:
    """The token columns of a row, nulls included (null and 0 are different answers)."""
    return {name: row[name] for name in TOKENS}


def expect_tokens(**given: int | None) -> dict[str, Any]:
    return {name: given.get(name) for name in TOKENS}
