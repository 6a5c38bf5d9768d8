"""Vendor bills and usage exports -> canonical charge lines (tokctl.schema.charge_schema, FOCUS-aligned).

One module per format; :func:`read_bill` detects the format of each file (overridable) and concatenates the
lines. A line that cannot be used is skipped and counted with its file:line (or, with ``strict``, stops the
read with a one-line error); a file that is not a bill at all, an unknown currency in a file-level setting, or
pages that overlap with different contents stop the read.

>>> bill = read_bill(["costs_2026_10.json"])          # doctest: +SKIP
>>> bill.lines.num_rows, bill.skipped                  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokctl.bills._common import TOKEN_CLASSES, FileRead, Skip, canonical_model, zone
from tokctl.bills._pages import BucketLedger, documents
from tokctl.errors import InputFormatError, InputNotFoundError, TokctlError, UnknownNameError

# canonical_model and zone are public: reconciliation names models and days the way bills do.
__all__ = ["FORMATS", "TOKEN_CLASSES", "BillRead", "Skip", "canonical_model", "read_bill", "zone"]

JSON_FORMATS = ("openai.costs", "openai.usage", "anthropic.cost_report", "anthropic.usage_report")
TABLE_FORMATS = ("focus", "aws.cur", "csv")
FORMATS = JSON_FORMATS + TABLE_FORMATS
_SUFFIXES = (".json", ".jsonl", ".csv", ".tsv", ".parquet", ".gz")


@dataclass
class BillRead:
    """Charge lines of every file read, the lines skipped (with file:line and why), and each file's format."""

    lines: Any  # pyarrow.Table with charge_schema()
    skipped: list[Skip] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)


def _expand(paths: Iterable[str | Path] | str | Path) -> list[Path]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    found: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
        elif path.is_file():
            found.append(path)
        elif any(ch in str(item) for ch in "*?["):
            found += sorted(p for p in Path().glob(str(item)) if p.is_file())
        else:
            raise InputNotFoundError(f"bill file {path} does not exist", fix="check the path given to --bill")
    if not found:
        raise InputNotFoundError("no bill files to read", fix="give --bill FILE (JSON, CSV or Parquet exports)")
    return found


def detect(path: Path) -> str:
    """The format of one bill file: a JSON export kind, ``focus``, ``aws.cur`` or a CSV mapping id."""
    from tokctl.bills import anthropic, aws_cur, focus, generic, openai
    from tokctl.bills._tabular import header, is_parquet

    if not is_parquet(path) and path.suffix != ".gz":
        with open(path, "rb") as fh:
            raw = fh.read(4096)
        if b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputFormatError(
                "binary data or UTF-16 text (NUL bytes), not a UTF-8 export",
                where=f"{path}:{raw[: raw.index(0)].count(10) + 1}",
                fix="save the export as UTF-8 CSV or JSON",
            )
        head = raw.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
        if head[:1] in ("{", "["):
            text = path.read_text(encoding="utf-8")
            first = next((doc for _, doc in documents(text, str(path))), None)
            kind = openai.sniff(first) or anthropic.sniff(first)
            if kind is None:
                raise InputFormatError(
                    "JSON that is not an OpenAI or Anthropic usage/cost export",
                    where=f"{path}:1",
                    fix=f"give --bill-format (one of {', '.join(FORMATS)})",
                )
            return kind
    names = header(path)
    if focus.sniff(names):
        return "focus"
    if aws_cur.sniff(names):
        return "aws.cur"
    rules = generic.detect(names)
    if rules is None:
        raise InputFormatError(
            f"no bill format fits the columns {', '.join(names[:8])}",
            where=f"{path}:1",
            fix="give --bill-format, or --mapping FILE.toml naming the columns (docs/bills.md)",
        )
    return rules.id


