"""Token counting engines: tiktoken, Hugging Face tokenizers, SentencePiece.

Every engine counts *ordinary* text: special-token literals such as ``<|endoftext|>`` in the input are counted
as the text they are (tiktoken ``encode_ordinary``), never as control tokens and never as an error.
Engines are built once per process, under a lock; parsed tiktoken ranks are cached in marshal form keyed by
the source file's sha256, which cuts a warm load of o200k from ~0.5 s of parsing to ~0.05 s. For o200k_base and
cl100k_base, bpe_openai can count on the reading thread next to tiktoken's workers (tokctl.tokenize.fast_bpe).
"""

from __future__ import annotations

import base64
import hashlib
import json
import marshal
import os
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from tokctl.paths import cache_dir
from tokctl.registry.tokenizers import Tokenizer, TokenizerFile, get_tokenizer
from tokctl.tokenize.stream import count_stream
from tokctl.tokenize.tokenizer_files import load_file

_MARSHAL_MAGIC = b"tokctl-ranks-v2\n"  # v2: the digest covers the source file's sha256 too
# tiktoken's encode() needs at least one special token to search for (an empty set makes it try every position);
# this one is never allowed, so it is counted as the ordinary text it is, like every other literal.
_UNUSED_SPECIAL = "<|tokctl-unused-special|>"
_NO_SPECIALS: frozenset[str] = frozenset()
# bpe_openai holds the GIL for a whole call; in pieces this size (~2 ms each) tiktoken's workers get it back soon.
FAST_PIECE_CHARS = 1 << 15


class Engine(Protocol):
    tokenizer: Tokenizer

    def count_many(self, texts: Sequence[str]) -> list[int]: ...

    def encode(self, text: str) -> list[int]: ...


def _workers() -> int:
    return max(1, os.cpu_count() or 1)


def _normalize(tokenizer: Tokenizer, text: str) -> str:
    form = tokenizer.normalization
    return unicodedata.normalize(form, text) if form else text  # type: ignore[arg-type]


def _without_surrogates(texts: Sequence[str]) -> list[str]:
    """Lone surrogates (a JSON ``"\\ud800"`` escape) as U+FFFD, the way tiktoken counts them; the Rust and C++
    engines refuse such strings outright."""
    return [t.encode("utf-16", "surrogatepass").decode("utf-16", "replace") for t in texts]


# ---- tiktoken ----------------------------------------------------------------------------------------------


def _parse_tiktoken(data: bytes) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _parse_tekken(data: bytes, limit: int | None) -> dict[bytes, int]:
    vocab = json.loads(data)["vocab"]
    if limit is not None:
        vocab = vocab[:limit]
    return {base64.b64decode(entry["token_bytes"]): entry["rank"] for entry in vocab}


def _ranks_cache_path(spec: TokenizerFile) -> Any:
    return cache_dir() / "parsed" / f"{spec.sha256}-{spec.rank_limit or 0}.marshal"


def _read_ranks_cache(spec: TokenizerFile) -> dict[bytes, int] | None:
    path = _ranks_cache_path(spec)
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    header_len = len(_MARSHAL_MAGIC) + 64
    if not blob.startswith(_MARSHAL_MAGIC) or len(blob) < header_len:
        return None
    digest, payload = blob[len(_MARSHAL_MAGIC) : header_len].decode("ascii", "replace"), blob[header_len:]
    if _digest(spec, payload) != digest:
        return None  # damaged, edited, or another file's ranks: rebuilt from the verified source below
    try:
        ranks = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    return ranks if isinstance(ranks, dict) else None


def _digest(spec: TokenizerFile, payload: bytes) -> str:
    """The payload's sha256 bound to the source file it was parsed from: a cache file copied or renamed over
    another tokenizer's name does not pass."""
    return hashlib.sha256(f"{spec.sha256}-{spec.rank_limit or 0}\n".encode("ascii") + payload).hexdigest()


