"""Counting tokens in text, files, directories and stdin, for several models at once.

Each distinct exact tokenizer runs once over the content however many models share it; estimates reuse their
base tokenizer's count. Files stream through in chunks cut where the pre-tokenizers cut too, and batches of
chunks are counted on all cores. Large regular files whose tokenizers bpe_openai counts exactly (o200k_base,
cl100k_base) are cut into pieces that this process and one forked child share (tokctl.tokenize.forked): that
engine holds the GIL, so threads could not run two copies of it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tokctl.errors import UsageError
from tokctl.registry.tokenizers import Tokenizer, get_tokenizer
from tokctl.tokenize import forked, segments, textio
from tokctl.tokenize import stream as pipeline
from tokctl.tokenize.engines import SentencePieceEngine, TiktokenEngine, get_engine
from tokctl.tokenize.estimate import ScriptStats, estimate_basis, estimate_tokens

DEFAULT_TOKENIZER = "o200k_base"
BATCH_CHARS = 8 * textio.CHUNK_CHARS
# Below this many bytes one process counts: forking and loading bpe_openai cost ~0.06 s, two cores save ~0.03 s/MB.
FORK_AFTER_BYTES = 4 << 20


@dataclass(frozen=True)
class Target:
    """A model (or a bare tokenizer) to count for."""

    model: str | None
    provider: str | None
    tokenizer: Tokenizer

    @property
    def physical(self) -> str:
        """The exact tokenizer that actually runs."""
        return self.tokenizer.base if self.tokenizer.is_estimate and self.tokenizer.base else self.tokenizer.id


@dataclass
class Count:
    model: str | None
    provider: str | None
    tokenizer: str
    tokens: int
    accuracy: str  # exact | estimate
    error_band: Decimal | None = None
    basis: str | None = None
    calibration: dict[str, Any] | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "tokenizer": self.tokenizer,
            "tokens": self.tokens,
            "accuracy": self.accuracy,
        }
        if self.provider:
            out["provider"] = self.provider
        if self.accuracy == "estimate":
            out["error_band"] = self.error_band
            out["basis"] = self.basis
            if self.calibration:
                out["calibration"] = self.calibration
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Tally:
    """Additive statistics of one input; turned into Counts at the end."""

    bytes: int = 0
    chars: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    scripts: ScriptStats = field(default_factory=ScriptStats)
    forced_cuts: int = 0

    def merge(self, other: Tally) -> None:
        self.bytes += other.bytes
        self.chars += other.chars
        for key, value in other.tokens.items():
            self.tokens[key] = self.tokens.get(key, 0) + value
        self.scripts.merge(other.scripts)
        self.forced_cuts += other.forced_cuts


@dataclass
class FileCount:
    path: str
    bytes: int
    chars: int
    counts: list[Count]
    invalid_bytes: int = 0
    encoding: str = "utf-8"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "bytes": self.bytes,
            "chars": self.chars,
            "counts": [c.as_dict() for c in self.counts],
        }
        if self.invalid_bytes:
            out["invalid_bytes"] = self.invalid_bytes
        if self.encoding != "utf-8":
            out["encoding"] = self.encoding
        return out


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class CountReport:
    files: list[FileCount]
    totals: list[Count]
    skipped: list[Skipped]
    bytes: int
    chars: int

    def as_dict(self) -> dict[str, Any]:
        totals = [{**c.as_dict(), "chars": self.chars, "bytes": self.bytes} for c in self.totals]
        return {
            "files": [f.as_dict() for f in self.files],
            "totals": totals,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


def resolve_targets(
    models: Sequence[str] = (), tokenizers: Sequence[str] = (), provider: str | None = None
) -> list[Target]:
    """Models and tokenizers to count for; o200k_base when neither is given. Duplicates are dropped."""
    targets: list[Target] = []
    if models:
        # The price registry (all provider files) is read only when a model name needs resolving.
        from tokctl.registry.catalog import resolve_model
    for name in models:
        resolved = resolve_model(name, provider)
        targets.append(Target(name, resolved.platform.id, get_tokenizer(resolved.model.tokenizer)))
    for tid in tokenizers:
        targets.append(Target(None, None, get_tokenizer(tid)))
    if not targets:
        targets.append(Target(None, None, get_tokenizer(DEFAULT_TOKENIZER)))
    unique: dict[tuple[str | None, str | None, str], Target] = {}
    for t in targets:
        unique.setdefault((t.model, t.provider, t.tokenizer.id), t)
    return list(unique.values())


def finish_count(target: Target, tally: Tally) -> Count:
    """The Count of ``target`` from an input's tally (exact, or an estimate with its basis and error band)."""
    base_tokens = tally.tokens.get(target.physical, 0)
    note = (
        f"{tally.forced_cuts} forced chunk cut(s) in text with no line breaks; may differ by a few tokens"
        if tally.forced_cuts
        else None
    )
    tok = target.tokenizer
    if not tok.is_estimate:
        return Count(target.model, target.provider, tok.id, base_tokens, "exact", note=note)
    basis = estimate_basis(tok, tally.scripts)
    return Count(
        target.model,
        target.provider,
        tok.id,
        estimate_tokens(base_tokens, basis.factor),
        "estimate",
        basis.error_band,
        basis.basis,
        basis.calibration,
        note,
    )