def read_file(
    path: Path, fmt: str, *, strict: bool, mapping: Any, ledgers: dict[str, BucketLedger], tz: str | None = None
) -> FileRead:
    from tokctl.bills import anthropic, aws_cur, focus, generic, openai
    from tokctl.bills.rules import load_rules

    if fmt in ("openai.costs", "openai.usage"):
        return openai.read(path, strict=strict, ledger=ledgers.setdefault(fmt, BucketLedger()), kind=fmt)
    if fmt in ("anthropic.cost_report", "anthropic.usage_report"):
        return anthropic.read(path, strict=strict, ledger=ledgers.setdefault(fmt, BucketLedger()), kind=fmt)
    if fmt == "focus":
        return focus.read(path, strict=strict)
    if fmt == "aws.cur":
        return aws_cur.read(path, strict=strict)
    if fmt != "csv" and mapping is None:
        mapping = load_rules(fmt)
    return generic.read(path, strict=strict, mapping=mapping, tz=tz)


def _file_error(path: Path, bill_format: str | None, exc: Exception) -> TokctlError:
    """A file that cannot be read as a whole, as a one-line error; anything unforeseen stays a bug (exit 70)."""
    import gzip
    import zlib

    import pyarrow as pa

    if isinstance(exc, UnicodeDecodeError):
        return InputFormatError(
            f"not UTF-8 text ({_encoding_hint(path, exc)})",
            where=f"{path}:{_line_of_byte(path, exc)}",
            fix="save the export as UTF-8 (a GBK console export: iconv -f GB18030 -t UTF-8)",
        )
    if isinstance(exc, json.JSONDecodeError):
        return InputFormatError(
            f"invalid JSON: {exc.msg}", where=f"{path}:{exc.lineno}", fix="check the file, or give --bill-format"
        )
    if isinstance(exc, EOFError | zlib.error | gzip.BadGzipFile):
        return InputFormatError(
            f"damaged or cut-short compressed file ({exc})", where=str(path), fix="download the export again"
        )
    if isinstance(exc, pa.ArrowException) and not isinstance(exc, MemoryError):
        return InputFormatError(
            f"not a readable Parquet file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
            where=str(path),
            fix="check the file, or export the bill again",
        )
    if isinstance(exc, OSError):
        return InputNotFoundError(f"cannot read {path}: {exc.strerror or exc}", fix="check the path")
    raise exc


def _encoding_hint(path: Path, exc: UnicodeDecodeError) -> str:
    import codecs

    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16 text"
    return f"{exc.reason} at byte {exc.start}" if exc.object[:2] == head[:2] else exc.reason


def _line_of_byte(path: Path, exc: UnicodeDecodeError) -> int:
    """The line of the first byte that is not UTF-8 (read again in blocks: only ever on this error path)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as found:
                return line + block.count(b"\n", 0, max(found.start, 0))
            line += block.count(b"\n")
    return line


def read_bill(
    paths: Iterable[str | Path] | str | Path,
    bill_format: str | None = None,
    *,
    mapping: str | Path | None = None,
    strict: bool = False,
    tz: str | None = None,
) -> BillRead:
    """Read bills and usage exports into canonical charge lines.

    ``bill_format``: one of FORMATS or a mapping id in tokenizers_registry/bill_rules (``alibaba``,
    ``volcengine``, ...); detected per file when None. ``mapping``: a mapping TOML (id or path) for CSV bills.
    ``tz``: the zone a CSV bill's bare dates are days in, instead of the mapping's (API exports carry UTC times).
    """
    import pyarrow as pa

    from tokctl.bills.rules import BillRules, known_rules, load_rules
    from tokctl.schema import charge_schema

    if bill_format is not None and bill_format not in FORMATS and bill_format not in known_rules():
        raise UnknownNameError(bill_format, [*FORMATS, *known_rules()], fix="see tokctl reconcile --help")
    rules: BillRules | None = load_rules(mapping) if mapping is not None else None
    ledgers: dict[str, BucketLedger] = {}
    result = BillRead(charge_schema().empty_table())
    tables = []
    for path in _expand(paths):
        try:
            fmt = bill_format or ("csv" if rules is not None else detect(path))
            read = read_file(path, fmt, strict=strict, mapping=rules, ledgers=ledgers, tz=tz)
        except TokctlError:
            raise
        except Exception as exc:
            raise _file_error(path, bill_format, exc) from None
        tables.append(read.table)
        result.skipped += read.skipped
        result.files.append((str(path), fmt))
    result.lines = pa.concat_tables(tables) if tables else result.lines
    return result
