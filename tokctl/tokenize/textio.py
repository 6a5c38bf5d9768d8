"""Reading text to count: path expansion, decoding, binary detection, and exact chunking.

Large files are read in blocks and cut into chunks only where every supported pre-tokenizer splits too (after
a newline followed by a character that is neither a space nor a slash), so the sum of the chunks' counts equals
the whole text's count exactly. Memory stays bounded by the chunk size, whatever the file size.
"""

from __future__ import annotations

import codecs
import fnmatch
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from tokctl.errors import InputNotFoundError

BLOCK_BYTES = 1 << 20
CHUNK_CHARS = 1 << 20
# Past this, a chunk with no safe cut point is cut anyway and the count is marked as such.
HARD_LIMIT_CHARS = 64 << 20
VCS_DIRS = {".git", ".hg", ".svn", ".bzr", "_darcs", "CVS"}

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Skip:
    path: str
    reason: str


@dataclass
class Chunk:
    text: str
    continues_line: bool  # True when the chunk starts right after a newline cut inside the same file
    forced: bool = False  # True when no safe cut point existed within HARD_LIMIT_CHARS


@dataclass
class DecodeStats:
    invalid_bytes: int = 0
    encoding: str = "utf-8"


def expand_paths(
    paths: list[str], include: list[str] | None = None, exclude: list[str] | None = None
) -> Iterator[str | Skip]:
    """Files to count, in a stable order. ``-`` is stdin. Directories recurse, skipping hidden and VCS dirs."""
    for raw in paths:
        if raw == "-":
            yield "-"
            continue
        path = Path(raw)
        if path.is_dir():
            found = False
            for item in _walk(path, include or [], exclude or []):
                found = True
                yield item
            if not found:
                yield Skip(raw, "directory holds no file to count (hidden, VCS and excluded files are skipped)")
        elif path.exists():
            if exclude and _matches(path.name, str(path), exclude):
                continue
            yield str(path)
        else:
            raise InputNotFoundError(f"no such file or directory: {raw}", fix="check the path")


def _matches(name: str, rel: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def _walk(root: Path, include: list[str], exclude: list[str]) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".")
            and d not in VCS_DIRS
            and not _matches(d, os.path.relpath(os.path.join(dirpath, d), root), exclude)
        )
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            if include and not _matches(name, rel, include):
                continue
            if exclude and _matches(name, rel, exclude):
                continue
            yield os.path.join(dirpath, name)


def detect_encoding(head: bytes) -> tuple[str | None, int, str | None]:
    """(encoding, BOM length, reason to skip)."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom), None
    if b"\x00" in head[:8192]:
        return None, 0, "binary file (NUL bytes); UTF-16/32 text needs a byte-order mark"
    return "utf-8", 0, None


def open_input(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    return open(path, "rb")


def read_text_blocks(stream: Readable, stats: DecodeStats, *, encoding: str | None = None) -> Iterator[str] | Skip:
    """Decoded text blocks of a byte stream, or a Skip when it is not text.

    With ``encoding`` the stream is known text in that encoding, read from a whole character on (the rest of a
    file whose start was checked already): no detection, no byte-order mark.
    """
    head = stream.read(BLOCK_BYTES)
    if encoding is None:
        encoding, bom, reason = detect_encoding(head)
        if reason is not None or encoding is None:
            return Skip("", reason or "not text")
    else:
        bom = 0
    stats.encoding = encoding

    def handler(exc: UnicodeError) -> tuple[str, int]:
        assert isinstance(exc, UnicodeDecodeError)
        stats.invalid_bytes += exc.end - exc.start
        return "\ufffd", exc.end

    error_name = f"tokctl-count-{id(stats)}"
    codecs.register_error(error_name, handler)
    decoder = codecs.getincrementaldecoder(encoding)(errors=error_name)

    def blocks() -> Iterator[str]:
        data = head[bom:]
        while data:
            text = decoder.decode(data)
            if text:
                yield text
            data = stream.read(BLOCK_BYTES)
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    return blocks()


def _safe_cut(text: str, allow_space_cut: bool) -> int:
    """The largest index <= len(text) - 1 after which a chunk may end, or -1."""
    pos = len(text) - 1
    while True:
        pos = text.rfind("\n", 0, pos)
        if pos < 0:
            break
        if not text[pos + 1].isspace() and text[pos + 1] != "/":
            return pos + 1
    if allow_space_cut:
        pos = len(text) - 1
        while True:
            pos = text.rfind(" ", 1, pos)
            if pos < 1:
                break
            if text[pos - 1].isalpha() and text[pos + 1].isalpha():
                return pos
    return -1


def chunk_text(
    blocks: Iterator[str],
    *,
    allow_space_cut: bool = True,
    chunk_chars: int | None = None,
    hard_limit: int | None = None,
) -> Iterator[Chunk]:
    """Cut a stream of text blocks into chunks whose counts add up to the count of the whole text.

    ``allow_space_cut`` permits a cut before a single space between two letters when a huge line has no
    newline; SentencePiece cannot take it (its dummy prefix), so its callers pass False.
    """
    chunk_chars = chunk_chars or CHUNK_CHARS
    hard_limit = hard_limit or HARD_LIMIT_CHARS
    pending = ""
    continues = False
    for block in blocks:
        pending += block
        while len(pending) > chunk_chars:
            cut = _safe_cut(pending[: chunk_chars + 1], allow_space_cut)
            if cut <= 0:
                cut = _next_safe_cut(pending, chunk_chars, allow_space_cut)
            forced = False
            if cut <= 0:
                if len(pending) < hard_limit:
                    break  # read on: a safe cut point may come
                cut, forced = chunk_chars, True
            yield Chunk(pending[:cut], continues, forced)
            continues = pending[cut - 1] == "\n" and not forced
            pending = pending[cut:]
    if pending or not continues:
        yield Chunk(pending, continues)


# Not before "/": o200k's punctuation pieces take newlines and slashes after them (" ?[^\s\p{L}\p{N}]+[\r\n/]*"),
# so "x;\n//c" is one piece ";\n//" there.
_NEWLINE_CUT = re.compile(r"\n(?=[^\s/])")
_SPACE_CUT = re.compile(r"(?<=[^\W\d_]) (?=[^\W\d_])")


def _next_safe_cut(text: str, start: int, allow_space_cut: bool) -> int:
    match = _NEWLINE_CUT.search(text, start)
    if match:
        return match.end()
    if allow_space_cut:
        match = _SPACE_CUT.search(text, start)
        if match:
            return match.start()
    return -1
