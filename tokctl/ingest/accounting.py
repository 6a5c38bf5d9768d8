"""What a read did with every record: read = parsed + skipped, always.

A *record* is one non-blank line of a JSON-lines file, one element of a JSON document (a span of an OTLP
document, an item of a ``data`` list), or one CSV row. A path that cannot be read at all (missing, empty,
unreadable) counts as one skipped record so that it shows in the same line. A parsed record gives one usage
row or more; rows that share a record_id collapse to the last one (``duplicates``).

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

    def skip(self, reason: str, where: str, detail: str = "") -> None:
        self.records += 1
        self.skipped += 1
        entry = self.reasons.get(reason)
        if entry is None:
            self.reasons[reason] = Reason(1, where, detail)
        else:
            entry.count += 1

    def merge(self, other: Accounting) -> None:
        """Add ``other`` (a later part of the same read): its first locations count only for new reasons."""
        for name in ("records", "parsed", "skipped", "rows", "duplicates", "unpriced", "files"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, entry in other.reasons.items():
            mine = self.reasons.get(reason)
            if mine is None:
                self.reasons[reason] = Reason(entry.count, entry.first, entry.detail)
            else:
                mine.count += entry.count

    @property
    def balanced(self) -> bool:
        return self.records == self.parsed + self.skipped

    def problems(self) -> dict[str, Reason]:
        return {k: v for k, v in self.reasons.items() if k not in INFORMATIONAL}

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
        }

    def line(self) -> str:
        """One line for stderr, e.g. ``usage: 120 records read = 117 parsed + 3 skipped (...)``."""
        text = f"usage: {self.records} records read = {self.parsed} parsed + {self.skipped} skipped"
        if self.reasons:
            parts = [
                f"{name} {r.count} (first {r.first}{': ' + r.detail if r.detail else ''})"
                for name, r in sorted(self.reasons.items(), key=lambda kv: (-kv[1].count, kv[0]))
            ]
            text += " [" + "; ".join(parts) + "]"
        text += f"; {self.duplicates} duplicates collapsed; {self.unpriced} unpriced"
        return text
