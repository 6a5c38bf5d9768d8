"""Turn a reader's partial row into a canonical usage row: derived token buckets, invariant flags, the
platform and model from the registry, the record id, and secrets removed.

A reader fills the columns it knows (schema names) plus three private keys:

* ``_key``: the natural key of the record (a response id, a request id, ...), for the record id;
* ``_hint`` and ``_hard``: the platform hint and whether it binds (see :mod:`tokctl.ingest.resolve`).

Inclusive vendors (OpenAI and most others) give ``input_tokens`` and the cache parts, so the uncached part
is derived; exclusive vendors (Anthropic, Claude Code) give ``input_uncached_tokens`` and the cache parts,
so the total is derived. A part that is not reported stays null.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tokctl.ingest.resolve import resolve_row
from tokctl.ingest.secrets import MARKERS, redact, redact_repeated, redact_tags

_markers = MARKERS.search

_STANDARD_TIERS = {"default": "standard", "auto": "standard", "on_demand": "standard", "standard": "standard"}


_TIERS: dict[str, str] = {}


def service_tier_name(raw: str) -> str:
    """The canonical service tier of a tier as logged (``default``, ``auto`` and ``on_demand`` are ``standard``)."""
    found = _TIERS.get(raw)
    if found is None:
        lowered = raw.lower()
        found = _STANDARD_TIERS.get(lowered, lowered)
        if len(_TIERS) < 256:  # a log names few tiers; a hostile one cannot grow this
            _TIERS[raw] = found
    return found


def record_id(source_format: str, key: str) -> str:
    return _sha256(f"{source_format}\x1f{key}".encode("utf-8", "surrogatepass")).hexdigest()


_sha256 = hashlib.sha256
_SECRET_SCANNED = ("request_id", "response_id", "error_type")
_REPEATED = ("project", "api_key_id", "user")


def finalize(row: dict[str, Any], source_file: str, line: int, index: int) -> dict[str, Any]:
    """Complete ``row`` in place and return it. ``index`` numbers the rows of one record (OTLP spans).

    Runs once per row, so lookups are bound locally and per-value work is cached where values repeat
    (service tiers, (model, hint) pairs, projects and users)."""
    get = row.get
    flags: list[str] = get("flags") or []
    _tokens(row, flags)
    tier = get("service_tier")
    if tier is not None:
        tier = row["service_tier"] = service_tier_name(tier)
        if tier == "batch" and get("is_batch") is None:
            row["is_batch"] = True
    provider, model, flag = resolve_row(get("model_reported"), get("_hint"), bool(get("_hard")))
    row["provider"] = provider
    row["model"] = model
    if flag:
        flags.append(flag)
    if get("status") is None and get("input_tokens") is not None:
        row["status"] = "success"
    if get("token_basis") is None:
        row["token_basis"] = "reported"
    key = get("_key")
    if key is None:
        key = f"{source_file}:{line}" if index == 0 else f"{source_file}:{line}#{index}"
    row["record_id"] = _sha256(f"{row['source_format']}\x1f{key}".encode("utf-8", "surrogatepass")).hexdigest()
    row["source_file"] = source_file
    row["source_line"] = line
    for column in _REPEATED:
        value = get(column)
        if value is not None:
            row[column] = redact_repeated(value)
    for column in _SECRET_SCANNED:
        value = get(column)
        if value is not None and _markers(value) is not None:
            row[column] = redact(value)
    tags = get("tags")
    if tags:
        row["tags"] = redact_tags(tags)
    row["flags"] = flags
    return row


def _tokens(row: dict[str, Any], flags: list[str]) -> None:
    get = row.get
    total_in = get("input_tokens")
    uncached = get("input_uncached_tokens")
    read = get("cache_read_tokens")
    write = get("cache_write_tokens")
    w5m = get("cache_write_5m_tokens")
    w1h = get("cache_write_1h_tokens")
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
    output = get("output_tokens")
    reasoning = get("reasoning_tokens")
    if reasoning is not None and output is not None and reasoning > output:
        flags.append("reasoning_exceeds_output")
    reported = get("total_tokens_reported")
    if reported is not None and total_in is not None and output is not None and reported != total_in + output:
        flags.append("total_mismatch")