def _write_ranks_cache(spec: TokenizerFile, ranks: dict[bytes, int]) -> None:
    from tokctl.atomic import write_bytes_atomic

    payload = marshal.dumps(ranks)
    blob = _MARSHAL_MAGIC + _digest(spec, payload).encode("ascii") + payload
    try:
        write_bytes_atomic(_ranks_cache_path(spec), blob)
    except OSError as exc:
        print(f"warning: cannot write the tokenizer cache ({exc}); counting goes on without it", file=sys.stderr)


def load_ranks(tokenizer: Tokenizer) -> dict[bytes, int]:
    spec = tokenizer.files[0]
    cached = _read_ranks_cache(spec)
    if cached is not None:
        return cached
    verified = load_file(tokenizer, spec)
    tekken = spec.format == "tekken"
    ranks = _parse_tekken(verified.data, spec.rank_limit) if tekken else _parse_tiktoken(verified.data)
    _write_ranks_cache(spec, ranks)
    return ranks


class TiktokenEngine:
    """tiktoken over tokctl's verified ranks.

    Small inputs are counted in pure Python (tokctl.tokenize.small_bpe) until SMALL_CHARS characters have
    been counted: a ``tokctl count`` of a few kilobytes then never pays the ~0.2 s CoreBPE build. Larger
    inputs build CoreBPE once and count chunks on all cores (tiktoken releases the GIL while encoding); past
    FAST_AFTER_CHARS the calling thread also counts, with bpe_openai when it is verified for this tokenizer.
    """

    SMALL_CHARS = 32_768

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        # Ranks are loaded on first need: counting a large input with bpe_openai in two processes needs none.
        self._ranks: dict[bytes, int] | None = None
        self._small: Callable[[str], int] | None = None
        self._small_budget = self.SMALL_CHARS
        self._small_tried = False
        self._core: Any = None
        self._count_ordinary: Callable[[str], int] = self._count_listed
        self._core_lock = threading.Lock()
        self._fast: Callable[[str], int] | None = None
        self._fast_tried = False
        self._fast_lock = threading.Lock()
        self.fast_chars = 0  # characters counted by bpe_openai (read by the benchmarks)

    def _enc(self) -> Any:
        if self._core is None:
            with self._core_lock:
                if self._core is None:
                    import tiktoken

                    ranks = self._ranks or load_ranks(self.tokenizer)
                    # Counted text is always ordinary text (encode_ordinary); the one special token is never
                    # allowed (see _UNUSED_SPECIAL).
                    core = tiktoken.Encoding(
                        name=f"tokctl-{self.tokenizer.id}",
                        pat_str=self.tokenizer.pattern or "",
                        mergeable_ranks=ranks,
                        special_tokens={_UNUSED_SPECIAL: max(ranks.values(), default=-1) + 1},
                    )
                    self._count_ordinary = _buffer_counter(core) or self._count_listed
                    self._ranks = None  # CoreBPE holds its own copy
                    self._small, self._small_budget, self._small_tried = None, 0, True
                    self._core = core
        return self._core

    def _count_listed(self, text: str) -> int:
        return len(self._enc().encode_ordinary(text))

    def encode(self, text: str) -> list[int]:
        return self._enc().encode_ordinary(_normalize(self.tokenizer, text))  # type: ignore[no-any-return]

    def _count(self, text: str) -> int:
        self._enc()
        return self._count_ordinary(_normalize(self.tokenizer, text))

    def fast_counter(self) -> Callable[[str], int] | None:
        """bpe_openai's counter for this tokenizer when it is installed and verified, else None (built once).

        It holds the GIL: call it only from the thread that feeds tiktoken's workers."""
        if not self._fast_tried:
            with self._fast_lock:
                if not self._fast_tried:
                    import tiktoken

                    from tokctl.tokenize import fast_bpe

                    # tiktoken is the reference only when the verdict is not cached yet: CoreBPE is built then.
                    fast = fast_bpe.fast_counter(
                        self.tokenizer, lambda text: self._enc().encode_ordinary(text), tiktoken.__version__
                    )
                    self._fast = self._tracked(fast) if fast is not None else None
                    self._fast_tried = True
        return self._fast

    def _tracked(self, fast: Callable[[str], int]) -> Callable[[str], int]:
        def count(text: str) -> int:
            self.fast_chars += len(text)
            try:
                return sum(map(fast, letter_line_pieces(text, FAST_PIECE_CHARS)))
            except UnicodeEncodeError:  # lone surrogates: U+FFFD, as tiktoken counts them
                return sum(map(fast, letter_line_pieces(_without_surrogates([text])[0], FAST_PIECE_CHARS)))

        return count

    def _small_counter(self) -> Callable[[str], int] | None:
        if not self._small_tried:
            with self._core_lock:
                if not self._small_tried:
                    from tokctl.tokenize.small_bpe import small_counter

                    if self._core is None:  # once CoreBPE is built, it counts everything
                        self._ranks = self._ranks or load_ranks(self.tokenizer)
                        self._small = small_counter(self.tokenizer.pattern, self._ranks)
                    if self._small is None:
                        self._small_budget = 0
                    self._small_tried = True
        return self._small

    def count_many(self, texts: Sequence[str]) -> list[int]:
        small = self._small_counter() if self._small_budget else None
        if small is not None:
            size = sum(map(len, texts))
            if size <= self._small_budget:
                self._small_budget -= size
                try:
                    return [small(_normalize(self.tokenizer, t)) for t in texts]
                except UnicodeEncodeError:
                    return [small(_normalize(self.tokenizer, t)) for t in _without_surrogates(texts)]
        if len(texts) <= 1:
            return [self._count(t) for t in texts]
        self._enc()
        counts = [0] * len(texts)
        for index, n in count_stream(
            enumerate(texts), self._count, workers=_workers(), size=len, make_fast=self._fast_for_stream
        ):
            counts[index] = n
        return counts

    def _fast_for_stream(self) -> Callable[[str], int] | None:
        fast = self.fast_counter()
        if fast is None:
            return None
        return lambda text: fast(_normalize(self.tokenizer, text))


