"""Any CSV (or Parquet) bill through a mapping file: Alibaba Cloud, Volcengine, Tencent Cloud, Baidu, DeepSeek.

The mapping (a ``kind = "csv"`` file in tokenizers_registry/bill_rules/, or the user's own given with
``--mapping``) names the columns, the default currency, the time zone the bill counts its days in, the rounding
unit, the quantity units, and the rules that turn billing item text into model and token class. Without
--mapping, the mapping whose columns all appear in the file's header is used.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tokctl.bills._common import (
    TOKEN_CLASSES,
    Collector,
    FileRead,
    LineBuilder,
    LineError,
    canonical_model,
    currency,
    decimal,
    moment,
    next_day,
    tokens,
    zone,
)
from tokctl.bills._tabular import header, rows
from tokctl.bills.rules import BillRules, csv_mappings
from tokctl.errors import InputFormatError


def resolve_columns(rules: BillRules, names: list[str]) -> dict[str, str]:
    """Mapped field -> the header name present in this file (the first of the mapping's candidates found)."""
    present = {n.strip(): n for n in names}
    found: dict[str, str] = {}
    for name, headers in rules.columns.items():
        for candidate in headers:
            if candidate in present:
                found[name] = present[candidate]
                break
    return found


def _complete(columns: dict[str, str]) -> bool:
    return "item" in columns and "amount" in columns and ("date" in columns or "start" in columns)


def detect(names: list[str]) -> BillRules | None:
    """The CSV mapping that fits this header best (most mapped columns found), or None."""
    stripped = {n.strip() for n in names}
    fits = [
        (len(resolve_columns(r, names)), r.id, r)
        for r in csv_mappings()
        if _complete(resolve_columns(r, names)) and all(d in stripped for d in r.detect)
    ]
    return max(fits, key=lambda f: (f[0], f[1]))[2] if fits else None


def read(path: Path, *, strict: bool, mapping: BillRules | None, tz: str | None = None) -> FileRead:
    names = header(path)
    rules = mapping or detect(names)
    if rules is None:
        raise InputFormatError(
            "no bill format or mapping fits this file's columns",
            where=f"{path}:1",
            fix="give --bill-format, or --mapping FILE.toml naming its columns (docs/bills.md)",
        )
    if tz is not None:
        zone(tz)
        rules = dataclasses.replace(rules, timezone=tz)
    columns = resolve_columns(rules, names)
    if not _complete(columns):
        wanted = [f for f in ("item", "amount") if f not in columns] + (
            [] if "date" in columns or "start" in columns else ["date"]
        )
        raise InputFormatError(
            f"the {rules.id} mapping needs column{'s' if len(wanted) > 1 else ''} "
            f"{', '.join(' or '.join(rules.columns.get(w, (w,))) for w in wanted)}",
            where=f"{path}:1",
            fix=f"check the export, or edit the mapping {rules.path}",
        )
    collector = Collector(str(path), strict=strict)
    builder = LineBuilder(f"csv.{rules.id}", str(path))
    for line, row in rows(path):
        builder.line = line
        try:
            values = {f: _cell(row.get(h)) for f, h in columns.items()}
            _line(builder, rules, line, values)
        except LineError as exc:
            collector.skip(line, "bad line", str(exc))
        except _Ignored as exc:
            collector.skip(line, "not a model charge", str(exc))
    return FileRead(builder.table(), collector.skipped)


class _Ignored(Exception):
    pass


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _line(builder: LineBuilder, rules: BillRules, line: int, values: dict[str, Any]) -> None:
    tz = zone(rules.timezone)
    parsed = rules.parse({k: None if v is None else str(v) for k, v in values.items()})
    if parsed.ignore:
        raise _Ignored(parsed.ignore)
    start = moment(values.get("start") or values.get("date"), tz, "date")
    end = moment(values["end"], tz, "end") if values.get("end") else next_day(start, tz)
    category = parsed.charge_category or (values.get("category") and _category(values["category"])) or "Usage"
    token_class = parsed.token_class
    quantity = None
    if token_class in TOKEN_CLASSES and values.get("quantity") is not None:
        quantity = tokens(values["quantity"], rules.unit_multiplier(values.get("unit")))
    reported = parsed.model or values.get("model")
    code = currency(values.get("currency") or rules.currency)
    optional = {
        k: decimal(values[f], f)
        for k, f in (("list_cost", "list_amount"), ("effective_cost", "effective_amount"))
        if values.get(f)
    }
    builder.add(
        key=(line, start, values.get("project"), values.get("api_key"), reported, values["item"]),
        provider=rules.provider, charge_period_start=start, charge_period_end=end,
        sub_account_id=values.get("project"), api_key_id=values.get("api_key"),
        service_name=rules.name, sku_id=values["item"], charge_description=values.get("description") or values["item"],
        model=canonical_model(reported, rules.provider), model_reported=reported,
        token_class=token_class or "other", service_tier=values.get("service_tier") or parsed.service_tier,
        consumed_quantity=quantity, consumed_unit="tokens" if quantity is not None else None,
        billed_cost=decimal(values["amount"], "amount"), billing_currency=code, charge_category=category,
        context_tier=parsed.context_tier, billing_timezone=rules.timezone, rounding_unit=rules.rounding, **optional,
    )  # fmt: skip


def _category(text: Any) -> str:
    lowered = str(text).lower()
    for name, words in (
        ("Credit", ("credit", "coupon", "抵扣", "代金券", "优惠")),
        ("Tax", ("tax", "税")),
        ("Purchase", ("subscription", "包年包月", "预付费", "resource package", "资源包")),
    ):
        if any(w in lowered for w in words):
            return name
    return "Usage"
