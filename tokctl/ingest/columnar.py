"""The columnar fast path: a block of JSON lines of one common shape, parsed by Arrow and mapped to the
canonical columns with Arrow compute, instead of one Python dict per record.

It covers the shapes that make up most logs: OpenAI-style chat completions (OpenAI, DeepSeek), OpenAI
Responses objects, Anthropic messages, Gemini responses, each alone or inside a request-log wrapper, and
LiteLLM spend logs. The per-record readers stay the reference: a block is taken here only when every
line is provably read the same way, and otherwise :func:`read_block` returns None and the caller reads
the block record by record. The checks that make that hold:

* Arrow parses with an explicit schema for every field the reader uses, so a value of another JSON type (a
  count written as text or as 12.0, a number where text belongs), a duplicate key or bad JSON fails the
  block; fields outside the schema are inferred and must all be ones the reader ignores;
* the first line's shape (found by the per-record detection) is checked on every row, and the fields whose
  mere presence changes the reading (DeepSeek's cache marks) are found in the raw bytes;
* every value that the reader would reject (negative or too large counts, times past the year 9999, secret
  markers in ids, tags or projects) sends the block back instead of being handled twice;
* one line per record: no blank lines, carriage returns, byte-order marks or SSE framing in the block.

tests/test_columnar.py reads every sample both ways and compares the tables column by column. Set
``TOKCTL_ROW_READER=1`` to turn the fast path off.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from tokctl.ingest import detection
from tokctl.ingest.gemini import TRAFFIC_TIERS
from tokctl.ingest.resolve import host_hint, resolve_row, vendor_hint
from tokctl.ingest.rows import service_tier_name
from tokctl.ingest.secrets import MARKERS, redact_repeated
from tokctl.ingest.values import FIRST_US, LAST_US, LONGEST_US, tag_map
from tokctl.schema import MAX_TOKENS

ANY = None  # an allowed field whose subtree the reader never looks at
MIN_ROWS = 64  # below this the per-record path is as fast, and one path is simpler to reason about
MAX_BLOCK_BYTES = 64 * 1024 * 1024

_ISO = r"^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
_ZONE = r"(?:Z|[+-]\d{2}:\d{2})$"
_MARKERS = MARKERS.pattern  # the secret pre-check, run by Arrow's RE2 over whole columns


def enabled() -> bool:
    from tokctl.settings import current

    return not current().row_reader


class Fallback(Exception):
    """This block must be read record by record."""


# ---------------------------------------------------------------------------------------------- schemas


@functools.cache
def _types() -> dict[str, Any]:
    import pyarrow as pa

    i, s = pa.int64(), pa.string()
    chat_usage = pa.struct(
        [
            ("prompt_tokens", i),
            ("completion_tokens", i),
            ("total_tokens", i),
            ("prompt_tokens_details", pa.struct([("cached_tokens", i), ("audio_tokens", i)])),
            (
                "completion_tokens_details",
                pa.struct(
                    [
                        ("reasoning_tokens", i),
                        ("audio_tokens", i),
                        ("accepted_prediction_tokens", i),
                        ("rejected_prediction_tokens", i),
                    ]
                ),
            ),
            ("prompt_cache_hit_tokens", i),
            ("prompt_cache_miss_tokens", i),
        ]
    )
    chat = pa.struct(
        [
            ("id", s),
            ("object", s),
            ("created", i),
            ("model", s),
            ("service_tier", s),
            ("system_fingerprint", s),
            ("usage", chat_usage),
        ]
    )
    message_usage = pa.struct(
        [
            ("input_tokens", i),
            ("cache_creation_input_tokens", i),
            ("cache_read_input_tokens", i),
            ("cache_creation", pa.struct([("ephemeral_5m_input_tokens", i), ("ephemeral_1h_input_tokens", i)])),
            ("output_tokens", i),
            ("output_tokens_details", pa.struct([("thinking_tokens", i)])),
            ("service_tier", s),
        ]
    )
    message = pa.struct(
        [
            ("id", s),
            ("type", s),
            ("role", s),
            ("model", s),
            ("stop_reason", s),
            ("stop_sequence", s),
            ("usage", message_usage),
        ]
    )
    gemini_usage = pa.struct(
        [
            ("promptTokenCount", i),
            ("candidatesTokenCount", i),
            ("totalTokenCount", i),
            ("cachedContentTokenCount", i),
            ("thoughtsTokenCount", i),
            ("toolUsePromptTokenCount", i),
            ("trafficType", s),
        ]
    )
    gemini = pa.struct([("responseId", s), ("modelVersion", s), ("createTime", s), ("usageMetadata", gemini_usage)])
    envelope = [
        ("timestamp", s),
        ("latency_ms", pa.float64()),
        ("ttft_ms", pa.float64()),
        ("project", s),
        ("api_key_id", s),
        ("user", s),
        ("provider", s),
        ("base_url", s),
        ("request_id", s),
        ("http_status", i),
        ("request", pa.struct([("model", s), ("service_tier", s)])),
    ]
    litellm_usage = pa.struct(
        [
            ("prompt_tokens", i),
            ("completion_tokens", i),
            ("total_tokens", i),
            ("prompt_tokens_details", pa.struct([("cached_tokens", i), ("audio_tokens", i)])),
            ("completion_tokens_details", pa.struct([("reasoning_tokens", i)])),
            ("cache_read_input_tokens", i),
            ("cache_creation_input_tokens", i),
        ]
    )
    litellm = pa.struct(
        [
            ("request_id", s),
            ("call_type", s),
            ("api_key", s),
            ("spend", pa.float64()),
            ("total_tokens", i),
            ("prompt_tokens", i),
            ("completion_tokens", i),
            ("startTime", s),
            ("endTime", s),
            ("completionStartTime", s),
            ("model", s),
            ("model_group", s),
            ("custom_llm_provider", s),
            ("api_base", s),
            ("user", s),
            ("end_user", s),
            ("team_id", s),
            ("request_tags", pa.list_(s)),
            ("status", s),
            (
                "metadata",
                pa.struct([("user_api_key_alias", s), ("user_api_key_team_alias", s), ("usage_object", litellm_usage)]),
            ),
        ]
    )
    responses = pa.struct(
        [
            ("id", s),
            ("object", s),
            ("created_at", pa.float64()),
            ("model", s),
            ("service_tier", s),
            ("status", s),
            (
                "usage",
                pa.struct(
                    [
                        ("input_tokens", i),
                        ("input_tokens_details", pa.struct([("cached_tokens", i), ("cache_write_tokens", i)])),
                        ("output_tokens", i),
                        ("output_tokens_details", pa.struct([("reasoning_tokens", i)])),
                        ("total_tokens", i),
                    ]
                ),
            ),
        ]
    )
    return {
        "chat": chat,
        "message": message,
        "gemini": gemini,
        "litellm": litellm,
        "responses": responses,
        "envelope": envelope,
    }


_USAGE_DETAIL_FIELDS = {"promptTokensDetails": ANY, "candidatesTokensDetails": ANY, "cacheTokensDetails": ANY}
_ALLOWED: dict[str, dict[str, Any]] = {
    "chat": {
        "id": {},
        "object": {},
        "created": {},
        "model": {},
        "service_tier": {},
        "system_fingerprint": {},
        "choices": ANY,
        "usage": {
            "prompt_tokens": {},
            "completion_tokens": {},
            "total_tokens": {},
            "prompt_tokens_details": {"cached_tokens": {}, "audio_tokens": {}},
            "completion_tokens_details": {
                "reasoning_tokens": {},
                "audio_tokens": {},
                "accepted_prediction_tokens": {},
                "rejected_prediction_tokens": {},
            },
            "prompt_cache_hit_tokens": {},
            "prompt_cache_miss_tokens": {},
        },
    },
    "message": {
        "id": {},
        "type": {},
        "role": {},
        "model": {},
        "content": ANY,
        "stop_reason": {},
        "stop_sequence": {},
        "usage": {
            "input_tokens": {},
            "cache_creation_input_tokens": {},
            "cache_read_input_tokens": {},
            "cache_creation": {"ephemeral_5m_input_tokens": {}, "ephemeral_1h_input_tokens": {}},
            "output_tokens": {},
            "output_tokens_details": {"thinking_tokens": {}},
            "service_tier": {},
            "server_tool_use": ANY,
        },
    },
    "gemini": {
        "responseId": {},
        "modelVersion": {},
        "createTime": {},
        "candidates": ANY,
        "usageMetadata": {
            "promptTokenCount": {},
            "candidatesTokenCount": {},
            "totalTokenCount": {},
            "cachedContentTokenCount": {},
            "thoughtsTokenCount": {},
            "toolUsePromptTokenCount": {},
            "trafficType": {},
            **_USAGE_DETAIL_FIELDS,
        },
    },
}
_ALLOWED["litellm"] = {
    **{
        name: {}
        for name in (
            "request_id",
            "call_type",
            "api_key",
            "spend",
            "total_tokens",
            "prompt_tokens",
            "completion_tokens",
            "startTime",
            "endTime",
            "completionStartTime",
            "model",
            "model_group",
            "model_id",
            "custom_llm_provider",
            "api_base",
            "user",
            "end_user",
            "team_id",
            "request_tags",
            "status",
            "cache_hit",
            "cache_key",
            "requester_ip_address",
        )
    },
    "messages": ANY,
    "metadata": {
        "user_api_key_alias": {},
        "user_api_key_team_alias": {},
        "usage_object": {
            "prompt_tokens": {},
            "completion_tokens": {},
            "total_tokens": {},
            "prompt_tokens_details": {"cached_tokens": {}, "audio_tokens": {}},
            "completion_tokens_details": {"reasoning_tokens": {}},
            "cache_read_input_tokens": {},
            "cache_creation_input_tokens": {},
        },
        "error_information": False,  # read by the reader, not here
        "*": ANY,
    },
}
_ALLOWED["responses"] = {
    **{name: {} for name in ("id", "object", "created_at", "model", "service_tier", "status")},
    "usage": {
        "input_tokens": {},
        "input_tokens_details": {"cached_tokens": {}, "cache_write_tokens": {}},
        "output_tokens": {},
        "output_tokens_details": {"reasoning_tokens": {}},
        "total_tokens": {},
    },
    "error": ANY,  # must be null on every record (checked): an error object is read by the reader
    # Fields of a Responses object the reader never reads.
    **{
        name: ANY
        for name in (
            "output",
            "output_text",
            "instructions",
            "metadata",
            "tools",
            "tool_choice",
            "text",
            "reasoning",
            "parallel_tool_calls",
            "temperature",
            "top_p",
            "top_logprobs",
            "store",
            "truncation",
            "user",
            "max_output_tokens",
            "max_tool_calls",
            "previous_response_id",
            "incomplete_details",
            "background",
            "prompt",
            "prompt_cache_key",
            "safety_identifier",
            "conversation",
        )
    },
}
_ENVELOPE_ALLOWED: dict[str, Any] = {
    "timestamp": {},
    "latency_ms": {},
    "ttft_ms": {},
    "project": {},
    "api_key_id": {},
    "user": {},
    "provider": {},
    "base_url": {},
    "request_id": {},
    "http_status": {},
    "tags": "tags",  # an object of text values, checked on its own
    "request": {"model": {}, "service_tier": {}, "*": ANY},  # the reader reads these two only
}


def _allowed(kind: str, wrapped: bool) -> dict[str, Any]:
    if not wrapped:
        return _ALLOWED[kind]
    return {**_ENVELOPE_ALLOWED, "response": _ALLOWED[kind]}


def _schema(kind: str, wrapped: bool) -> Any:
    import pyarrow as pa

    types = _types()
    inner = types[kind]
    if not wrapped:
        return pa.schema(list(inner))
    return pa.schema([*types["envelope"], ("response", inner)])


def _check_fields(arrow_type: Any, allowed: dict[str, Any]) -> None:
    """Every field Arrow found must be one the per-record reader reads (typed by our schema) or ignores."""
    import pyarrow as pa

    for field in arrow_type:
        rule = allowed.get(field.name, allowed.get("*", False))
        if rule is False:
            raise Fallback(f"field {field.name}")
        if rule is ANY:
            continue
        if rule == "tags":
            if not pa.types.is_struct(field.type) or any(not pa.types.is_string(f.type) for f in field.type):
                raise Fallback("tags are not an object of text")
            continue
        if rule is False:
            raise Fallback(f"field {field.name}")
        if pa.types.is_struct(field.type):
            _check_fields(field.type, rule)
        elif rule:
            raise Fallback(f"field {field.name} is not an object")


# ------------------------------------------------------------------------------------------------ entry


def shape_of(first_line: bytes) -> tuple[str, bool] | None:
    """(kind, wrapped) of a line the fast path knows, by the per-record detection itself."""
    try:
        value = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict:
        return None
    shape = detection.detect(value)
    wrapped = shape == "wrapper"
    if wrapped:
        value = value.get("response")
        if type(value) is not dict:
            return None
        shape = detection.detect(value)
    if shape == "openai.chat" and value.get("object") == "chat.completion":
        return "chat", wrapped
    if shape == "anthropic.message":
        return "message", wrapped
    if shape == "gemini" and not wrapped:
        return "gemini", wrapped
    if shape == "litellm":
        return "litellm", wrapped
    if shape == "openai.responses" and value.get("object") == "response":
        return "responses", wrapped
    return None


def read_block(data: bytes, display: str, first_line: int, newlines: int | None = None) -> tuple[Any, Any, int] | None:
    """(RecordBatch of canonical rows, int64 identity hashes, rows) for a block of JSON lines, or None when
    the block must be read record by record. ``first_line`` is the line number of the block's first line;
    ``newlines``, when the caller counted them, saves counting again. A blank line shows as fewer rows than
    lines (Arrow skips it), so it sends the block back without a scan of its own."""
    if not data or data[:1] != b"{" or b"\r" in data or len(data) > MAX_BLOCK_BYTES:
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")  # Arrow would keep invalid UTF-8 in its strings; orjson rejects the line
        except UnicodeDecodeError:
            return None
        if b"\n\xef\xbb\xbf" in data:
            return None  # a byte-order mark starting a later line: Arrow skips it, json_lines does not
    if newlines is None:
        newlines = data.count(b"\n")
    lines = newlines + (0 if data.endswith(b"\n") else 1)
    if lines < MIN_ROWS:
        return None
    end = data.find(b"\n")
    shape = shape_of(data[: end if end >= 0 else len(data)])
    if shape is None:
        return None
    import pyarrow as pa

    try:
        return _read(data, lines, display, first_line, *shape)
    except (Fallback, pa.ArrowException, ArithmeticError, LookupError, TypeError, ValueError):
        # Anything the checks did not foresee (an overflow in a sum, a type Arrow inferred oddly) is the
        # per-record readers' to judge: they are the reference, and they report bad records by line.
        return None


def _read(body: bytes, lines: int, display: str, first_line: int, kind: str, wrapped: bool) -> tuple[Any, Any, int]:
    import pyarrow as pa
    import pyarrow.json as pj

    options = pj.ParseOptions(explicit_schema=_schema(kind, wrapped), unexpected_field_behavior="infer")
    try:
        table = pj.read_json(
            pa.BufferReader(body), read_options=pj.ReadOptions(use_threads=True), parse_options=options
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise Fallback(str(exc)) from None
    if table.num_rows != lines:
        raise Fallback("rows and lines differ")
    _check_fields(table.schema, _allowed(kind, wrapped))
    if _too_deep(table.schema):
        raise Fallback("nesting deeper than orjson reads")
    record = _struct(table) if wrapped else None
    inner = table.column("response").combine_chunks() if wrapped else _struct(table)
    if inner.null_count:
        raise Fallback("a record without a response object")
    cols = _READERS[kind](inner, body)
    if wrapped:
        _overlay(cols, record, lines)
    return _finalize(cols, lines, display, first_line)


MAX_DEPTH = 512  # orjson refuses documents nested past 1024 levels; Arrow reads them


def _too_deep(schema: Any) -> bool:
    """Whether any field nests past MAX_DEPTH (walked with a stack: the types can be deeper than Python's
    recursion limit)."""
    import pyarrow as pa

    stack = [(field.type, 1) for field in schema]
    while stack:
        kind, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if pa.types.is_struct(kind):
            stack.extend((field.type, depth + 1) for field in kind)
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            stack.append((kind.value_type, depth + 1))
    return False


def _struct(table: Any) -> Any:
    import pyarrow as pa

    batch = table.combine_chunks().to_batches()
    if not batch:
        raise Fallback("empty")
    return pa.StructArray.from_arrays(batch[0].columns, names=table.column_names)


def _field(struct: Any, *path: str) -> Any:
    """A nested child, with the nulls of every parent on the way (a missing parent means a missing child)."""
    import pyarrow.compute as pc

    for name in path:
        struct = struct.field(name) if struct.null_count == 0 else pc.struct_field(struct, name)
    return struct


# ----------------------------------------------------------------------------------------------- shapes


def _count(values: Any) -> Any:
    import pyarrow.compute as pc

    if values.null_count < len(values) and (
        pc.any(pc.less(values, 0)).as_py() or pc.any(pc.greater(values, MAX_TOKENS)).as_py()
    ):
        raise Fallback("a negative or too large count")
    return values


def _text(values: Any) -> Any:
    """``values.text``: empty text is no value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count == len(values):
        return pa.nulls(len(values), pa.string())
    empty = pc.equal(values, "")
    if pc.any(empty).as_py():
        return pc.if_else(empty, pa.scalar(None, pa.string()), values)
    return values


