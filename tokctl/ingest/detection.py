"""Tell a record's shape and send it to its reader; ``--source`` narrows the shapes a file may hold.

Detection looks at a few keys of each record, so one file may mix formats. The checks run from the most
specific marks to the loosest (an OpenAI batch line wraps a chat completion; a wrapper wraps anything).
Containers are opened first: a top-level JSON array, an OTLP document (``resourceSpans`` or
``resourceLogs``), a paginated ``{"data": [...]}`` page; each item is a record of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tokctl.errors import UsageError
from tokctl.ingest import (
    anthropic,
    bedrock,
    claude_code,
    codex,
    cohere,
    dashscope,
    gemini,
    generic,
    helicone,
    langfuse,
    litellm,
    openai,
    openrouter,
    otel,
    otel_logs,
    wrapper,
)
from tokctl.ingest.resolve import vendor_hint
from tokctl.ingest.values import Skip

# --source NAME -> (shapes it may hold, source format forced on chat-shaped records, binding vendor hint)
SOURCES: dict[str, tuple[frozenset[str], str | None, str | None]] = {
    "openai": (frozenset({"openai.chat", "openai.responses", "openai.batch"}), None, None),
    "anthropic": (frozenset({"anthropic.message", "anthropic.event", "anthropic.batch"}), None, None),
    "claude_code": (frozenset({"claude_code"}), None, None),
    "codex": (frozenset({"codex"}), None, None),
    "cohere": (frozenset({"cohere"}), None, None),
    "bedrock": (frozenset({"bedrock", "anthropic.message"}), None, "bedrock"),
    "gemini": (frozenset({"gemini", "gemini.batch"}), None, None),
    "deepseek": (frozenset({"openai.chat"}), "deepseek.chat", "deepseek"),
    "dashscope": (frozenset({"openai.chat", "dashscope.native"}), "dashscope.compat", "alibaba"),
    "zhipu": (frozenset({"openai.chat"}), "zhipu.chat", "zhipu"),
    "moonshot": (frozenset({"openai.chat"}), "moonshot.chat", "moonshot"),
    "ark": (frozenset({"openai.chat"}), "ark.chat", "volcengine"),
    "mistral": (frozenset({"openai.chat"}), "mistral.chat", "mistral"),
    "openrouter": (frozenset({"openrouter", "openai.chat"}), "openrouter.chat", "openrouter"),
    "otel": (frozenset({"otel.span", "otel.log"}), None, None),
    "litellm": (frozenset({"litellm"}), None, None),
    "langfuse": (frozenset({"langfuse"}), None, None),
    "helicone": (frozenset({"helicone"}), None, None),
    "generic": (frozenset(), None, None),
}


@dataclass
class Context:
    """What one read knows beyond a single record: the --source choice and per-file stream state."""

    source: str | None = None
    mapping: generic.Mapping | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source is not None and self.source not in SOURCES:
            from tokctl.errors import UnknownNameError

            raise UnknownNameError(self.source, SOURCES, fix=f"use one of {', '.join(SOURCES)}")
        if self.source == "generic" and self.mapping is None:
            raise UsageError("--source generic needs a column mapping", fix="add --mapping FILE.toml")
        if self.mapping is not None and self.source is None and not self.mapping.pin_only:
            self.source = "generic"


def containers(value: Any) -> Iterator[Any]:
    """The records inside ``value``: its items when it is a container, else ``value`` itself."""
    if type(value) is list:
        for item in value:
            yield from containers(item)
        return
    if type(value) is dict:
        if "resourceSpans" in value:
            yield from otel.expand_document(value)
            return
        if "resourceLogs" in value:
            yield from otel_logs.expand_document(value)
            return
        data = value.get("data")
        if type(data) is list and "usage" not in value:
            yield from data
            return
        observations = langfuse.observations_of(value)
        if observations is not None:
            yield from observations
            return
    yield value


def detect(value: dict[str, Any]) -> str | None:
    """The shape of one record, or None when no reader knows it."""
    if otel_logs.MARK in value:
        return "otel.log"
    if litellm.is_spend_log(value):
        # Before the wrapper test: a stored spend row always has a ``response`` column ("{}" or an object).
        return "litellm"
    if "response" in value:
        if "custom_id" in value:
            return "openai.batch"
        if "key" in value:
            return "gemini.batch"
        if wrapper.is_wrapper(value):
            return "wrapper"
    if "custom_id" in value and "result" in value:
        return "anthropic.batch"
    if claude_code.is_transcript_line(value):
        return "claude_code"
    if codex.is_rollout_line(value):
        return "codex"
    if bedrock.is_record(value):
        return "bedrock"
    if cohere.is_response(value):
        return "cohere"
    kind = value.get("type")
    if type(kind) is str:
        if kind == "message":
            return "anthropic.message"
        if kind.startswith(("message_", "content_block_")) or kind == "ping":
            return "anthropic.event"
        if kind.startswith("response."):
            return "openai.responses"
    shape = value.get("object")
    if shape == "response":
        return "openai.responses"
    if shape in ("chat.completion", "chat.completion.chunk", "list", "text_completion"):
        return "openai.chat"
    if helicone.is_request(value):
        return "helicone"
    if openrouter.is_generation(value) or openrouter.unwrap(value) is not None:
        return "openrouter"
    if langfuse.is_observation(value):
        return "langfuse"
    if otel.is_span(value):
        return "otel.span"
    if gemini.is_response(value):
        return "gemini"
    if dashscope.is_native(value):
        return "dashscope.native"
    usage = value.get("usage")
    if "choices" in value or (type(usage) is dict and "prompt_tokens" in usage):
        return "openai.chat"
    return None


def parse(value: Any, ctx: Context) -> list[dict[str, Any]]:
    """The usage rows of one record; raises :class:`Skip` when it gives none."""
    if type(value) is not dict:
        raise Skip("unknown_shape", f"a JSON {type(value).__name__}, not an object")
    mapping = ctx.mapping
    if mapping is not None and not mapping.pin_only:
        return [generic.parse_record(value, mapping)]
    shape = detect(value)
    if shape == "wrapper":
        rows = wrapper.parse_wrapper(value, lambda inner: _parse_shape(inner, detect(inner), ctx))
    else:
        rows = _parse_shape(value, shape, ctx)
    if mapping is not None:
        hint = vendor_hint(mapping.provider)
        for row in rows:
            row["_hint"], row["_hard"], row["_signal"] = hint, True, "pin"
    return rows


def _parse_shape(value: dict[str, Any], shape: str | None, ctx: Context) -> list[dict[str, Any]]:
    forced_format, forced_hint = None, None
    if ctx.source is not None:
        allowed, forced_format, forced_hint = SOURCES[ctx.source]
        if shape not in allowed:
            raise Skip("unknown_shape", f"not a {ctx.source} record ({shape or 'unknown shape'})")
    reader = _READERS.get(shape) if shape is not None else None
    if reader is None:  # no shape, or a request log wrapped inside another
        raise Skip("unknown_shape", "no reader knows this record's shape")
    found = reader(value, ctx, forced_format)
    rows = found if type(found) is list else [found]
    for row in rows:
        if forced_hint is not None:
            row["_hint"], row["_hard"], row["_signal"] = forced_hint, True, "pin"
    return rows


def _openrouter(value: dict[str, Any], ctx: Context, forced: str | None) -> dict[str, Any]:
    return openrouter.parse_generation(openrouter.unwrap(value) or value)


_READERS: dict[str, Any] = {
    "openai.chat": lambda v, ctx, forced: openai.parse_chat(v, forced),
    "openai.responses": lambda v, ctx, forced: openai.parse_responses(v),
    "openai.batch": lambda v, ctx, forced: openai.parse_batch_line(v),
    "anthropic.message": lambda v, ctx, forced: anthropic.parse_message(v),
    "anthropic.event": lambda v, ctx, forced: anthropic.parse_event(v, ctx.state),
    "anthropic.batch": lambda v, ctx, forced: anthropic.parse_batch_result(v),
    "claude_code": lambda v, ctx, forced: claude_code.parse_line(v),
    "codex": lambda v, ctx, forced: codex.parse_line(v, ctx.state),
    "bedrock": lambda v, ctx, forced: bedrock.parse_record(v),
    "cohere": lambda v, ctx, forced: cohere.parse_response(v),
    "gemini": lambda v, ctx, forced: gemini.parse_response(v, "gemini", ctx.state),
    "gemini.batch": lambda v, ctx, forced: gemini.parse_batch_line(v),
    "dashscope.native": lambda v, ctx, forced: dashscope.parse_native(v),
    "otel.span": lambda v, ctx, forced: otel.parse_span(v),
    "otel.log": lambda v, ctx, forced: otel_logs.parse_record(v),
    "litellm": lambda v, ctx, forced: litellm.parse_spend_log(v),
    "langfuse": lambda v, ctx, forced: langfuse.parse_observation(v),
    "helicone": lambda v, ctx, forced: helicone.parse_request(v),
    "openrouter": _openrouter,
}
