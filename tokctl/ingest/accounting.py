"""What a read did with every record: read = parsed + skipped, always.

A *record* is one non-blank line of a JSON-lines file, one element of a JSON document (a span of an OTLP
document, an item of a ``data`` list), or one CSV row. An *input* that gives no record at all (a missing
path, an empty or unreadable file, a FIFO or a dangling symlink in a log directory, a second name of a file
already read, a symlink cycle) is not a record: it is counted among the inputs skipped, with its reason, on
the same line. A parsed record gives one usage row or more; rows that share a record_id collapse to the last
one (``duplicates``).

Skip reasons in :data:`INFORMATIONAL` are normal content of a log (a streaming chunk before the one that
carries usage, a user line of a transcript); every other reason is bad input, and ``--strict`` stops on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INFORMATIONAL = frozenset({"no_usage", "synthetic", "aggregate_span"})


@dataclass
class Reason:
    count: int
    first: str  # file:line of the first record skipped for this reason
    detail: str = ""


@dataclass
class Accounting:
    records: int = 0
    parsed: int = 0
    skipped: int = 0
    rows: int = 0  # usage rows produced before duplicates collapse
    duplicates: int = 0
    unpriced: int = 0
    files: int = 0
    reasons: dict[str, Reason] = field(default_factory=dict)
    inputs: dict[str, Reason] = field(default_factory=dict)  # inputs that gave no record, by reason

    def skip(self, reason: str, where: str, detail: str = "") -> None:
        self.records += 1
        self.skipped += 1
        _count(self.reasons, reason, where, detail)

    def skip_input(self, reason: str, where: str, detail: str = "") -> None:
        """An input (a path named or found) that gave no record: not a record, never in records read."""
        _count(self.inputs, reason, where, detail)

    @property
    def inputs_skipped(self) -> int:
        return sum(r.count for r in self.inputs.values())

    def merge(self, other: Accounting) -> None:
        """Add ``other`` (a later part of the same read): its first locations count only for new reasons."""
        for name in ("records", "parsed", "skipped", "rows", "duplicates", "unpriced", "files"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine_, theirs in ((self.reasons, other.reasons), (self.inputs, other.inputs)):
            for reason, entry in theirs.items():
                mine = mine_.get(reason)
                if mine is None:
                    mine_[reason] = Reason(entry.count, entry.first, entry.detail)
                else:
                    mine.count += entry.count

    @property
    def balanced(self) -> bool:
        return self.records == self.parsed + self.skipped

    def problems(self) -> dict[str, Reason]:
        return {**{k: v for k, v in self.reasons.items() if k not in INFORMATIONAL}, **self.inputs}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the five counts, then the skip reasons with their first location."""
        return {
            "records": self.records,
            "parsed": self.parsed,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "unpriced": self.unpriced,
            "rows": self.rows - self.duplicates,
            "skipped_by_reason": {
                name: {"count": r.count, "first": r.first, "detail": r.detail}
                for name, r in sorted(self.reasons.items())
            },
            "inputs_skipped": {
                name: {"count": r.count, "first": r.first, "detail": r.detail}
                for name, r in sorted(self.inputs.items())
            },
        }

    def line(self) -> str:
        """One line for stderr, e.g. ``usage: 120 records read = 117 parsed + 3 skipped (...)``."""
        text = f"usage: {self.records} records read = {self.parsed} parsed + {self.skipped} skipped"
        if self.reasons:
            text += " [" + _reasons(self.reasons) + "]"
        if self.inputs:
            text += f"; {self.inputs_skipped} input(s) skipped [{_reasons(self.inputs)}]"
        text += f"; {self.duplicates} duplicates collapsed; {self.unpriced} unpriced"
        return text


def _count(reasons: dict[str, Reason], reason: str, where: str, detail: str) -> None:
    entry = reasons.get(reason)
    if entry is None:
        reasons[reason] = Reason(1, where, detail)
    else:
        entry.count += 1


def _reasons(reasons: dict[str, Reason]) -> str:
    return "; ".join(
        f"{name} {r.count} (first {r.first}{': ' + r.detail if r.detail else ''})"
        for name, r in sorted(reasons.items(), key=lambda kv: (-kv[1].count, kv[0]))
    )