def _buffer_counter(enc: Any) -> Callable[[str], int] | None:
    """A counter that takes tiktoken's token buffer instead of a list of Python ints: 15-20% faster on one core,
    and the GIL stays free while the list would have been built. None when this tiktoken lacks the call or
    its count differs from encode_ordinary's on a probe text."""
    from tokctl.tokenize.fast_bpe import PROBE

    encode = getattr(getattr(enc, "_core_bpe", None), "encode_to_tiktoken_buffer", None)
    if encode is None:
        return None

    def count(text: str) -> int:
        try:
            return memoryview(encode(text, _NO_SPECIALS)).nbytes // 4
        except UnicodeEncodeError:  # lone surrogates: U+FFFD, as encode_ordinary does
            return memoryview(encode(_without_surrogates([text])[0], _NO_SPECIALS)).nbytes // 4

    try:
        probes = [PROBE, _UNUSED_SPECIAL, f"a{_UNUSED_SPECIAL}b\ud800"]
        if all(count(t) == len(enc.encode_ordinary(t)) for t in probes):
            return count
    except Exception:  # a private call that changed shape: the public one counts
        return None
    return None


def letter_line_pieces(text: str, size: int) -> Iterator[str]:
    """``text`` in pieces of about ``size`` characters, each cut after a newline that a letter follows.

    o200k_base's and cl100k_base's pre-tokenizers never put a newline and a following letter in one piece
    (letters take an optional prefix that excludes \\r and \\n), so the pieces' counts add up to the text's.
    """
    start, end = 0, len(text)
    while end - start > size:
        cut = text.find("\n", start + size)
        while 0 <= cut < end - 1 and not text[cut + 1].isalpha():
            cut = text.find("\n", cut + 1)
        if cut < 0 or cut >= end - 1:
            break
        yield text[start : cut + 1]
        start = cut + 1
    yield text[start:]


