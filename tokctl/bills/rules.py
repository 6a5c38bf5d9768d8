"""Bill rules: how a bill's free text (line items, SKUs, meters, billing items) becomes model and token class.

The rules are data, one TOML file per bill family in ``tokenizers_registry/bill_rules/``; a CSV mapping for a
bill tokctl has no reader for (Alibaba Cloud, Volcengine, Tencent Cloud, Baidu, ...) is the same kind of file
with ``[format]``, ``[columns]`` and ``[units]`` filled. docs/bills.md documents the format; this module rejects
anything else with a message that says how to fix the file.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import tokenizers_registry
from tokctl.errors import RegistryError, UsageError
from tokctl.registry.strict_toml import check_keys, expect, load_toml

BILL_RULES = tokenizers_registry.ROOT / "bill_rules"
# Fields a generic CSV mapping may fill; ``item`` and ``amount`` are required, and a day or a start time.
CSV_FIELDS = (
    "date", "start", "end", "item", "model", "quantity", "unit", "amount", "list_amount", "effective_amount",
    "currency", "project", "api_key", "category", "service_tier", "description",
)  # fmt: skip
_RULE_KEYS = ("field", "pattern", "token_class", "model", "service_tier", "context_tier", "charge_category", "ignore")
_FORMAT_KEYS = (
    "id",
    "name",
    "kind",
    "provider",
    "currency",
    "timezone",
    "rounding",
    "detect",
    "source",
    "confidence",
    "notes",
)


@dataclass(frozen=True)
class Rule:
    field: str
    pattern: re.Pattern[str]
    token_class: str | None
    model: str | None = None
    service_tier: str | None = None
    context_tier: str | None = None
    charge_category: str | None = None
    ignore: bool = False


@dataclass(frozen=True)
class Parsed:
    """What the rules say about one line."""

    token_class: str | None = None
    model: str | None = None
    service_tier: str | None = None
    context_tier: str | None = None
    charge_category: str | None = None
    ignore: str | None = None  # why the line is not a model charge


@dataclass(frozen=True)
class BillRules:
    id: str
    path: Path
    kind: str  # "csv": a generic CSV mapping; "rules": text rules used by a built-in reader
    name: str = ""
    provider: str | None = None
    currency: str | None = None
    timezone: str = "UTC"
    rounding: Decimal | None = None
    detect: tuple[str, ...] = ()  # header names that must all be present to pick this mapping unasked
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def parse(self, texts: dict[str, str | None]) -> Parsed:
        """Apply the first rule whose pattern matches its field; a ``model`` group names the model."""
        for rule in self.rules:
            text = texts.get(rule.field)
            if not text:
                continue
            match = rule.pattern.search(text)
            if match is None:
                continue
            if rule.ignore:
                return Parsed(ignore=f"{rule.field} {text!r} is not a model charge ({self.id} rules)")
            groups = match.groupdict()
            model = rule.model or (groups.get("model") or "").strip() or None
            return Parsed(
                rule.token_class,
                model,
                rule.service_tier or groups.get("service_tier"),
                rule.context_tier or groups.get("context_tier"),
                rule.charge_category,
            )
        return Parsed()

    def unit_multiplier(self, unit: str | None, default: int = 1) -> int:
        """Tokens per unit of quantity (``1K tokens`` -> 1000); an unknown unit is an error on that line."""
        if unit is None or not str(unit).strip():
            return default
        key = str(unit).strip()
        for name, multiplier in self.units.items():
            if name.lower() == key.lower():
                return multiplier
        from tokctl.bills._common import LineError

        raise LineError(f"unknown quantity unit {key!r}; add it under [units] in {self.path.name}")


def _rule(raw: Any, where: str) -> Rule:
    expect(raw, dict, where=where, key="rules[]")
    check_keys(raw, where=where, required=("field", "pattern"), optional=_RULE_KEYS)
    try:
        pattern = re.compile(expect(raw["pattern"], str, where=where, key="pattern"), re.IGNORECASE)
    except re.error as exc:
        raise RegistryError(
            f"pattern is not a regular expression: {exc}",
            where=where,
            fix="fix the pattern (Python re syntax; write it in a '''literal''' string)",
        ) from None
    ignore = bool(raw.get("ignore", False))
    if not ignore and "token_class" not in raw:
        raise RegistryError(
            "a rule needs token_class (or ignore = true)",
            where=where,
            fix='add token_class = "input" (input, cache_read, cache_write, cache_write_1h, '
            "output, or another lowercase name for non-token charges)",
        )
    return Rule(
        raw["field"],
        pattern,
        raw.get("token_class"),
        raw.get("model"),
        raw.get("service_tier"),
        raw.get("context_tier"),
        raw.get("charge_category"),
        ignore,
    )


def parse_rules(raw: dict[str, Any], path: Path) -> BillRules:
    where = str(path)
    check_keys(raw, where=where, required=("format",), optional=("columns", "units", "providers", "rules"))
    fmt = expect(raw["format"], dict, where=where, key="format")
    check_keys(fmt, where=f"{where} [format]", required=("id", "name", "kind"), optional=_FORMAT_KEYS)
    if fmt["id"] != path.stem:
        raise RegistryError(
            f"format id {fmt['id']!r} does not match the file name {path.name!r}",
            where=f"{where} [format]",
            fix=f"rename the file to {fmt['id']}.toml",
        )
    kind = fmt["kind"]
    if kind not in ("csv", "rules"):
        raise RegistryError(f"kind {kind!r} must be csv or rules", where=f"{where} [format]", fix="fix kind")
    columns = {}
    for name, headers in raw.get("columns", {}).items():
        if name not in CSV_FIELDS:
            raise RegistryError(
                f"unknown column field {name!r}", where=f"{where} [columns]", fix=f"use one of {', '.join(CSV_FIELDS)}"
            )
        headers = [headers] if isinstance(headers, str) else expect(headers, list, where=where, key=name)
        columns[name] = tuple(str(h) for h in headers)
    if kind == "csv":
        missing = [c for c in ("item", "amount") if c not in columns]
        if "date" not in columns and "start" not in columns:
            missing.append("date (or start)")
        if missing:
            raise RegistryError(
                f"a CSV mapping needs columns {', '.join(missing)}",
                where=f"{where} [columns]",
                fix="map each to the header names the bill uses",
            )
    units = {str(k): expect(v, int, where=where, key=f"units.{k}") for k, v in raw.get("units", {}).items()}
    rules = tuple(_rule(r, f"{where} rules[{i}]") for i, r in enumerate(raw.get("rules", [])))
    rounding = fmt.get("rounding")
    return BillRules(
        id=fmt["id"], path=path, kind=kind, name=fmt["name"], provider=fmt.get("provider"),
        currency=fmt.get("currency"), timezone=fmt.get("timezone", "UTC"),
        rounding=None if rounding is None else Decimal(str(rounding)), detect=tuple(fmt.get("detect", ())),
        columns=columns, units=units,
        providers={str(k): str(v) for k, v in raw.get("providers", {}).items()}, rules=rules,
    )  # fmt: skip


@functools.cache
def _load(path: Path) -> BillRules:
    return parse_rules(load_toml(path), path)


def load_rules(name_or_path: str | Path) -> BillRules:
    """Rules by id (a file in tokenizers_registry/bill_rules) or by path (a user's mapping file)."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = BILL_RULES / f"{name_or_path}.toml"
        if not path.is_file():
            from tokctl.errors import UnknownNameError

            raise UnknownNameError(str(name_or_path), known_rules(), fix="or give the path of a mapping .toml")
    elif not path.is_file():
        raise UsageError(f"mapping file {path} does not exist", fix="check the path")
    return _load(path.resolve())


def known_rules() -> list[str]:
    return sorted(p.stem for p in BILL_RULES.glob("*.toml"))


def csv_mappings() -> list[BillRules]:
    return [r for r in (load_rules(name) for name in known_rules()) if r.kind == "csv"]
