"""Splitting a list of files into pieces of about equal size for two processes to share.

A file larger than a piece is cut into byte ranges, each cut right after a newline that an ASCII letter follows:
both sides of such a cut are whole UTF-8 characters (so decoding, and the count of invalid bytes, add up), and
o200k_base's and cl100k_base's pre-tokenizers never join a newline to a following letter (so the token counts
add up). Only UTF-8 files are cut; any other file stays whole. Small files are grouped into one piece.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass

from tokctl.tokenize import textio

# The pieces are claimed one at a time by whichever process is free; this many keeps both busy to the end.
PIECES = 48
MIN_PIECE_BYTES = 256 << 10
# How far past the wanted offset to look for a cut point before giving up on cutting there.
SEARCH_BYTES = 256 << 10
_CUT = re.compile(rb"\n(?=[A-Za-z])")


@dataclass(frozen=True)
class Segment:
    """Bytes [start, end) of the ``index``-th input; end None means to the end of the file."""

    index: int
    path: str
    start: int = 0
    end: int | None = None


def file_sizes(paths: list[str]) -> list[int] | None:
    """Sizes of regular files, or None when any input is not one (stdin, a pipe, a vanished file)."""
    sizes = []
    for path in paths:
        if path == "-":
            return None
        try:
            info = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        sizes.append(info.st_size)
    return sizes


def cuts(path: str, size: int, step: int) -> list[int]:
    """Byte offsets about ``step`` apart, each right after a newline that an ASCII letter follows; none unless
    the file is UTF-8 (a BOM'd one included)."""
    found: list[int] = []
    try:
        with open(path, "rb") as stream:
            encoding, _bom, reason = textio.detect_encoding(stream.read(textio.BLOCK_BYTES))
            if reason is not None or encoding != "utf-8":
                return []
            wanted = step
            while wanted < size - step // 2:
                stream.seek(wanted)
                window = stream.read(SEARCH_BYTES)
                match = _CUT.search(window)
                if match is None:
                    wanted += SEARCH_BYTES
                    continue
                offset = wanted + match.end()
                if offset >= size:
                    break
                found.append(offset)
                wanted = offset + step
    except OSError:
        return []
    return found


def pieces(paths: list[str], sizes: list[int], count: int = PIECES) -> list[list[Segment]]:
    """The inputs as about ``count`` pieces of similar size, in input order."""
    step = max(MIN_PIECE_BYTES, sum(sizes) // max(1, count))
    out: list[list[Segment]] = []
    group: list[Segment] = []
    group_bytes = 0
    for index, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        offsets = cuts(path, size, step) if size > step * 3 // 2 else []
        if not offsets:
            group.append(Segment(index, path))
            group_bytes += size
            if group_bytes >= step:
                out.append(group)
                group, group_bytes = [], 0
            continue
        if group:
            out.append(group)
            group, group_bytes = [], 0
        starts = [0, *offsets]
        ends: list[int | None] = [*offsets, None]
        out.extend([Segment(index, path, start, end)] for start, end in zip(starts, ends, strict=True))
    if group:
        out.append(group)
    return out
