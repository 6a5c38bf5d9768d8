"""Turn a reader's partial row into a canonical usage row: derived token buckets, invariant flags, the
platform and model from the registry, the record id, and secrets removed.

A reader fills the columns it knows (schema names) plus three private keys:

* ``_key``: the natural key of the record (a response id, a request id, ...), for the record id;
* ``_hint`` and ``_hard``: the platform hint and whether it binds (see :mod:`tokctl.readers.resolve`).

Inclusive vendors (OpenAI and most others) give ``input_tokens`` and the cache parts, so the uncached part
is derived; exclusive vendors (Anthropic, Claude Code) give ``input_uncached_tokens`` and the cache parts,
so the total is derived. A part that is not reported stays null.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from tokctl.readers.resolve import resolve
from tokctl.readers.secrets import might_be_secret, redact, redact_repeated, redact_tags

_STANDARD_TIERS = {"default": "standard", "auto": "standard", "on_demand": "standard", "standard": "standard"}


@functools.lru_cache(maxsize=256)
def _tier(raw: str) -> str:
    lowered = raw.lower()
    return _STANDARD_TIERS.get(lowered, lowered)


def record_id(source_format: str, key: str) -> str:
    return hashlib.sha256(f"{source_format}\x1f{key}".encode("utf-8", "surrogatepass")).hexdigest()


def finalize(row: dict[str, Any], source_file: str, line: int, index: int) -> dict[str, Any]:
    """Complete ``row`` in place and return it. ``index`` numbers the rows of one record (OTLP spans)."""
    flags: list[str] = row.get("flags") or []
    _tokens(row, flags)
    tier = row.get("service_tier")
    if tier is not None:
        tier = row["service_tier"] = _tier(tier)
    if row.get("is_batch") is None and tier == "batch":
        row["is_batch"] = True
    provider, model, flag = resolve(row.get("model_reported"), row.get("_hint"), bool(row.get("_hard")))
    row["provider"] = provider
    row["model"] = model
    if flag:
        flags.append(flag)
    if row.get("status") is None and row.get("input_tokens") is not None:
        row["status"] = "success"
    if row.get("token_basis") is None:
        row["token_basis"] = "reported"
    key = row.get("_key")
    if key is None:
        key = f"{source_file}:{line}" if index == 0 else f"{source_file}:{line}#{index}"
    row["record_id"] = record_id(row["source_format"], key)
    row["source_file"] = source_file
    row["source_line"] = line
    for column in ("project", "api_key_id", "user"):
        value = row.get(column)
        if value is not None:
            row[column] = redact_repeated(value)
    for column in ("request_id", "response_id", "error_type"):
        value = row.get(column)
        if value is not None and might_be_secret(value):
            row[column] = redact(value)
    if row.get("tags"):
        row["tags"] = redact_tags(row["tags"])
    row["flags"] = flags
    return row


def _tokens(row: dict[str, Any], flags: list[str]) -> None:
    total_in = row.get("input_tokens")
    uncached = row.get("input_uncached_tokens")
    read = row.get("cache_read_tokens")
    write = row.get("cache_write_tokens")
    w5m = row.get("cache_write_5m_tokens")
    w1h = row.get("cache_write_1h_tokens")
    if write is None and (w5m is not None or w1h is not None):
        write = (w5m or 0) + (w1h or 0)
        row["cache_write_tokens"] = write
    elif write is not None and (w5m or 0) + (w1h or 0) > write:
        flags.append("cache_write_parts_mismatch")
    if total_in is None:
        if uncached is not None or read is not None or write is not None:
            total_in = (uncached or 0) + (read or 0) + (write or 0)
            row["input_tokens"] = total_in
    elif uncached is None:
        rest = total_in - (read or 0) - (write or 0)
        if rest < 0:
            flags.append("input_parts_mismatch")
        else:
            row["input_uncached_tokens"] = rest
    elif total_in != uncached + (read or 0) + (write or 0):
        flags.append("input_parts_mismatch")
    output = row.get("output_tokens")
    reasoning = row.get("reasoning_tokens")
    if reasoning is not None and output is not None and reasoning > output:
        flags.append("reasoning_exceeds_output")
    reported = row.get("total_tokens_reported")
    if reported is not None and total_in is not None and output is not None and reported != total_in + output:
        flags.append("total_mismatch")
