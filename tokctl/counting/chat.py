"""Prompt tokens of a chat request: message contents plus each model family's chat overhead.

The rules are data (tokenizers_registry/chat_rules.toml). For OpenAI models they reproduce the published values
of the OpenAI cookbook (129 / 124 for the six-message example, 105 / 101 with the weather tool).
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tokenizers_registry
from tokctl.counting.api import Target, count_texts, resolve_targets
from tokctl.errors import InputFormatError, InputNotFoundError

ROLES_KEYS = ("role", "content", "name")


@dataclass(frozen=True)
class ChatRule:
    name: str
    kind: str
    accuracy: str
    source: str
    raw: dict[str, Any]


@dataclass
class ChatCount:
    model: str | None
    provider: str | None
    tokenizer: str
    accuracy: str
    rule: str
    messages: int
    content_tokens: int
    overhead_tokens: int
    tools_tokens: int
    notes: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.content_tokens + self.overhead_tokens + self.tools_tokens

    def as_row(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "provider": self.provider,
            "tokenizer": self.tokenizer,
            "accuracy": self.accuracy,
            "rule": self.rule,
            "messages": self.messages,
            "content_tokens": self.content_tokens,
            "overhead_tokens": self.overhead_tokens,
            "tools_tokens": self.tools_tokens,
            "tokens": self.tokens,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.as_row(), "notes": self.notes}


@dataclass
class ChatResult:
    path: str
    rows: list[ChatCount]

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "counts": [r.as_dict() for r in self.rows]}


@functools.cache
def _rules() -> tuple[dict[str, ChatRule], ChatRule]:
    raw = tomllib.loads((tokenizers_registry.ROOT / "chat_rules.toml").read_text(encoding="utf-8"))
    rules = {name: ChatRule(name, r["kind"], r["accuracy"], r["source"], r) for name, r in raw["rules"].items()}
    d = raw["default"]
    return rules, ChatRule("default", d["kind"], d["accuracy"], d["source"], d)


def rule_for(target: Target) -> ChatRule:
    rules, default = _rules()
    for rule in rules.values():
        if target.model and target.model.lower() in rule.raw.get("models", []):
            return rule
    if not target.tokenizer.is_estimate:
        for rule in rules.values():
            if target.tokenizer.id in rule.raw.get("tokenizers", []):
                return rule
    return default


def _text_of(value: Any, notes: list[str]) -> str:
    """Message content as text: a string, or the text parts of a list of parts."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for part in value:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
            else:
                notes.append("non-text content parts (images, audio, files) are not counted")
        return "".join(texts)
    return json.dumps(value, ensure_ascii=False)


