"""Which bill lines a reconciliation covers: the AI services of a whole-cloud bill, or the services asked for.

A FOCUS export of a whole Azure or AWS account carries storage, compute and network next to the model tokens.
Those lines are not compared with the logs (nothing logs them) and are not mismatches either: they are
listed as out of scope, counted with their amounts per service, so every line of the bill is accounted for.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tokctl.bills import TOKEN_CLASSES
from tokctl.errors import UsageError

# The billing platforms tokctl prices (provider ids agreed for the provider column).
AI_PLATFORMS = frozenset(
    """openai anthropic google mistral xai deepseek deepseek-cn alibaba alibaba-cn zhipu zai moonshot moonshot-cn
    minimax minimax-cn stepfun baidu volcengine tencent meta bedrock vertex azure openrouter groq together
    fireworks cerebras deepinfra novita siliconflow""".split()  # noqa: SIM905 - a compact table
)


def split(lines: Any, services: Sequence[str] | None) -> tuple[Any, list[dict[str, Any]]]:
    """The lines in scope, and the others summed per provider, service and currency.

    ``services``: service names (FOCUS ServiceName, as the bill writes it) or provider ids, case-insensitive;
    None or empty takes every line of an AI platform and every token charge.
    """
    import pyarrow as pa

    providers = [_text(v) for v in lines.column("provider").to_pylist()]
    names = [_text(v) for v in lines.column("service_name").to_pylist()]
    if services:
        wanted = {s.strip().lower() for s in services if s.strip()}
        pairs = zip(providers, names, strict=True)
        mask = [(p or "").lower() in wanted or (n or "").lower() in wanted for p, n in pairs]
        if not any(mask):
            found = sorted({n for n in names if n} | {p for p in providers if p})
            raise UsageError(
                f"--service {', '.join(services)} matches no line of the bill",
                fix=f"choose among: {', '.join(found) or '(no service names)'}",
            )
    else:  # a line without a provider stays in, to be shown as (unknown) rather than hidden
        classes = [_text(v) for v in lines.column("token_class").to_pylist()]
        mask = [p is None or p in AI_PLATFORMS or c in TOKEN_CLASSES for p, c in zip(providers, classes, strict=True)]
    if all(mask):
        return lines, []
    outside = lines.filter(pa.array([not m for m in mask]))
    return lines.filter(pa.array(mask)), _summary(outside)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _summary(lines: Any) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in lines.select(["provider", "service_name", "billing_currency", "billed_cost"]).to_pylist():
        key = (row["provider"], row["service_name"], row["billing_currency"])
        entry = groups.setdefault(key, {"provider": key[0], "service": key[1], "currency": key[2], "lines": 0,
                                        "billed": None})  # fmt: skip
        entry["lines"] += 1
        if row["billed_cost"] is not None:
            entry["billed"] = (entry["billed"] or Decimal(0)) + row["billed_cost"]
    return sorted(groups.values(), key=lambda e: (-(e["billed"] or 0), str(e["provider"]), str(e["service"])))