def _present(body: bytes, key: str, values: Any) -> bool:
    """Whether ``key`` marks every record (True) or none (False): the reader tests its presence, which Arrow
    cannot tell from an explicit null."""
    if f'"{key}"'.encode() not in body:
        return False
    if values.null_count:
        raise Fallback(f"{key} on some records only")
    return True


def _every(mask: Any) -> bool:
    """True when every row is true: a null (a missing mark) counts as false, unlike pc.all's default."""
    import pyarrow.compute as pc

    return bool(pc.all(mask.fill_null(False)).as_py())


def _marked_usage(record: Any, mark: str, value: str) -> Any:
    """The records' usage, when every record carries the shape's mark and a usage object."""
    import pyarrow.compute as pc

    if not _every(pc.equal(record.field(mark), value)):
        raise Fallback(f"a record whose {mark} is not {value}")
    usage = record.field("usage")
    if usage.null_count:
        raise Fallback("a record without usage")
    return usage


def _chat(response: Any, body: bytes) -> dict[str, Any]:
    import pyarrow.compute as pc

    usage = _marked_usage(response, "object", "chat.completion")
    ids = _text(response.field("id"))
    if pc.any(pc.starts_with(ids, "gen-")).as_py():
        raise Fallback("OpenRouter ids")
    model = _text(response.field("model"))
    hit = usage.field("prompt_cache_hit_tokens")
    deepseek = _present(body, "prompt_cache_hit_tokens", hit)
    if not deepseek and pc.any(pc.match_substring(pc.utf8_lower(model), "gemini")).as_py():
        raise Fallback("Gemini through the OpenAI-compatible endpoint")
    cols: dict[str, Any] = {
        "source_format": "deepseek.chat" if deepseek else "openai.chat",
        "_hint": "deepseek" if deepseek else None,
        "_hard": False,
        "model_reported": model,
        "response_id": ids,
        "ts_start": _unix_us(response.field("created")),
        "service_tier": _text(response.field("service_tier")),
        "input_tokens": _count(usage.field("prompt_tokens")),
        "output_tokens": _count(usage.field("completion_tokens")),
        "total_tokens_reported": _count(usage.field("total_tokens")),
        "cache_read_tokens": _count(_field(usage, "prompt_tokens_details", "cached_tokens")),
        "reasoning_tokens": _count(_field(usage, "completion_tokens_details", "reasoning_tokens")),
    }
    if deepseek:
        cols["cache_read_tokens"] = _count(hit)
        cols["input_uncached_tokens"] = _count(usage.field("prompt_cache_miss_tokens"))
    cols["_key"] = ids
    return cols


