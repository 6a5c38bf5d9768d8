"""Find log files and turn them into (line, value) records: JSON lines, JSON documents, CSV rows.

Paths may be files, directories (searched recursively for log-like files) or glob patterns. Files may be
plain, gzip or zstd (told apart by their first bytes, not their names). A file is read as:

* CSV when its name ends in ``.csv`` or ``.tsv`` (before any ``.gz``/``.zst``);
* one JSON document when it ends in ``.json`` (a JSON-lines file named ``.json`` is recognised too), or
  when its first record spans several lines;
* JSON lines otherwise. Server-sent-event framing is understood: ``data: {...}`` lines are records,
  ``event:``/``id:`` lines and ``data: [DONE]`` are not.

A bad record never stops the file: it comes out as a :class:`Bad` value with its reason, and the caller
counts it. Lines longer than :data:`MAX_LINE_BYTES` are drained without being held in memory.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from orjson import loads as _fast_loads

MAX_LINE_BYTES = 512 * 1024 * 1024
LOG_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".log", ".txt", ".sse"})
COMPRESSION_SUFFIXES = frozenset({".gz", ".zst", ".zstd"})
_GLOB = re.compile(r"[*?[]")
_INT = re.compile(r"-?\d{1,18}")


@dataclass(frozen=True)
class Bad:
    """A record that could not be read; ``reason`` is its accounting bucket."""

    reason: str
    detail: str = ""


Found = tuple[str, "Path | None", "tuple[str, str] | None"]
"""(display name, path to read or None, (reason, detail) when the input is not read)."""

_MISSING = "no such file, no glob match, or no log file in the directory"
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


def expand(paths: Any) -> Iterator[Found]:
    """Every input to read, once: a file met under several names (relative and absolute, ``./``, a symlink
    beside it, a glob through a symlink loop) is read under the first and reported as ``same_file`` after.
    Files are known by (device, inode). In a directory, only regular files are opened: a FIFO, socket or device
    (which could block the read forever), a dangling symlink and a symlink back into the walk are reported with
    their reason. A path the user names is opened whatever it is (``<(zcat log.gz)`` is a FIFO)."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    seen: dict[tuple[int, int], str] = {}
    for given in paths:
        text = os.fsdecode(given) if isinstance(given, bytes) else os.fspath(given)
        if _GLOB.search(text) and not os.path.lexists(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                yield text, None, ("missing_file", _MISSING)
            for match in matches:
                yield from _expand_one(match, seen, named=False)
        else:
            yield from _expand_one(text, seen, named=True)


def _expand_one(text: str, seen: dict[tuple[int, int], str], named: bool) -> Iterator[Found]:
    path = Path(text)
    try:
        info = os.stat(path)
    except OSError as exc:
        yield text, None, _not_found(path, exc)
        return
    if stat.S_ISDIR(info.st_mode):
        found = False
        for display, child, child_info in sorted(_walk(path), key=lambda item: item[0]):
            item = _once(display, child, child_info, seen) if isinstance(child_info, os.stat_result) else child_info
            found = found or item[1] is not None
            yield item
        if not found:
            yield text, None, ("missing_file", _MISSING)  # a directory without logs is reported like a missing file
        return
    if not named and not stat.S_ISREG(info.st_mode):
        yield text, None, ("not_a_regular_file", f"{_KINDS.get(stat.S_IFMT(info.st_mode), 'not a file')}, never opened")
        return
    yield _once(text, path, info, seen)


def _once(text: str, path: Path, info: os.stat_result, seen: dict[tuple[int, int], str]) -> Found:
    identity = (info.st_dev, info.st_ino)
    first = seen.get(identity)
    if first is not None:
        return text, None, ("same_file", f"the same file as {first}, read once")
    seen[identity] = text
    return text, path, None


def _not_found(path: Path, exc: OSError) -> tuple[str, str]:
    import errno

    if exc.errno == errno.ELOOP:
        return "symlink_cycle", "a symlink that leads back to itself"
    if path.is_symlink() and isinstance(exc, FileNotFoundError):
        return "dangling_symlink", f"a symlink to {os.readlink(path)}, which does not exist"
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return "missing_file", _MISSING
    return "unreadable", exc.strerror or type(exc).__name__


def _walk(root: Path) -> Iterator[tuple[str, Path, Any]]:
    """(display, path, stat result or the Found that reports it) for the log files under ``root``, following
    symlinks to directories but never into a directory twice (a symlink back up the tree is a cycle)."""
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            info = os.stat(directory)
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield str(directory), directory, (str(directory), None, _not_found(directory, exc))
            continue
        if (info.st_dev, info.st_ino) in visited:
            cycle = ("symlink_cycle", "a symlink to a directory already read, not read again")
            yield str(directory), directory, (str(directory), None, cycle)
            continue
        visited.add((info.st_dev, info.st_ino))
        below = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = Path(entry.path)
            try:
                child_info = os.stat(child)
            except OSError as exc:
                if _log_suffix(child) in LOG_SUFFIXES:
                    yield str(child), child, (str(child), None, _not_found(child, exc))
                continue
            if stat.S_ISDIR(child_info.st_mode):
                below.append(child)
            elif _log_suffix(child) in LOG_SUFFIXES:
                if stat.S_ISREG(child_info.st_mode):
                    yield str(child), child, child_info
                else:
                    kind = _KINDS.get(stat.S_IFMT(child_info.st_mode), "not a file")
                    skip = ("not_a_regular_file", f"{kind} in a log directory, never opened")
                    yield str(child), child, (str(child), None, skip)
        stack.extend(reversed(below))


def _log_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def open_stream(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(decompressed stream, raw file); the raw file's position tells the progress."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    head = raw.peek(4)[:4]
    if head[:2] == b"\x1f\x8b":
        return io.BufferedReader(_GzipStream(raw), 1 << 20), raw
    if head == b"\x28\xb5\x2f\xfd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return io.BufferedReader(reader, 1 << 20), raw  # type: ignore[arg-type]
    return raw, raw


def _as_utf8(stream: IO[bytes]) -> IO[bytes]:
    """The stream itself when it is UTF-8, else its text re-encoded as UTF-8 (decompression errors surface
    here, inside the read, where they are counted)."""
    peek = getattr(stream, "peek", None)
    encoding = wide_encoding(peek(4)[:4]) if peek is not None else None
    return io.BufferedReader(_Utf8Stream(stream, encoding), 1 << 20) if encoding else stream


def wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32 told by a byte-order mark, or UTF-16 by the zero bytes of ASCII text (a JSON log starts
    with ``{``, ``[`` or a letter); None for UTF-8. PowerShell's ``>`` writes UTF-16 with a BOM."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if len(head) == 4 and head[0] and not head[1] and head[2] and not head[3]:
        return "utf-16-le"
    if len(head) == 4 and not head[0] and head[1] and not head[2] and head[3]:
        return "utf-16-be"
    return None


class _Utf8Stream(io.RawIOBase):
    """A UTF-16 or UTF-32 stream handed out as UTF-8 (malformed units become U+FFFD)."""

    def __init__(self, stream: IO[bytes], encoding: str) -> None:
        import codecs

        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            chunk = self._stream.read(1 << 16)
            self._done = not chunk
            self._pending = self._decoder.decode(chunk, final=self._done).encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _GzipStream(io.RawIOBase):
    """gzip (several members allowed) as a stream that hands out every byte it could decompress before it
    reports a truncated file, so the records before the cut are still read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._pending = b""
        self._truncated = False
        self._start_member()

    def _start_member(self) -> None:
        import zlib

        self._inflate = zlib.decompressobj(wbits=31)
        self._member_started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._truncated:
                raise EOFError("compressed file ended before the end-of-stream marker was reached")
            chunk = self._raw.read(1 << 16)
            if not chunk:
                if not self._member_started:
                    return 0
                self._truncated = True
                continue
            self._feed(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _feed(self, chunk: bytes) -> None:
        while chunk:
            self._member_started = True
            self._pending += self._inflate.decompress(chunk)
            if not self._inflate.eof:
                return
            chunk = self._inflate.unused_data  # the next member, if any
            self._start_member()


def records(stream: IO[bytes], path: Path) -> Iterator[tuple[int, Any]]:
    """(line or index, parsed value or :class:`Bad`) for every record of one file. A JSON document that
    is one object comes as line 0: its items (spans, a ``data`` page) are then numbered from 1."""
    stream = _as_utf8(stream)
    kind = _log_suffix(path)
    if kind in (".csv", ".tsv"):
        yield from _csv_records(stream, "\t" if kind == ".tsv" else ",")
    elif kind == ".json":
        yield from _document_records(stream.read(), lines_on_failure=False)
    elif _looks_like_document(stream):
        # A first line that is not JSON on its own: a pretty-printed document, or a JSON-lines file whose
        # first line is broken; if the whole fails as one document, it is read line by line.
        yield from _document_records(stream.read(), lines_on_failure=True)
    else:
        yield from json_lines(stream)


def is_plain_json_lines(path: Path) -> bool:
    """True for an uncompressed file read as JSON lines (the only kind cut into ranges for workers)."""
    if _log_suffix(path) in (".csv", ".tsv", ".json"):
        return False
    with open(path, "rb") as fh:
        head = fh.peek(4)[:4]
        if head[:2] == b"\x1f\x8b" or head == b"\x28\xb5\x2f\xfd" or wide_encoding(head) is not None:
            return False
        return not _looks_like_document(fh)


def _looks_like_document(stream: IO[bytes]) -> bool:
    """True when the first record is a JSON array or an object spread over several lines."""
    peek = getattr(stream, "peek", None)
    head = peek(1 << 16) if peek else b""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"[":
        return True
    if stripped[:1] != b"{":
        return False
    first, newline, _ = stripped.partition(b"\n")
    if not newline:
        return False
    try:
        json.loads(first)
    except ValueError:
        return True
    return False


def _loads(data: bytes) -> Any:
    """orjson (3-4x faster on log records), falling back to json for what orjson refuses but json reads
    (integers beyond 64 bits, NaN, lone surrogates: those become U+FFFD, which Arrow can store)."""
    try:
        return _fast_loads(data)
    except ValueError:
        return _without_surrogates(json.loads(data))


def _without_surrogates(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if kind is dict:
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if kind is list:
        return [_without_surrogates(item) for item in value]
    return value


def json_lines(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    readline = stream.readline
    loads = _loads
    number = 0
    while True:
        raw = readline(MAX_LINE_BYTES)
        if not raw:
            return
        number += 1
        if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:
                rest = readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, Bad("line_too_long", f"longer than {MAX_LINE_BYTES} bytes")
            continue
        line = raw.strip()
        if not line:
            continue
        first = line[0]
        if first != 123 and first != 91:  # not '{' or '['
            unframed = _unframe(line, number)
            if unframed is None:
                continue
            if unframed[:1] not in (b"{", b"["):
                yield number, Bad("not_json", "the line is not JSON")
                continue
            line = unframed
        try:
            yield number, loads(line)
        except (ValueError, RecursionError):
            yield number, Bad("bad_json", "truncated or invalid JSON")


def _unframe(line: bytes, number: int) -> bytes | None:
    """The JSON inside an SSE ``data:`` line; None for framing that carries no record."""
    if number == 1 and line.startswith(b"\xef\xbb\xbf"):
        return line[3:].strip()
    if line.startswith(b"data:"):
        data = line[5:].strip()
        return None if not data or data == b"[DONE]" else data
    if line.startswith((b"event:", b"id:", b"retry:", b":")):
        return None
    return line


def _document_records(data: bytes, lines_on_failure: bool) -> Iterator[tuple[int, Any]]:
    if not data.strip():
        return
    try:
        value = _loads(data)
    except RecursionError:
        yield 1, Bad("bad_json", "nested too deeply")
        return
    except ValueError as exc:
        if lines_on_failure or (isinstance(exc, json.JSONDecodeError) and exc.msg == "Extra data"):
            yield from json_lines(io.BytesIO(data))  # JSON lines in a file named .json
            return
        if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"[":
            yield from _array_items(data)  # a cut-short array: the items before the cut are still records
            return
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
        yield line, Bad("bad_json", "truncated or invalid JSON document")
        return
    if isinstance(value, list):
        yield from enumerate(value, start=1)
    else:
        yield 0, value  # line 0: the whole document; the items of a container are numbered from 1


def _array_items(data: bytes) -> Iterator[tuple[int, Any]]:
    """The items of a JSON array one by one, numbered from 1, until the first that does not parse."""
    text = data.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    number = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos < len(text) and text[pos] == "]":
            return
        number += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            yield number, Bad("bad_json", "the JSON array is cut short or broken from this item on")
            return
        yield number, _without_surrogates(item)


def _csv_records(stream: IO[bytes], delimiter: str) -> Iterator[tuple[int, Any]]:
    csv.field_size_limit(1 << 30)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip() for h in header]
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield reader.line_num, Bad("csv_width", f"{len(row)} cells under {len(header)} columns")
                continue
            yield reader.line_num, dict(zip(header, map(csv_cell, row), strict=True))
    except csv.Error as exc:
        yield reader.line_num, Bad("bad_csv", str(exc))


def csv_cell(cell: str) -> Any:
    """CSV text as the value a JSON log would have held: null, int, nested JSON, or text."""
    if cell == "":
        return None
    if _INT.fullmatch(cell):
        return int(cell)
    first = cell[0]
    if first == "{" or first == "[":
        try:
            return _without_surrogates(json.loads(cell))
        except (ValueError, RecursionError):
            return cell
    return cell