def _workers() -> int:
    return max(1, os.cpu_count() or 1)


class TargetCounter:
    """Counts text for several targets at once, each physical tokenizer once (engines loaded here)."""

    def __init__(self, targets: list[Target]) -> None:
        self.targets = targets
        self.engines = {pid: get_engine(pid) for pid in dict.fromkeys(t.physical for t in targets)}
        self.needs_scripts = any(t.tokenizer.is_estimate for t in targets)
        self.allow_space_cut = not any(isinstance(e, SentencePieceEngine) for e in self.engines.values())
        # tiktoken releases the GIL per chunk: chunks can stream through a thread pool while this thread reads
        # on. HF and SentencePiece parallelize inside one call over a batch, so they get batches instead.
        self.per_chunk = all(isinstance(e, TiktokenEngine) for e in self.engines.values())

    def count_stream(self, items: Iterator[tuple[int, textio.Chunk]]) -> Iterator[tuple[int, Tally]]:
        """(input index, tally) of every chunk, counted on all cores; memory bounded by the chunks in flight."""
        if not self.per_chunk:
            for batch in _batches(items):
                yield from zip((i for i, _ in batch), self.count_batch([c for _, c in batch]), strict=True)
            return
        yield from pipeline.count_stream(
            items,
            lambda chunk: self.count_batch([chunk])[0],
            workers=_workers(),
            size=lambda chunk: len(chunk.text),
            make_fast=self._fast_for_stream,
        )

    def fork_counters(self) -> dict[str, Callable[[str], int]] | None:
        """bpe_openai counters for every tokenizer, when each has one (the forked path), else None.

        Built without tiktoken's CoreBPE: the forked path never needs it."""
        if not self.per_chunk:
            return None
        fast: dict[str, Callable[[str], int]] = {}
        for pid, engine in self.engines.items():
            counter = engine.fast_counter() if isinstance(engine, TiktokenEngine) else None
            if counter is None:
                return None
            fast[pid] = counter
        return fast

    def _fast_for_stream(self) -> Callable[[textio.Chunk], Tally] | None:
        """A counter for the feeding thread, with bpe_openai for the tokenizers it is verified for."""
        fast: dict[str, Callable[[str], int]] = {}
        for pid, engine in self.engines.items():
            counter = engine.fast_counter() if isinstance(engine, TiktokenEngine) else None
            if counter is not None:
                fast[pid] = counter
        if not fast:
            return None
        return lambda chunk: self.count_batch([chunk], fast)[0]

    def count_batch(
        self, chunks: list[textio.Chunk], fast: dict[str, Callable[[str], int]] | None = None
    ) -> list[Tally]:
        """Tallies of chunks; ``fast`` counters (bpe_openai, this thread only) replace their tokenizers' engines."""
        tallies = [Tally(chars=len(c.text), forced_cuts=int(c.forced)) for c in chunks]
        texts = [c.text for c in chunks]
        for pid, engine in self.engines.items():
            counter = fast.get(pid) if fast else None
            if counter is not None:
                counts = [counter(t) for t in texts]
            elif isinstance(engine, SentencePieceEngine):
                counts = self._count_sentencepiece(engine, chunks)
            else:
                counts = engine.count_many(texts)
            for tally, n in zip(tallies, counts, strict=True):
                tally.tokens[pid] = n
        if self.needs_scripts:
            for tally, text in zip(tallies, texts, strict=True):
                tally.scripts.add_text(text)
        return tallies

    @staticmethod
    def _count_sentencepiece(engine: SentencePieceEngine, chunks: list[textio.Chunk]) -> list[int]:
        # One call for the whole batch (sentencepiece spreads a call's texts over its threads; two calls, one
        # for first pieces and one for continuations, left a core idle on small batches).
        return engine.count_pieces([c.text for c in chunks], [c.continues_line for c in chunks])

    def chunk(self, blocks: Iterator[str]) -> Iterator[textio.Chunk]:
        """The text cut for these engines. SentencePiece gets smaller chunks: its batches spread over threads
        by text, and a 2.7M-character part in three 1M chunks kept one of two threads idle a third of the time."""
        size = None if self.allow_space_cut else max(1, textio.CHUNK_CHARS // 4)
        return textio.chunk_text(blocks, allow_space_cut=self.allow_space_cut, chunk_chars=size)


def _batches(items: Iterator[tuple[int, textio.Chunk]]) -> Iterator[list[tuple[int, textio.Chunk]]]:
    batch: list[tuple[int, textio.Chunk]] = []
    size = 0
    for item in items:
        batch.append(item)
        size += len(item[1].text)
        if size >= BATCH_CHARS or len(batch) >= 256:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def count_text(text: str, model: str | None = None, tokenizer: str | None = None, provider: str | None = None) -> Count:
    """Count one string for one model (or tokenizer; o200k_base when neither is given).

    >>> count_text("hello world", model="gpt-4o").tokens
    2
    """
    if model is not None and tokenizer is not None:
        raise UsageError("give a model or a tokenizer, not both")
    targets = resolve_targets([model] if model else [], [tokenizer] if tokenizer else [], provider)
    counter = TargetCounter(targets)
    tally = Tally()
    chunks = list(counter.chunk(iter([text])))
    for part in counter.count_batch(chunks):
        tally.merge(part)
    return finish_count(targets[0], tally)


def count_texts(texts: Sequence[str], target: Target) -> list[int]:
    """Counts of many short strings for one target (chat messages, log records)."""
    counter = TargetCounter([target])
    chunks = [textio.Chunk(t, False) for t in texts]
    return [finish_count(target, tally).tokens for tally in counter.count_batch(chunks)]


def count_paths(
    paths: Iterable[str],
    models: Sequence[str] = (),
    tokenizers: Sequence[str] = (),
    *,
    provider: str | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> CountReport:
    """Count files, directories (recursive) and ``-`` (stdin) for every model and tokenizer given."""
    targets = resolve_targets(models, tokenizers, provider)
    counter = TargetCounter(targets)
    expanded = list(textio.expand_paths(list(paths), include, exclude))
    split = _fork_plan(counter, expanded)
    if split is not None:
        return _count_forked(counter, targets, expanded, *split, progress=progress)
    inputs: list[str] = []
    skipped: list[Skipped] = []
    stats: dict[int, textio.DecodeStats] = {}
    raw_bytes: dict[int, int] = {}

    def chunks() -> Iterator[tuple[int, textio.Chunk]]:
        for item in expanded:
            if isinstance(item, textio.Skip):
                skipped.append(Skipped(item.path, item.reason))
                continue
            try:
                stream = textio.open_input(item)
            except OSError as exc:
                skipped.append(Skipped(item, f"cannot read: {exc.strerror or exc}"))
                continue
            index = len(inputs)
            decode = textio.DecodeStats()
            with stream if item != "-" else contextlib.nullcontext(stream):
                counting = _CountingStream(stream)
                try:
                    blocks = textio.read_text_blocks(counting, decode)
                    if isinstance(blocks, textio.Skip):
                        skipped.append(Skipped(item, blocks.reason))
                        continue
                    inputs.append(item)
                    stats[index] = decode
                    for chunk in counter.chunk(blocks):
                        yield index, chunk
                except OSError as exc:
                    skipped.append(Skipped(item, f"read failed: {exc.strerror or exc}"))
                    if len(inputs) > index:
                        inputs.pop()
                    continue
                raw_bytes[index] = counting.bytes_read
                if progress is not None:
                    progress(counting.bytes_read)

    tallies: dict[int, Tally] = {}
    for index, part in counter.count_stream(chunks()):
        tallies.setdefault(index, Tally()).merge(part)
    for index in range(len(inputs)):
        tallies.setdefault(index, Tally()).bytes = raw_bytes.get(index, 0)
    return _report(targets, inputs, tallies, stats, skipped)


def _report(
    targets: list[Target],
    inputs: list[str],
    tallies: dict[int, Tally],
    stats: dict[int, textio.DecodeStats],
    skipped: list[Skipped],
) -> CountReport:
    files = []
    total = Tally()
    for index, path in enumerate(inputs):
        tally = tallies.get(index, Tally())
        total.merge(tally)
        files.append(
            FileCount(
                path if path != "-" else "<stdin>",
                tally.bytes,
                tally.chars,
                [finish_count(t, tally) for t in targets],
                stats[index].invalid_bytes,
                stats[index].encoding,
            )
        )
    return CountReport(files, [finish_count(t, total) for t in targets], skipped, total.bytes, total.chars)


# ---- two processes for bpe_openai, which holds the GIL ----------------------------------------------------


def _fork_plan(
    counter: TargetCounter, expanded: list[str | textio.Skip]
) -> tuple[list[list[segments.Segment]], dict[str, Callable[[str], int]]] | None:
    """(pieces of the inputs, bpe_openai counters) when this process and a forked child should share the count."""
    if not counter.per_chunk or not forked.available():
        return None
    paths = [item for item in expanded if isinstance(item, str)]
    sizes = segments.file_sizes(paths)
    if sizes is None or sum(sizes) < FORK_AFTER_BYTES:
        return None
    fast = counter.fork_counters()
    if fast is None:
        return None
    pieces = segments.pieces(paths, sizes, min(segments.PIECES, forked.MAX_TASKS))
    if len(pieces) < 2 or len(pieces) > forked.MAX_TASKS or not forked.available():
        return None
    return pieces, fast


@dataclass
class _SegmentCount:
    tally: Tally | None  # None when the input was skipped
    decode: textio.DecodeStats
    skip_reason: str | None = None


def _segment_to_json(result: _SegmentCount) -> list[Any]:
    t = result.tally
    tally = None if t is None else [t.bytes, t.chars, t.tokens, [t.scripts.latin, t.scripts.han, t.scripts.other]]
    return [tally, t.forced_cuts if t else 0, result.decode.invalid_bytes, result.decode.encoding, result.skip_reason]


def _segment_from_json(data: list[Any]) -> _SegmentCount:
    """A segment's count from the child's JSON; raises on anything of the wrong shape."""
    tally_data, forced, invalid, encoding, reason = data
    tally = None
    if tally_data is not None:
        size, chars, tokens, (latin, han, other) = tally_data
        tally = Tally(
            _int(size),
            _int(chars),
            {str(k): _int(v) for k, v in tokens.items()},
            ScriptStats(_int(latin), _int(han), _int(other)),
            _int(forced),
        )
    if not isinstance(encoding, str) or not (reason is None or isinstance(reason, str)):
        raise TypeError("malformed segment count")
    return _SegmentCount(tally, textio.DecodeStats(_int(invalid), encoding), reason)


def _int(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise TypeError(f"not a count: {value!r}")
    return value


def _count_segments(
    counter: TargetCounter, fast: dict[str, Callable[[str], int]], parts: list[segments.Segment]
) -> list[_SegmentCount]:
    return [_count_segment(counter, fast, part) for part in parts]


def _count_segment(
    counter: TargetCounter, fast: dict[str, Callable[[str], int]], part: segments.Segment
) -> _SegmentCount:
    decode = textio.DecodeStats()
    try:
        stream = open(part.path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        return _SegmentCount(None, decode, f"cannot read: {exc.strerror or exc}")
    tally = Tally()
    with stream:
        try:
            if part.start:
                stream.seek(part.start)
            limit = None if part.end is None else part.end - part.start
            counting = _CountingStream(stream, limit)
            # A later segment starts on a whole character of a file whose start was found to be UTF-8.
            blocks = textio.read_text_blocks(counting, decode, encoding="utf-8" if part.start else None)
            if isinstance(blocks, textio.Skip):
                return _SegmentCount(None, decode, blocks.reason)
            for chunk in counter.chunk(blocks):
                tally.merge(counter.count_batch([chunk], fast)[0])
        except OSError as exc:
            return _SegmentCount(None, decode, f"read failed: {exc.strerror or exc}")
    tally.bytes = counting.bytes_read
    return _SegmentCount(tally, decode)


def _count_forked(
    counter: TargetCounter,
    targets: list[Target],
    expanded: list[str | textio.Skip],
    pieces: list[list[segments.Segment]],
    fast: dict[str, Callable[[str], int]],
    *,
    progress: Callable[[int], None] | None,
) -> CountReport:
    """Counts the pieces here and in a forked child, whichever is free; per input, its segments' counts add up."""
    counted = forked.run_shared(
        pieces,
        lambda piece: _count_segments(counter, fast, piece),
        lambda results: [_segment_to_json(r) for r in results],
        lambda data: [_segment_from_json(r) for r in data],
    )
    by_path: dict[int, list[_SegmentCount]] = {}
    for piece, results in zip(pieces, counted, strict=True):
        for part, result in zip(piece, results, strict=True):
            by_path.setdefault(part.index, []).append(result)
    inputs: list[str] = []
    tallies: dict[int, Tally] = {}
    stats: dict[int, textio.DecodeStats] = {}
    skipped: list[Skipped] = []
    position = 0
    for item in expanded:
        if isinstance(item, textio.Skip):
            skipped.append(Skipped(item.path, item.reason))
            continue
        results = by_path[position]
        position += 1
        reason = next((r.skip_reason for r in results if r.skip_reason is not None), None)
        if reason is not None:
            skipped.append(Skipped(item, reason))
            continue
        tally, decode = Tally(), textio.DecodeStats(encoding=results[0].decode.encoding)
        for result in results:
            assert result.tally is not None
            tally.merge(result.tally)
            decode.invalid_bytes += result.decode.invalid_bytes
        index = len(inputs)
        inputs.append(item)
        tallies[index], stats[index] = tally, decode
        if progress is not None:
            progress(tally.bytes)
    return _report(targets, inputs, tallies, stats, skipped)


class _CountingStream:
    """Wraps a binary stream and counts the bytes read from it; with a limit, reads no more than that."""

    def __init__(self, stream: Any, limit: int | None = None) -> None:
        self._stream = stream
        self._left = limit
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        if self._left is not None:
            size = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(size)
        if self._left is not None:
            self._left -= len(data)
        self.bytes_read += len(data)
        return data