def _per_message(messages: list[dict[str, Any]], target: Target, rule: ChatRule, notes: list[str]) -> tuple[int, int]:
    texts: list[str] = []
    overhead = rule.raw["reply_priming"]
    for message in messages:
        overhead += rule.raw["tokens_per_message"]
        for key, value in message.items():
            if key == "tool_calls" or key == "tool_call_id":
                texts.append(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
                notes.append("tool_calls counted as their JSON text (estimate)")
                continue
            texts.append(_text_of(value, notes))
            if key == "name":
                overhead += rule.raw["tokens_per_name"]
    return sum(count_texts(texts, target)) if texts else 0, overhead


def _template(messages: list[dict[str, Any]], target: Target, rule: ChatRule, notes: list[str]) -> tuple[int, int]:
    rendered = rule.raw.get("prefix", "")
    for message in messages:
        rendered += rule.raw["message"].format(
            role=message.get("role", ""), content=_text_of(message.get("content"), notes)
        )
    rendered += rule.raw["generation_prompt"]
    specials = rule.raw["specials"]
    pieces = [rendered]
    special_count = 0
    for special in specials:
        split = []
        for piece in pieces:
            parts = piece.split(special)
            special_count += len(parts) - 1
            split.extend(parts)
        pieces = split
    pieces = [p for p in pieces if p]
    text_tokens = sum(count_texts(pieces, target)) if pieces else 0
    return text_tokens, special_count


def _tools_tokens(tools: list[dict[str, Any]], target: Target, rule: ChatRule, notes: list[str]) -> tuple[int, bool]:
    """Tokens of tool definitions and whether the rule for them is the vendor's published one."""
    constants = rule.raw.get("tools", {}).get(target.tokenizer.id)
    if constants is None:
        text = json.dumps(tools, ensure_ascii=False)
        notes.append("tool definitions counted as their JSON text (no published rule for this model)")
        return sum(count_texts([text], target)), False
    lines: list[str] = []
    total = 0
    for tool in tools:
        function = tool.get("function", tool)
        total += constants["func_init"]
        desc = str(function.get("description", "")).removesuffix(".")
        lines.append(f"{function.get('name', '')}:{desc}")
        properties = (function.get("parameters") or {}).get("properties") or {}
        if properties:
            total += constants["prop_init"]
            for key, prop in properties.items():
                total += constants["prop_key"]
                if "enum" in prop:
                    total += constants["enum_init"]
                    for item in prop["enum"]:
                        total += constants["enum_item"]
                        lines.append(str(item))
                pdesc = str(prop.get("description", "")).removesuffix(".")
                lines.append(f"{key}:{prop.get('type', '')}:{pdesc}")
    total += constants["func_end"]
    return total + sum(count_texts(lines, target)), True


def count_chat(
    messages: list[dict[str, Any]],
    model: str | None = None,
    tools: list[dict[str, Any]] | None = None,
    provider: str | None = None,
    tokenizer: str | None = None,
) -> ChatCount:
    """Prompt tokens of a chat request for one model.

    >>> count_chat([{"role": "user", "content": "Hello"}], model="gpt-4o").tokens
    8
    """
    target = resolve_targets([model] if model else [], [tokenizer] if tokenizer else [], provider)[0]
    return _count_for(messages, tools, target)


def _count_for(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, target: Target) -> ChatCount:
    rule = rule_for(target)
    notes: list[str] = []
    if rule.kind == "per_message":
        content, overhead = _per_message(messages, target, rule, notes)
    else:
        content, overhead = _template(messages, target, rule, notes)
    tools_tokens, tools_exact = _tools_tokens(tools, target, rule, notes) if tools else (0, True)
    exact = rule.accuracy == "exact" and not target.tokenizer.is_estimate and tools_exact and not notes
    if target.tokenizer.is_estimate:
        notes.append(f"{target.tokenizer.id} is an estimate: the content tokens are estimated")
    return ChatCount(
        target.model,
        target.provider,
        target.tokenizer.id,
        "exact" if exact else "estimate",
        rule.name,
        len(messages),
        content,
        overhead,
        tools_tokens,
        sorted(set(notes)),
    )


def parse_chat(text: str, where: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Messages and tools from JSON (a list, or an object with messages and optional tools) or JSONL."""
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise InputFormatError("empty chat file", where=where, fix="give a JSON list of messages")
    try:
        doc: Any = _loads(stripped, where, 1)
    except json.JSONDecodeError as first_error:
        doc = []
        for lineno, line in enumerate(stripped.splitlines(), 1):
            if not line.strip():
                continue
            try:
                doc.append(_loads(line, where, lineno))
            except json.JSONDecodeError as exc:
                error = exc if lineno > 1 else first_error
                raise InputFormatError(
                    f"invalid JSON: {error.msg}",
                    where=f"{where}:{lineno}",
                    fix="give a JSON list of messages, or one message object per line",
                ) from None
    tools = None
    if isinstance(doc, dict):
        tools = doc.get("tools")
        doc = doc.get("messages")
    if not isinstance(doc, list) or not all(isinstance(m, dict) for m in doc):
        raise InputFormatError(
            "chat file holds no list of message objects",
            where=where,
            fix='write [{"role": "user", "content": "..."}] or {"messages": [...], "tools": [...]}',
        )
    for index, message in enumerate(doc):
        if "role" not in message:
            raise InputFormatError(
                f"message {index + 1} has no role",
                where=where,
                fix='every message needs "role" and "content"',
            )
    if tools is not None and not isinstance(tools, list):
        raise InputFormatError("tools is not a list", where=where, fix="give tools as a list of tool objects")
    for index, tool in enumerate(tools or []):
        _check_tool(tool, f"tools[{index}]", where)
    return doc, tools


def _loads(text: str, where: str, line: int) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as exc:  # nesting past the parser's depth; a number of 4300+ digits
        why = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long to read"
        raise InputFormatError(
            f"invalid JSON: {why}", where=f"{where}:{line}", fix="give a JSON list of messages"
        ) from None


def _check_tool(tool: Any, path: str, where: str) -> None:
    """The shape the published tool-token rule reads: objects where it looks keys up, a list for enum."""

    def bad(part: str, kind: str) -> InputFormatError:
        return InputFormatError(
            f"{part} is not {kind}",
            where=where,
            fix='write tools as [{"type": "function", "function": {"name": ..., "parameters": {...}}}]',
        )

    if not isinstance(tool, dict):
        raise bad(path, "an object")
    function = tool.get("function", tool)
    if not isinstance(function, dict):
        raise bad(f"{path}.function", "an object")
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise bad(f"{path}.function.parameters", "an object")
    properties = (parameters or {}).get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise bad(f"{path}.function.parameters.properties", "an object")
    for key, prop in (properties or {}).items():
        if not isinstance(prop, dict):
            raise bad(f"{path}.function.parameters.properties.{key}", "an object")
        if "enum" in prop and not isinstance(prop["enum"], list):
            raise bad(f"{path}.function.parameters.properties.{key}.enum", "a list")


def count_chat_file(path: Path, models: list[str], provider: str | None = None) -> ChatResult:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputNotFoundError(f"no such file: {path}", fix="check the path") from None
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            where=str(path),
            fix="save the transcript as UTF-8",
        ) from None
    messages, tools = parse_chat(text, str(path))
    targets = resolve_targets(models, [], provider)
    return ChatResult(str(path), [_count_for(messages, tools, t) for t in targets])
