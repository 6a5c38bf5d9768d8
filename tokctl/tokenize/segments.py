"""Splitting a list of files into two halves of about equal size for two processes to count.

A file that straddles the middle is cut in two byte ranges at a newline that an ASCII letter follows: both
sides of such a cut are whole UTF-8 characters (so decoding, and the count of invalid bytes, add up), and
o200k_base's and cl100k_base's pre-tokenizers never join a newline to a following letter (so the token counts
add up). Only UTF-8 files are cut; any other file goes whole to one side.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass

from tokctl.tokenize import textio

# How far around the middle to look for a cut point before giving up on cutting that file.
SEARCH_BYTES = 1 << 20
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


def find_cut(path: str, near: int, size: int) -> int | None:
    """A byte offset close to ``near`` right after a newline that an ASCII letter follows, in a UTF-8 file."""
    try:
        with open(path, "rb") as stream:
            encoding, _bom, reason = textio.detect_encoding(stream.read(textio.BLOCK_BYTES))
            if reason is not None or encoding != "utf-8":
                return None
            start = max(1, near - SEARCH_BYTES // 2)
            stream.seek(start)
            window = stream.read(SEARCH_BYTES)
    except OSError:
        return None
    best: int | None = None
    for match in _CUT.finditer(window):
        offset = start + match.end()
        if 0 < offset < size and (best is None or abs(offset - near) < abs(best - near)):
            best = offset
    return best


def halves(paths: list[str], sizes: list[int]) -> tuple[list[Segment], list[Segment]] | None:
    """(first half, second half) of the inputs by bytes, or None when no split leaves work on both sides."""
    total = sum(sizes)
    middle = total // 2
    first: list[Segment] = []
    second: list[Segment] = []
    done = 0
    for index, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        if done >= middle or second:
            second.append(Segment(index, path))
        elif done + size <= middle:
            first.append(Segment(index, path))
        else:
            cut = find_cut(path, middle - done, size)
            if cut is not None:
                first.append(Segment(index, path, 0, cut))
                second.append(Segment(index, path, cut, None))
            elif middle - done > done + size - middle:
                first.append(Segment(index, path))
            else:
                second.append(Segment(index, path))
        done += size
    if not first or not second:
        return None
    return first, second
