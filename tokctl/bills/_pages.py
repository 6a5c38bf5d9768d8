"""Paged JSON exports (OpenAI and Anthropic admin APIs): documents with line numbers, buckets without overlap.

A file may hold one page, a JSON array of pages, JSON Lines, or pages pasted one after another. The same
period may arrive twice (a page saved twice, or two exports that overlap): identical buckets are skipped and
counted; buckets that overlap with different results are an error, never counted twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tokctl.bills._common import Collector
from tokctl.errors import InputFormatError

_DECODER = json.JSONDecoder(parse_float=Decimal)
_SPACE = " \t\r\n\ufeff"


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _decode(text: str, pos: int, path: str) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise InputFormatError(
            f"invalid JSON: {exc.msg}",
            where=f"{path}:{exc.lineno}",
            fix="the file must hold JSON pages as the API returned them",
        ) from None
    except (RecursionError, ValueError) as exc:  # nesting past the parser's depth; a number of 4300+ digits
        why = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long to read"
        raise InputFormatError(
            f"invalid JSON: {why}",
            where=f"{path}:{text.count(chr(10), 0, pos) + 1}",
            fix="the file must hold JSON pages as the API returned them",
        ) from None


def documents(text: str, path: str) -> Iterator[tuple[int, Any]]:
    """Each top-level JSON value (array elements one by one) with the line it starts on."""
    pos = _skip_space(text, 0)
    while pos < len(text):
        if text[pos] == "[":
            pos = _skip_space(text, pos + 1)
            while pos < len(text) and text[pos] != "]":
                value, end = _decode(text, pos, path)
                yield text.count("\n", 0, pos) + 1, value
                pos = _skip_space(text, end)
                if pos < len(text) and text[pos] == ",":
                    pos = _skip_space(text, pos + 1)
            pos = _skip_space(text, pos + 1)
            continue
        value, end = _decode(text, pos, path)
        yield text.count("\n", 0, pos) + 1, value
        pos = _skip_space(text, end)


@dataclass(frozen=True)
class Bucket:
    start: dt.datetime
    end: dt.datetime
    results: list[Any]
    where: str  # file:line of the page


class BucketLedger:
    """Remembers every bucket read from every page of one export family; refuses double counting."""

    def __init__(self) -> None:
        self._seen: dict[tuple[dt.datetime, dt.datetime], Bucket] = {}

    def admit(self, bucket: Bucket, collector: Collector, line: int) -> bool:
        """True when the bucket is new; False (a counted skip) when the same period was already read."""
        known = self._seen.get((bucket.start, bucket.end))
        if known is not None:
            if _same(known.results, bucket.results) or not bucket.results:
                collector.skip(
                    line, "duplicate page", f"the bucket {bucket.start.isoformat()} was already read from {known.where}"
                )
                return False
            if not known.results:
                self._seen[(bucket.start, bucket.end)] = bucket
                return True
            raise _overlap(bucket, known)
        for other in self._seen.values():
            if other.start < bucket.end and bucket.start < other.end:
                raise _overlap(bucket, other)
        self._seen[(bucket.start, bucket.end)] = bucket
        return True


def _same(a: list[Any], b: list[Any]) -> bool:
    def key(results: list[Any]) -> list[str]:
        return sorted(json.dumps(r, sort_keys=True, default=str) for r in results)

    return key(a) == key(b)


def _overlap(bucket: Bucket, other: Bucket) -> InputFormatError:
    return InputFormatError(
        f"pages overlap: the bucket {bucket.start.isoformat()} to {bucket.end.isoformat()} overlaps "
        f"{other.start.isoformat()} to {other.end.isoformat()} from {other.where} with different results",
        where=bucket.where,
        fix="give each period once (one export per period, or the pages of one export); tokctl never adds them",
    )