def _message(message: Any, body: bytes) -> dict[str, Any]:
    usage = _marked_usage(message, "type", "message")
    ids = _text(message.field("id"))
    creation = usage.field("cache_creation")
    return {
        "source_format": "anthropic.messages",
        "_hint": "anthropic",
        "_hard": False,
        "model_reported": _text(message.field("model")),
        "response_id": ids,
        "input_uncached_tokens": _count(usage.field("input_tokens")),
        "cache_read_tokens": _count(usage.field("cache_read_input_tokens")),
        "cache_write_tokens": _count(usage.field("cache_creation_input_tokens")),
        "cache_write_5m_tokens": _count(_field(creation, "ephemeral_5m_input_tokens")),
        "cache_write_1h_tokens": _count(_field(creation, "ephemeral_1h_input_tokens")),
        "output_tokens": _count(usage.field("output_tokens")),
        "reasoning_tokens": _count(_field(usage, "output_tokens_details", "thinking_tokens")),
        "service_tier": _text(usage.field("service_tier")),
        "_key": ids,
    }


def _gemini(response: Any, body: bytes) -> dict[str, Any]:
    usage = response.field("usageMetadata")
    if usage.null_count:
        raise Fallback("a response without usageMetadata")
    prompt = _count(usage.field("promptTokenCount"))
    tool = _count(usage.field("toolUsePromptTokenCount"))
    candidates = _count(usage.field("candidatesTokenCount"))
    thoughts = _count(usage.field("thoughtsTokenCount"))
    ids = _text(response.field("responseId"))
    traffic = usage.field("trafficType")
    return {
        "source_format": "gemini",
        "_hint": "google",
        "_hard": False,
        "model_reported": _text(response.field("modelVersion")),
        "response_id": ids,
        "ts_start": _iso_us(response.field("createTime")),
        "input_tokens": _add(prompt, tool),
        "cache_read_tokens": _count(usage.field("cachedContentTokenCount")),
        "output_tokens": _add(candidates, thoughts),
        "reasoning_tokens": thoughts,
        "total_tokens_reported": _count(usage.field("totalTokenCount")),
        "service_tier": _distinct_map(traffic, _traffic) if traffic.null_count < len(traffic) else None,
        "_key": ids,
    }


