"""Token counting engines: tiktoken, Hugging Face tokenizers, SentencePiece.

Every engine counts *ordinary* text: special-token literals such as ``<|endoftext|>`` in the input are counted
as the text they are (tiktoken ``encode_ordinary``), never as control tokens and never as an error.
Engines are built once per process, under a lock; parsed tiktoken ranks are cached in marshal form keyed by
the source file's sha256, which cuts a warm load of o200k from ~0.5 s of parsing to ~0.05 s.
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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from tokctl.paths import cache_dir
from tokctl.registry.tokenizers import Tokenizer, TokenizerFile, get_tokenizer
from tokctl.tokenize.files import load_file

_MARSHAL_MAGIC = b"tokctl-ranks-v2\n"  # v2: the digest covers the source file's sha256 too


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
    from tokctl.export import write_bytes_atomic

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
    inputs build CoreBPE once and count chunks on all cores (tiktoken releases the GIL while encoding).
    """

    SMALL_CHARS = 32_768

    def __init__(self, tokenizer: Tokenizer) -> None:
        from tokctl.tokenize.small_bpe import small_counter

        self.tokenizer = tokenizer
        self._ranks: dict[bytes, int] | None = load_ranks(tokenizer)
        self._small = small_counter(tokenizer.pattern, self._ranks)
        self._small_budget = self.SMALL_CHARS if self._small is not None else 0
        self._core: Any = None
        self._core_lock = threading.Lock()

    def _enc(self) -> Any:
        if self._core is None:
            with self._core_lock:
                if self._core is None:
                    import tiktoken

                    # No special tokens: counted text is always ordinary text (encode_ordinary).
                    self._core = tiktoken.Encoding(
                        name=f"tokctl-{self.tokenizer.id}",
                        pat_str=self.tokenizer.pattern or "",
                        mergeable_ranks=self._ranks or load_ranks(self.tokenizer),
                        special_tokens={},
                    )
                    self._ranks = None  # CoreBPE holds its own copy
                    self._small, self._small_budget = None, 0
        return self._core

    def encode(self, text: str) -> list[int]:
        return self._enc().encode_ordinary(_normalize(self.tokenizer, text))

    def _count(self, text: str) -> int:
        return len(self._enc().encode_ordinary(_normalize(self.tokenizer, text)))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        small = self._small
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
        # tiktoken releases the GIL while encoding, so threads use every core.
        with ThreadPoolExecutor(max_workers=min(_workers(), len(texts))) as pool:
            return list(pool.map(self._count, texts))


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
        return [len(ids) - self._newline for ids in self._encode_many(["\n" + t for t in texts])]


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
