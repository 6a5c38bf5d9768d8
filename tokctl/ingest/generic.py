"""Any CSV or JSON-lines log, given a column-mapping TOML file (``--source generic --mapping FILE``).

.. code-block:: toml

    source_format = "acme.gateway"     # optional, default "generic": names the rows' source
    provider = "openai"                # optional: platform id or vendor for every row (binding)
    input_includes_cache = true        # optional, default true: input_tokens counts cache reads and writes
    cost_currency = "USD"              # optional: currency of cost_reported

    [columns]                          # canonical column = field of the log; a.b.c reaches into JSON
    ts_start = "time"
    model_reported = "model"
    input_tokens = "usage.prompt_tokens"
    cache_read_tokens = "usage.cached"
    output_tokens = "usage.completion_tokens"
    request_id = "id"
    project = "team"
    cost_reported = "cost_usd"

    [tags]                             # tag name = field
    feature = "feature"

The natural key is ``response_id``, else ``request_id``, else the file and line.

A mapping that holds only ``provider = "..."`` pins the platform of a file (beside it as
``name.mapping.toml``) or of a read (``--mapping``): every record keeps its own reader, and its
``provider`` is the pinned platform (``platform_signal`` = ``pin``), e.g. an Azure OpenAI deployment logged
as plain OpenAI responses.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokctl.errors import InputFormatError
from tokctl.ingest.resolve import vendor_hint
from tokctl.ingest.values import Skip, count, duration_us, money, text, timestamp_us
from tokctl.schema import TOKEN_COLUMNS

TOKEN_FIELDS = (*TOKEN_COLUMNS, "total_tokens_reported")
TIME_FIELDS = ("ts_start", "ts_end", "ts_first_token")
TEXT_FIELDS = (
    "model_reported",
    "request_id",
    "response_id",
    "project",
    "api_key_id",
    "user",
    "service_tier",
    "status",
    "error_type",
)
OTHER_FIELDS = ("cost_reported", "http_status", "is_batch", "latency_ms")
MAPPABLE = frozenset(TOKEN_FIELDS + TIME_FIELDS + TEXT_FIELDS + OTHER_FIELDS)
_TOP_KEYS = frozenset({"source_format", "provider", "input_includes_cache", "cost_currency", "columns", "tags"})


@dataclass(frozen=True)
class Mapping:
    path: str
    columns: dict[str, tuple[str, ...]]
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source_format: str = "generic"
    provider: str | None = None
    input_includes_cache: bool = True
    cost_currency: str | None = None

    @property
    def pin_only(self) -> bool:
        """A mapping with only ``provider``: the records are read by their own readers, billed to it."""
        return not self.columns


def load_mapping(path: str | Path) -> Mapping:
    where = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFormatError(f"cannot read the mapping file: {exc.strerror}", where=where) from None
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=where, fix="save the mapping as UTF-8 TOML"
        ) from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputFormatError(f"invalid TOML: {why}", where=where, fix="fix the TOML syntax") from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise InputFormatError(
            f"unknown key {', '.join(unknown)}", where=where, fix=f"allowed keys: {', '.join(sorted(_TOP_KEYS))}"
        )
    columns = raw.get("columns")
    if columns is None and isinstance(raw.get("provider"), str) and set(raw) <= {"provider", "source_format"}:
        columns = {}  # a pin: records keep their own shape, the platform is the mapping's (see Mapping.pin_only)
    elif not isinstance(columns, dict) or not columns:
        raise InputFormatError(
            "no [columns] table",
            where=where,
            fix='add [columns] with e.g. input_tokens = "prompt_tokens", or only provider = "..." to pin the platform',
        )
    bad = sorted(set(columns) - MAPPABLE)
    if bad:
        raise InputFormatError(
            f"cannot map column {', '.join(bad)}", where=where, fix=f"mappable columns: {', '.join(sorted(MAPPABLE))}"
        )
    tags = raw.get("tags", {})
    if not isinstance(tags, dict):
        raise InputFormatError("tags is not a table", where=where, fix='write [tags] with e.g. team = "team_id"')
    for key in ("provider", "source_format", "cost_currency"):
        if key in raw and not isinstance(raw[key], str):
            raise InputFormatError(f"{key} must be text", where=where, fix=f'write {key} = "..."')
    currency = raw.get("cost_currency")
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        raise InputFormatError(
            f"cost_currency {currency!r} is not an ISO 4217 code", where=where, fix='write e.g. cost_currency = "USD"'
        )
    for table in (columns, tags):
        for key, value in table.items():
            if not isinstance(value, str) or not value:
                raise InputFormatError(f"{key} must name a field as text", where=where, fix=f'write {key} = "field"')
    return Mapping(
        where,
        {k: tuple(v.split(".")) for k, v in columns.items()},
        {k: tuple(v.split(".")) for k, v in tags.items()},
        str(raw.get("source_format", "generic")),
        raw.get("provider"),
        bool(raw.get("input_includes_cache", True)),
        raw.get("cost_currency"),
    )


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    if len(path) > 1:
        flat = ".".join(path)  # a CSV header may itself contain dots
        if flat in record:
            return record[flat]
    value: Any = record
    for part in path:
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value


def parse_record(record: dict[str, Any], mapping: Mapping) -> dict[str, Any]:
    columns = mapping.columns
    row: dict[str, Any] = {"source_format": mapping.source_format}
    for name in TOKEN_FIELDS:
        if name in columns:
            row[name] = count(_get(record, columns[name]), ".".join(columns[name]))
    if all(row.get(name) is None for name in TOKEN_FIELDS):
        raise Skip("no_usage", "no mapped token count is present")
    if not mapping.input_includes_cache and row.get("input_tokens") is not None:
        row["input_uncached_tokens"], row["input_tokens"] = row["input_tokens"], None
    for name in TIME_FIELDS:
        if name in columns:
            row[name] = timestamp_us(_get(record, columns[name]), name)
    for name in TEXT_FIELDS:
        if name in columns:
            row[name] = text(_get(record, columns[name]), name)
    if "latency_ms" in columns and row.get("ts_start") is not None:
        latency = duration_us(_get(record, columns["latency_ms"]), "latency_ms", 1e-3)
        if latency is not None:
            row["ts_end"] = row["ts_start"] + latency
    if "cost_reported" in columns:
        row["cost_reported"] = money(_get(record, columns["cost_reported"]), "cost_reported")
        row["cost_reported_currency"] = mapping.cost_currency if row["cost_reported"] is not None else None
    if "http_status" in columns:
        code = _get(record, columns["http_status"])
        row["http_status"] = code if type(code) is int else None
    if "is_batch" in columns:
        flag = _get(record, columns["is_batch"])
        row["is_batch"] = flag if type(flag) is bool else (str(flag).lower() in ("true", "1", "yes") if flag else None)
    tags = {}
    for name, path in mapping.tags.items():
        value = text(_get(record, path), name)
        if value is not None:
            tags[name] = value
    row["tags"] = tags or None
    if mapping.provider:
        row["_hint"], row["_hard"], row["_signal"] = vendor_hint(mapping.provider), True, "pin"
    row["_key"] = row.get("response_id") or row.get("request_id")
    return row