def _traffic(value: str) -> str:
    return TRAFFIC_TIERS.get(value, value.lower())


def _litellm(log: Any, body: bytes) -> dict[str, Any]:
    """litellm.parse_spend_log, column by column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from tokctl.ingest.secrets import key_field

    # detection.detect calls a record a spend log by the presence of these keys; Arrow sees values only.
    spend, request_id = log.field("spend"), log.field("request_id")
    marked = pc.or_(log.field("startTime").is_valid(), log.field("call_type").is_valid())
    if spend.null_count or request_id.null_count or not pc.all(marked).as_py():
        raise Fallback("a record that may not be a spend log")
    metadata = log.field("metadata")
    usage = _field(metadata, "usage_object")
    cols: dict[str, Any] = {"source_format": "litellm.spendlogs"}
    if usage.null_count == 0:
        reported = [_field(usage, name) for name in usage.type.names if not pa.types.is_struct(usage.type[name].type)]
        reported += [_field(usage, "prompt_tokens_details", "cached_tokens")]
        known = reported[0].is_valid()
        for column in reported[1:]:
            known = pc.or_(known, column.is_valid())
        if not pc.all(known).as_py():
            raise Fallback("a usage_object that may be empty")  # an empty one reads the top-level counts
        cols["input_tokens"] = _count(_field(usage, "prompt_tokens"))
        cols["output_tokens"] = _count(_field(usage, "completion_tokens"))
        cols["total_tokens_reported"] = _count(_field(usage, "total_tokens"))
        read = _count(_field(usage, "prompt_tokens_details", "cached_tokens"))
        cache_read = _count(_field(usage, "cache_read_input_tokens"))
        cols["cache_read_tokens"] = pc.if_else(pc.is_null(read), cache_read, read)
        cols["cache_write_tokens"] = _count(_field(usage, "cache_creation_input_tokens"))
        cols["reasoning_tokens"] = _count(_field(usage, "completion_tokens_details", "reasoning_tokens"))
    elif b'"usage_object"' not in body:
        cols["input_tokens"] = _count(log.field("prompt_tokens"))
        cols["output_tokens"] = _count(log.field("completion_tokens"))
        cols["total_tokens_reported"] = _count(log.field("total_tokens"))
    else:
        raise Fallback("usage_object on some records only")
    prompt = cols["input_tokens"]
    if pc.any(pc.and_(pc.is_null(prompt), pc.is_null(cols["output_tokens"]))).as_py():
        raise Fallback("a spend log without token counts")
    read, write = cols.get("cache_read_tokens"), cols.get("cache_write_tokens")
    if read is not None:
        cached = pc.add_checked(pc.fill_null(read, 0), pc.fill_null(write, 0))
        exclusive = pc.fill_null(pc.greater(cached, prompt), False)
        if pc.any(exclusive).as_py():
            cols["input_uncached_tokens"] = pc.if_else(exclusive, prompt, pa.scalar(None, pa.int64()))
            cols["input_tokens"] = pc.if_else(exclusive, pa.scalar(None, pa.int64()), prompt)
            cols["_flags"] = [("litellm_prompt_exclusive", exclusive)]
    cols["model_reported"] = _text(_or(log.field("model"), log.field("model_group")))
    hints = _distinct_rows([log.field("custom_llm_provider"), log.field("api_base")], _litellm_hint)
    cols["_hint"] = hints
    cols["_hard"] = hints.is_valid()
    cols["request_id"] = _text(request_id)
    cols["ts_start"] = _iso_us(log.field("startTime"))
    cols["ts_end"] = _iso_us(log.field("endTime"))
    cols["ts_first_token"] = _iso_us(log.field("completionStartTime"))
    alias = _text(_field(metadata, "user_api_key_alias"))
    api_key = _text(log.field("api_key"))
    if alias.null_count:
        keyed = _distinct_map(api_key, key_field)  # null stays null: key_field(None) is None
        alias = pc.if_else(pc.is_null(alias), keyed, alias)
    cols["api_key_id"] = alias
    cols["project"] = _text(_or(log.field("team_id"), _field(metadata, "user_api_key_team_alias")))
    cols["user"] = _text(_or(log.field("end_user"), log.field("user")))
    cols["tags"] = _tag_lists(log.field("request_tags"))
    status = log.field("status")
    cols["status"] = pc.if_else(
        pc.is_in(status, pa.array(["failure", "error"])),
        "error",
        pc.if_else(pc.not_equal(status, ""), "success", pa.scalar(None, pa.string())),
    )
    cols["cost_reported"] = _money(spend)
    cols["cost_reported_currency"] = pc.if_else(spend.is_valid(), "USD", pa.scalar(None, pa.string()))
    cols["_key"] = cols["request_id"]
    return cols


def _or(first: Any, second: Any) -> Any:
    """Python's ``first or second`` for text: empty text counts as none."""
    import pyarrow.compute as pc

    return pc.if_else(pc.fill_null(pc.not_equal(first, ""), False), first, second)