# ---- Hugging Face tokenizers --------------------------------------------------------------------------------


class HFEngine:
    def __init__(self, tokenizer: Tokenizer) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        self.tokenizer = tokenizer
        verified = load_file(tokenizer, tokenizer.files[0])
        self._tok = HFTokenizer.from_str(verified.data.decode("utf-8"))

    def encode(self, text: str) -> list[int]:
        try:
            return list(self._tok.encode(_normalize(self.tokenizer, text), add_special_tokens=False).ids)
        except TypeError:
            return self.encode(_without_surrogates([text])[0])

    def count_many(self, texts: Sequence[str]) -> list[int]:
        texts = [_normalize(self.tokenizer, t) for t in texts]
        try:
            return self._count_many(texts)
        except TypeError:
            return self._count_many(_without_surrogates(texts))

    def _count_many(self, texts: list[str]) -> list[int]:
        if len(texts) == 1:
            return [len(self._tok.encode(texts[0], add_special_tokens=False).ids)]
        # encode_batch_fast skips offsets and runs on all cores in Rust.
        return [len(e.ids) for e in self._tok.encode_batch_fast(texts, add_special_tokens=False)]


# ---- SentencePiece ------------------------------------------------------------------------------------------


class SentencePieceEngine:
    """SentencePiece adds a dummy-prefix space to every call, so counts are not additive over pieces of text.

    A text that continues after a newline is counted as ``count("\\n" + piece) - count("\\n")``: the newline
    is a byte-fallback token that never merges, so this is exactly the piece's share of the whole text.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        import sentencepiece as spm

        self.tokenizer = tokenizer
        verified = load_file(tokenizer, tokenizer.files[0])
        self._sp = spm.SentencePieceProcessor(model_proto=verified.data)
        self._newline = len(self._sp.encode("\n"))

    def encode(self, text: str) -> list[int]:
        return list(self._sp.encode(_without_surrogates([text])[0]))

    def _encode_many(self, texts: list[str]) -> list[list[int]]:
        try:
            return self._sp.encode(texts, num_threads=_workers())  # type: ignore[no-any-return]
        except TypeError:
            return self._sp.encode(_without_surrogates(texts), num_threads=_workers())  # type: ignore[no-any-return]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self._encode_many(list(texts))]

    def count_continuations(self, texts: Sequence[str]) -> list[int]:
        """Counts of pieces that follow a newline in a larger text."""
        return self.count_pieces(texts, [True] * len(texts))

    def count_pieces(self, texts: Sequence[str], continues: Sequence[bool]) -> list[int]:
        """Counts of pieces of a larger text in one call: a piece that follows a newline is counted as
        ``count("\n" + piece) - count("\n")``, the others as they are."""
        encoded = self._encode_many(["\n" + t if c else t for t, c in zip(texts, continues, strict=True)])
        return [len(ids) - self._newline if c else len(ids) for ids, c in zip(encoded, continues, strict=True)]


_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()
_ENGINE_TYPES: dict[str, type] = {
    "tiktoken": TiktokenEngine,
    "hf": HFEngine,
    "sentencepiece": SentencePieceEngine,
}


def get_engine(tokenizer_id: str) -> Engine:
    """The engine of an exact tokenizer, built once per process."""
    engine = _ENGINES.get(tokenizer_id)
    if engine is not None:
        return engine
    with _LOCK:
        engine = _ENGINES.get(tokenizer_id)
        if engine is None:
            tokenizer = get_tokenizer(tokenizer_id)
            if tokenizer.is_estimate:
                raise ValueError(f"{tokenizer_id} is an estimate; count it through its base")
            engine = _ENGINE_TYPES[tokenizer.engine](tokenizer)
            _ENGINES[tokenizer_id] = engine
    return engine


def clear_engines() -> None:
    """Forget built engines (tests that change the cache use it)."""
    with _LOCK:
        _ENGINES.clear()
