"""The pure-Python small-input counter gives tiktoken's counts exactly, and the engine switches over."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_counting import EDGE_STRINGS
from tokctl.registry.tokenizers import get_tokenizer
from tokctl.tokenize.engines import TiktokenEngine, load_ranks
from tokctl.tokenize.small_bpe import small_counter

SMALL_IDS = ["o200k_base", "cl100k_base", "llama4"]
MORE_EDGES = [
    "\x1c\x1d\x1e\x1f separators are not White_Space",
    "\x85 next line, \xa0 no-break, \u1680 ogham, \u2028\u2029 separators, \u202f\u205f\u3000",
    "trailing spaces   \n   \n",
    "   ",
    "\n\n\n",
    "it's they're we've I'll she'd I'M DON'T ſt",
    "CamelCaseWords andALLCAPS mixedUPandDown",
    "x" * 300 + " " + "ab" * 200,
    "//comment\r\n\tpath/to/file.py\r\n",
    "ǅungla ǈ titlecase, ʰmodifier, ﷺ ligature",
]


@pytest.fixture(scope="module", params=SMALL_IDS)
def engines(request: pytest.FixtureRequest) -> tuple[object, TiktokenEngine]:
    tokenizer = get_tokenizer(request.param)
    counter = small_counter(tokenizer.pattern, load_ranks(tokenizer))
    assert counter is not None
    reference = TiktokenEngine(tokenizer)
    reference._enc()
    return counter, reference


def test_edge_strings(engines: tuple[object, TiktokenEngine]) -> None:
    counter, reference = engines
    for text in EDGE_STRINGS + MORE_EDGES:
        assert counter(text) == len(reference.encode(text)), text[:40]  # type: ignore[operator]


def test_corpus_samples(engines: tuple[object, TiktokenEngine], corpus: Path) -> None:
    counter, reference = engines
    for part in ("en", "code", "zh"):
        data = (corpus / f"{part}.txt").read_text(encoding="utf-8")
        for start in (0, len(data) // 3, 2 * len(data) // 3):
            text = data[start : start + 20_000]
            assert counter(text) == len(reference.encode(text)), (part, start)  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    tokenizer = get_tokenizer("o200k_base")
    counter = small_counter(tokenizer.pattern, load_ranks(tokenizer))
    reference = _reference()
    assert counter is not None and counter(text) == len(reference.encode(text))


_REF: list[TiktokenEngine] = []


def _reference() -> TiktokenEngine:
    if not _REF:
        _REF.append(TiktokenEngine(get_tokenizer("o200k_base")))
    return _REF[0]


def test_other_patterns_have_no_small_counter() -> None:
    assert small_counter(get_tokenizer("qwen").pattern, {}) is None
    assert small_counter(None, {}) is None


def test_engine_counts_small_inputs_without_corebpe_then_switches() -> None:
    engine = TiktokenEngine(get_tokenizer("o200k_base"))
    assert engine.count_many(["hello world", "中文字幕"]) == [2, 1]
    assert engine._core is None
    big = "word " * (TiktokenEngine.SMALL_CHARS // 4) + "end"
    assert engine.count_many([big, big]) == [len(big) // 5 + 1] * 2
    assert engine._core is not None
    assert engine.count_many(["hello world"]) == [2]