def _litellm_hint(provider: str | None, base: str | None) -> str | None:
    return vendor_hint(provider) or host_hint(base)


def _tag_lists(tags: Any) -> Any:
    """``values.tag_map`` of LiteLLM's tag lists, once per distinct list."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = pa.map_(pa.string(), pa.string())
    if tags.null_count == len(tags):
        return pa.nulls(len(tags), kind)
    if pc.list_flatten(tags).null_count:
        raise Fallback("a tag that is not text")
    if pc.any(pc.match_substring(pc.list_flatten(tags), _SEP)).as_py():
        raise Fallback("a tag holding the separator")
    return _distinct_map(pc.binary_join(tags, _SEP), _tag_pairs, kind)  # a null list joins to null


def _tag_pairs(joined: str) -> list[tuple[str, str]] | None:
    found = tag_map(joined.split(_SEP)) if joined else None
    return list(found.items()) if found else None


def _money(values: Any) -> Any:
    """values.money of JSON numbers: each float through its shortest repr, so 0.1 stays 0.1."""
    import pyarrow as pa

    from tokctl.schema import MONEY_LIMIT_DIGITS, money_type

    amounts: list[Decimal | None] = []
    for value in values.to_pylist():
        if value is None:
            amounts.append(None)
            continue
        if value != value or abs(value) >= 2**53:
            raise Fallback("an amount a float cannot hold exactly")
        amount = Decimal(repr(value))
        if amount and amount.adjusted() >= MONEY_LIMIT_DIGITS:
            raise Fallback("an amount past the money column")
        amounts.append(amount)
    try:
        return pa.array(amounts, money_type())
    except (pa.ArrowInvalid, OverflowError):
        raise Fallback("an amount past the money column's scale") from None


_RESPONSE_STATUS = {"completed": "success", "incomplete": "success", "failed": "error", "cancelled": "canceled"}


def _responses(response: Any, body: bytes) -> dict[str, Any]:
    """openai.parse_responses, column by column (Responses objects, not their stream events)."""
    usage = _marked_usage(response, "object", "response")
    if "error" in response.type.names and response.field("error").null_count < len(response):
        raise Fallback("a response with an error object")
    ids = _text(response.field("id"))
    status = response.field("status")
    return {
        "source_format": "openai.responses",
        "_hint": None,
        "_hard": False,
        "model_reported": _text(response.field("model")),
        "response_id": ids,
        "ts_start": _unix_seconds_us(response.field("created_at")),
        "service_tier": _text(response.field("service_tier")),
        "status": _distinct_map(status, _RESPONSE_STATUS.get) if status.null_count < len(status) else None,
        "input_tokens": _count(usage.field("input_tokens")),
        "cache_read_tokens": _count(_field(usage, "input_tokens_details", "cached_tokens")),
        "cache_write_tokens": _count(_field(usage, "input_tokens_details", "cache_write_tokens")),
        "output_tokens": _count(usage.field("output_tokens")),
        "reasoning_tokens": _count(_field(usage, "output_tokens_details", "reasoning_tokens")),
        "total_tokens_reported": _count(usage.field("total_tokens")),
        "_key": ids,
    }


def _unix_seconds_us(values: Any) -> Any:
    """values.timestamp_us of unix seconds read as float64 (Responses' created_at may carry a fraction):
    round(x * 1e6), half to even, as Python computes it. Larger numbers (ms, us, ns) go back to the reader."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count == len(values):
        return pa.nulls(len(values), pa.timestamp("us", tz="UTC"))
    if pc.any(pc.or_(pc.less(values, 0.0), pc.greater_equal(values, 9e9))).as_py():
        raise Fallback("a time outside the seconds the fast path converts exactly")
    micros = pc.round(pc.multiply(values, 1_000_000.0), round_mode="half_to_even").cast(pa.int64())
    return _timestamps(micros)


_READERS: dict[str, Callable[[Any, bytes], dict[str, Any]]] = {
    "chat": _chat,
    "message": _message,
    "gemini": _gemini,
    "litellm": _litellm,
    "responses": _responses,
}


def _add(a: Any, b: Any) -> Any:
    """``values.add``: the sum of what was reported; null only when neither was."""
    import pyarrow.compute as pc

    if b.null_count == len(b):
        return a
    if a.null_count == len(a):
        return b
    return pc.if_else(pc.and_(pc.is_null(a), pc.is_null(b)), a, pc.add_checked(pc.fill_null(a, 0), pc.fill_null(b, 0)))


# --------------------------------------------------------------------------------------------- envelope


def _overlay(cols: dict[str, Any], log: Any, n: int) -> None:
    """wrapper._overlay, column by column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    present = None
    for name in ("timestamp", "latency_ms", "ttft_ms", "project", "api_key_id", "user", "tags", "provider",
                 "base_url", "http_status", "request"):  # fmt: skip
        if name in log.type.names:
            valid = log.field(name).is_valid()
            present = valid if present is None else pc.or_(present, valid)
    if present is None or not pc.all(present).as_py():
        raise Fallback("a record that may not be a request log")  # is_wrapper needs one of its keys
    stamp = log.field("timestamp")
    if stamp.null_count < n:
        if pc.any(pc.equal(stamp, "")).as_py():
            raise Fallback("an empty timestamp")  # the reader lets it blank out the response's own time
        mine = _iso_us(_text(stamp))
        start = cols.get("ts_start")
        cols["ts_start"] = mine if start is None else pc.if_else(pc.is_null(mine), start, mine)
    start = cols.get("ts_start")
    if start is not None:
        for name, column in (("latency_ms", "ts_end"), ("ttft_ms", "ts_first_token")):
            micros = _duration_us(log.field(name))
            if micros is not None:
                cols[column] = pc.add_checked(start, micros)
    for name in ("project", "user", "api_key_id"):
        cols[name] = _text(log.field(name))
    if "tags" in log.type.names:
        cols["tags"] = _tags(log.field("tags"))
    request_id = _text(log.field("request_id"))
    if request_id.null_count < n:
        cols["request_id"] = request_id
    provider, base = log.field("provider"), log.field("base_url")
    if provider.null_count < n or base.null_count < n:
        found = _distinct_rows([provider, base], _hint_of)
        if found.null_count < n:
            default = cols["_hint"]
            cols["_hint"] = pc.if_else(pc.is_null(found), pa.scalar(default, pa.string()), found)
            cols["_hard"] = pc.or_(pc.is_valid(found), pa.scalar(bool(cols["_hard"])))
    request = log.field("request")
    for name, column in (("model", "model_reported"), ("service_tier", "service_tier")):
        fill = _text(_field(request, name))
        mine = cols.get(column)
        if fill.null_count < n:
            cols[column] = fill if mine is None else pc.if_else(pc.is_null(mine), fill, mine)
    code = log.field("http_status")
    if code.null_count < n:
        if pc.any(pc.or_(pc.less(code, -32768), pc.greater(code, 32767))).as_py():
            raise Fallback("an HTTP status past int16")
        cols["http_status"] = code
        names = pc.if_else(
            pc.less(code, 400),
            "success",
            pc.if_else(
                pc.equal(code, 429),
                "rate_limited",
                pc.if_else(pc.or_(pc.equal(code, 408), pc.equal(code, 504)), "timeout", "error"),
            ),
        )
        mine = cols.get("status")
        if mine is None:
            cols["status"] = names  # rows without a code keep no status (null stays null through if_else)
        else:  # an error code, or no status of the response's own, takes the code's name
            own = _column(cols, "status", n, pa.string())
            take = pc.fill_null(pc.or_(pc.greater_equal(code, 400), pc.is_null(own)), False)
            cols["status"] = pc.if_else(take, names, own)
    key = cols.get("_key")
    if request_id.null_count < n:
        cols["_key"] = request_id if key is None else pc.if_else(pc.is_null(key), request_id, key)


_SEP = "\x1f"  # joins a LiteLLM tag list into one key (a tag holding it sends the block back)


def _hint_of(provider: str | None, base: str | None) -> str | None:
    return vendor_hint(provider) if provider is not None else host_hint(base)


def _distinct_rows(columns: list[Any], func: Callable[..., Any], kind: Any = None) -> Any:
    """``func(*values)`` of each distinct combination of the columns' values (nulls included), laid out per
    row. Each column is dictionary-encoded and the combination is one integer, so no value can be mistaken
    for a separator or a null marker."""
    import numpy as np
    import pyarrow as pa

    n = len(columns[0])
    codes = np.zeros(n, dtype=np.int64)
    dictionaries, sizes = [], []
    span = 1
    for column in columns:
        encoded = column.dictionary_encode()
        size = len(encoded.dictionary) + 1  # 0 stands for null
        span *= size
        if span >= 1 << 62:
            raise Fallback("too many distinct values to combine")
        codes = codes * size + (np.asarray(encoded.indices.fill_null(-1), dtype=np.int64) + 1)
        dictionaries.append(encoded.dictionary.to_pylist())
        sizes.append(size)
    distinct, inverse = np.unique(codes, return_inverse=True)
    results = []
    for code in distinct.tolist():
        values: list[Any] = []
        for dictionary, size in zip(reversed(dictionaries), reversed(sizes), strict=True):
            code, index = divmod(code, size)
            values.append(None if index == 0 else dictionary[index - 1])
        results.append(func(*reversed(values)))
    return pa.array(results, kind or pa.string()).take(pa.array(inverse.astype(np.int32)))


def _distinct_map(keys: Any, func: Callable[[str], Any], kind: Any = None) -> Any:
    """``func`` of each distinct key, laid out per row: Python runs once per distinct value."""
    import pyarrow as pa

    encoded = keys.dictionary_encode()
    mapped = pa.array([func(v) for v in encoded.dictionary.to_pylist()], kind or pa.string())
    return mapped.take(encoded.indices)


def _tags(tags: Any) -> Any:
    """``values.tag_map`` of an object of text values: null values dropped, keys in field order, no tags at
    all is null. Laid out with array arithmetic: row i's entries are the valid fields j of (i, j) in order."""
    import numpy as np
    import pyarrow as pa

    n = len(tags)
    names = [f.name for f in tags.type]
    kind = pa.map_(pa.string(), pa.string())
    if not names:
        return pa.nulls(n, kind)
    parent = np.asarray(tags.is_valid(), dtype=bool)
    fields = [_field(tags, name) for name in names]
    valid = np.stack([np.asarray(f.is_valid(), dtype=bool) & parent for f in fields], axis=1)  # (n, K)
    counts = valid.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    rows, cols = np.nonzero(valid)  # row-major: each row's fields in order
    values = pa.concat_arrays([f.cast(pa.string()) for f in fields]).take(pa.array(cols * n + rows))
    keys = pa.array(names, pa.string()).take(pa.array(cols))
    offsets_arr = pa.array(offsets, mask=np.append(counts == 0, False))
    return pa.MapArray.from_arrays(offsets_arr, keys, values, type=kind)


# -------------------------------------------------------------------------------------------- time, text


def _unix_us(values: Any) -> Any:
    """values.timestamp_us of whole numbers: seconds, ms, us or ns told apart by size."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count == len(values):
        return pa.nulls(len(values), pa.timestamp("us", tz="UTC"))
    if pc.any(pc.less(values, 0)).as_py():
        raise Fallback("a time before 1970")
    micros = pc.if_else(
        pc.greater_equal(values, 10**17),
        pc.divide(values, 1000),
        pc.if_else(
            pc.greater_equal(values, 10**14),
            values,
            pc.if_else(
                pc.greater_equal(values, 10**11), pc.multiply_checked(values, 1000), pc.multiply(values, 1_000_000)
            ),
        ),
    )
    return _timestamps(micros)


def _timestamps(micros: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pc.any(pc.or_(pc.less(micros, FIRST_US), pc.greater(micros, LAST_US))).as_py():
        raise Fallback("a time outside the years 1 to 9999")
    return micros.cast(pa.timestamp("us", tz="UTC"))


def _iso_us(values: Any) -> Any:
    """ISO 8601 text (the common forms only: anything else goes back to Python's parser)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = _text(values)
    if values.null_count == len(values):
        return pa.nulls(len(values), pa.timestamp("us", tz="UTC"))
    if not pc.all(pc.match_substring_regex(values, _ISO)).as_py():
        raise Fallback("a time in a form the fast path does not parse")
    zoned = pc.match_substring_regex(values, _ZONE)
    if not pc.all(zoned).as_py():
        values = pc.if_else(zoned, values, pc.binary_join_element_wise(values, "Z", ""))
    try:
        return values.cast(pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Fallback("a time Arrow cannot parse") from None


def _duration_us(values: Any) -> Any:
    """values.duration_us of milliseconds; None when no record has one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count == len(values):
        return None
    if pc.any(pc.less(values, 0)).as_py():
        raise Fallback("a negative duration")
    micros = pc.multiply(pc.multiply(values, 1e-3), 1_000_000.0)
    if not pc.all(pc.less_equal(pc.fill_null(micros, 0.0), float(LONGEST_US))).as_py():
        raise Fallback("a duration past 100 years")
    return pc.round(micros, round_mode="half_to_even").cast(pa.int64()).cast(pa.duration("us"))


# --------------------------------------------------------------------------------------------- finalize


def _column(cols: dict[str, Any], name: str, n: int, kind: Any) -> Any:
    import pyarrow as pa

    value = cols.get(name)
    if value is None:
        return pa.nulls(n, kind)
    if isinstance(value, (str, bool)):
        return pa.repeat(pa.scalar(value, kind), n)
    return value if value.type == kind else value.cast(kind)


def _finalize(cols: dict[str, Any], n: int, display: str, first_line: int) -> tuple[Any, Any, int]:
    """rows.finalize, column by column."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from tokctl.schema import usage_schema

    i64 = pa.int64()
    total_in = _column(cols, "input_tokens", n, i64)
    uncached = _column(cols, "input_uncached_tokens", n, i64)
    read = _column(cols, "cache_read_tokens", n, i64)
    write = _column(cols, "cache_write_tokens", n, i64)
    w5m = _column(cols, "cache_write_5m_tokens", n, i64)
    w1h = _column(cols, "cache_write_1h_tokens", n, i64)
    output = _column(cols, "output_tokens", n, i64)
    reasoning = _column(cols, "reasoning_tokens", n, i64)
    reported = _column(cols, "total_tokens_reported", n, i64)
    zero = pa.scalar(0, i64)

    def z(a: Any) -> Any:
        return pc.fill_null(a, zero)

    flags: list[Any] = list(cols.get("_flags", ()))  # (name, mask) in the order the row readers append them
    parts = pc.add_checked(z(w5m), z(w1h))
    any_part = pc.or_(pc.is_valid(w5m), pc.is_valid(w1h))
    flags.append(("cache_write_parts_mismatch", pc.and_(pc.is_valid(write), pc.greater(parts, z(write)))))
    write = pc.if_else(pc.and_(pc.is_null(write), any_part), parts, write)
    any_in = pc.or_(pc.or_(pc.is_valid(uncached), pc.is_valid(read)), pc.is_valid(write))
    derived = pc.add_checked(pc.add_checked(z(uncached), z(read)), z(write))
    total_was_null = pc.is_null(total_in)
    rest = pc.subtract_checked(pc.subtract_checked(z(total_in), z(read)), z(write))
    mismatch = pc.or_(
        pc.and_(pc.and_(pc.invert(total_was_null), pc.is_null(uncached)), pc.less(rest, 0)),
        pc.and_(pc.and_(pc.invert(total_was_null), pc.is_valid(uncached)), pc.not_equal(z(total_in), derived)),
    )
    uncached = pc.if_else(
        pc.and_(pc.and_(pc.invert(total_was_null), pc.is_null(uncached)), pc.greater_equal(rest, 0)), rest, uncached
    )
    total_in = pc.if_else(pc.and_(total_was_null, any_in), derived, total_in)
    flags.append(("input_parts_mismatch", mismatch))
    flags.append(("reasoning_exceeds_output", pc.greater(reasoning, output)))
    flags.append(("total_mismatch", pc.not_equal(reported, pc.add_checked(total_in, output))))

    tier = cols.get("service_tier")
    if tier is not None and tier.null_count < n:
        tier = _distinct_map(tier, service_tier_name)
        is_batch = pc.if_else(pc.equal(tier, "batch"), True, pa.scalar(None, pa.bool_()))
    else:
        tier, is_batch = None, None

    model_reported = _column(cols, "model_reported", n, pa.string())
    hints = cols.get("_hint")
    hards = cols.get("_hard")
    provider, model, resolve_flags = _resolve(model_reported, hints, hards, n)

    status = _column(cols, "status", n, pa.string())
    status = pc.if_else(pc.and_(pc.is_null(status), pc.is_valid(total_in)), "success", status)

    source_format = cols["source_format"]
    record_ids, hashes = _record_ids(source_format, _column(cols, "_key", n, pa.string()), display, first_line)

    strings: dict[str, Any] = {}
    for name in ("project", "api_key_id", "user"):
        value = _column(cols, name, n, pa.string())
        strings[name] = _distinct_map(value, redact_repeated) if value.null_count < n else value
    for name in ("request_id", "response_id"):
        value = _column(cols, name, n, pa.string())
        if value.null_count < n and pc.any(pc.match_substring_regex(value, _MARKERS)).as_py():
            raise Fallback(f"a secret marker in {name}")
        strings[name] = value
    tags = cols.get("tags")
    if tags is not None:
        for part in (tags.keys, tags.items):
            if len(part) and pc.any(pc.match_substring_regex(part, _MARKERS)).as_py():
                raise Fallback("a secret marker in tags")

    flag_lists = _flag_lists(flags, resolve_flags, n)
    values = {
        "record_id": record_ids,
        "source_format": _constant(source_format, n),
        "source_file": pa.repeat(pa.scalar(display, pa.string()), n),
        "source_line": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
        "provider": provider,
        "model": model,
        "model_reported": model_reported,
        "ts_start": cols.get("ts_start"),
        "ts_end": cols.get("ts_end"),
        "ts_first_token": cols.get("ts_first_token"),
        **strings,
        "tags": tags,
        "service_tier": tier,
        "is_batch": is_batch,
        "input_tokens": total_in,
        "input_uncached_tokens": uncached,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "cache_write_5m_tokens": w5m,
        "cache_write_1h_tokens": w1h,
        "output_tokens": output,
        "reasoning_tokens": reasoning,
        "total_tokens_reported": reported,
        "token_basis": _constant("reported", n),
        "status": status,
        "http_status": cols.get("http_status"),
        "cost_reported": cols.get("cost_reported"),
        "cost_reported_currency": cols.get("cost_reported_currency"),
        "flags": flag_lists,
    }
    schema = usage_schema()
    arrays = []
    for field in schema:
        value = values.get(field.name)
        if value is None:
            arrays.append(pa.nulls(n, field.type))
            continue
        if pa.types.is_dictionary(field.type) and not pa.types.is_dictionary(value.type):
            value = value.cast(pa.string()).dictionary_encode()
            if value.type != field.type:
                value = value.cast(field.type)
        elif value.type != field.type:
            value = value.cast(field.type)
        arrays.append(value)
    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
    return batch, hashes, n


def _resolved(model: str | None, hint: str | None, hard: bool | None) -> list[str | None]:
    return list(resolve_row(model, hint, bool(hard)))


def _constant(value: str, n: int) -> Any:
    """A dictionary column holding one value n times."""
    import numpy as np
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string()))


def _resolve(model_reported: Any, hints: Any, hards: Any, n: int) -> tuple[Any, Any, Any]:
    """provider, model and the resolution flag of every row, resolved once per distinct (model, hint)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hint = (
        hints
        if isinstance(hints, pa.Array)
        else pa.nulls(n, pa.string())
        if hints is None
        else pa.repeat(pa.scalar(hints, pa.string()), n)
    )
    hard = hards if isinstance(hards, pa.Array) else pa.repeat(pa.scalar(bool(hards)), n)
    resolved = _distinct_rows([model_reported, hint, hard], _resolved, pa.list_(pa.string()))
    providers = pc.list_element(resolved, 0)
    models = pc.list_element(resolved, 1)
    flags = pc.list_element(resolved, 2)
    return providers, models, flags


def _record_ids(source_format: str, keys: Any, display: str, first_line: int) -> tuple[Any, Any]:
    """rows.record_id of every row (the sha256 of format and natural key, as hex) and its 64-bit identity
    (batch.identity_hash): the hash runs once per row in C, the rest is array work."""
    import binascii

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(keys)
    if keys.null_count:
        lines = pa.array(np.arange(first_line, first_line + n, dtype=np.int64)).cast(pa.string())
        where = pc.binary_join_element_wise(display, lines, ":")
        keys = pc.if_else(pc.is_null(keys), where, keys)
    prefixed = pc.binary_join_element_wise(f"{source_format}\x1f", keys, "").cast(pa.binary())
    sha = hashlib.sha256
    digests = b"".join([sha(k).digest() for k in prefixed.to_pylist()])
    hexed = binascii.hexlify(digests)
    offsets = pa.array(np.arange(0, 64 * (n + 1), 64, dtype=np.int32))
    record_ids = pa.StringArray.from_buffers(n, offsets.buffers()[1], pa.py_buffer(hexed))
    first8 = np.frombuffer(digests, dtype=">u8", count=n * 4)[::4].astype(np.uint64)
    identities = (first8 ^ np.uint64(1 << 63)).view(np.int64)
    return record_ids, pa.array(identities)


def _flag_lists(flags: list[tuple[str, Any]], resolve_flags: Any, n: int) -> Any:
    import numpy as np
    import pyarrow as pa

    masks = []
    for name, mask in flags:
        filled = np.asarray(mask.fill_null(False), dtype=bool) if mask.null_count else np.asarray(mask, dtype=bool)
        if filled.any():
            masks.append((name, filled))
    extra = np.flatnonzero(np.asarray(resolve_flags.is_valid(), dtype=bool))
    if not masks and not len(extra):
        return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()))
    lists: list[list[str]] = [[] for _ in range(n)]
    for name, filled in masks:
        for i in np.flatnonzero(filled):
            lists[i].append(name)
    for i in extra:
        lists[i].append(resolve_flags[int(i)].as_py())
    return pa.array(lists, pa.list_(pa.string()))
