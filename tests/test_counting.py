"""Exactness of tokctl's counts against the vendors' own engines, and chunking invariants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference_engines import EXACT_IDS, reference
from tokctl.counting.api import count_paths, count_text
from tokctl.errors import UnknownModelError, UnknownTokenizerError, UsageError
from tokctl.tokenize import textio

EDGE_STRINGS = [
    "",
    " ",
    "hello world",
    "   leading and trailing spaces   ",
    "a" * 5000,
    " " * 3000 + "x",
    "tabs\t\tand\n\n\nnewlines\n",
    "windows\r\nline\r\nendings\r\n",
    "emoji 👩‍👩‍👧‍👦 family and 🇨🇳 flag",
    "combining e\u0301 and a\u0308 marks; precomposed é ä",
    "full-width ＡＢＣ１２３ and ideographic space\u3000here",
    "中文字幕，红楼梦第一回：甄士隐梦幻识通灵。",
    "日本語のテキストとカタカナ",
    "Arabic العربية and Hindi हिन्दी",
    "special literals <|endoftext|> <|im_start|> <|begin_of_text|> <s> </s> [INST]",
    "numbers 1234567890 3.14159 1e-10",
    "code: def f(x):\n    return x ** 2  # comment\n",
    "\u200b zero width \ufeff bom in text",
]


@pytest.mark.parametrize("tokenizer_id", EXACT_IDS)
def test_edge_strings_equal_reference(tokenizer_id: str) -> None:
    ref = reference(tokenizer_id)
    for text in EDGE_STRINGS:
        assert count_text(text, tokenizer=tokenizer_id).tokens == ref(text), (tokenizer_id, text[:40])


def _corpus_sample(corpus: Path, part: str) -> str:
    data = (corpus / f"{part}.txt").read_text(encoding="utf-8")
    middle = len(data) // 2
    return data[:60_000] + data[middle : middle + 60_000]


@pytest.mark.parametrize("part", ["en", "code", "zh"])
@pytest.mark.parametrize("tokenizer_id", EXACT_IDS)
def test_corpus_samples_equal_reference(corpus: Path, part: str, tokenizer_id: str) -> None:
    text = _corpus_sample(corpus, part)
    assert count_text(text, tokenizer=tokenizer_id).tokens == reference(tokenizer_id)(text)


def test_chunked_counts_equal_whole_text_counts(corpus: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sample = tmp_path / "sample.txt"
    sample.write_text("".join(_corpus_sample(corpus, p) for p in ("en", "code", "zh")), encoding="utf-8")
    whole = {c.tokenizer: c.tokens for c in count_paths([str(sample)], tokenizers=EXACT_IDS).totals}
    monkeypatch.setattr(textio, "CHUNK_CHARS", 2048)
    monkeypatch.setattr(textio, "BLOCK_BYTES", 1000)
    chunked = {c.tokenizer: c.tokens for c in count_paths([str(sample)], tokenizers=EXACT_IDS).totals}
    assert chunked == whole


GOLDEN_KEYS = {
    "o200k_base": "tiktoken o200k_base encode_ordinary",
    "cl100k_base": "tiktoken cl100k_base encode_ordinary",
    "llama3": "tiktoken llama3 encode_ordinary",
    "llama4": "tiktoken llama4 encode_ordinary",
    "qwen": "qwen NFC + encode_ordinary",
    "qwen3.6": "qwen3_6 NFC + encode_ordinary",
    "mistral-tekken": "tiktoken tekken_240911 encode_ordinary",
    "deepseek-v4": "deepseek V4 (HF tokenizers, add_special_tokens=False)",
    "mistral-sp-v1": "mistral SP v1 (sentencepiece encode, whole part)",
}


@pytest.mark.slow  # 13-17 s each: the whole corpus file on every tokenizer
@pytest.mark.parametrize("part", ["en", "code", "zh"])
def test_whole_corpus_files_match_golden_counts(corpus: Path, part: str) -> None:
    """The 16 MB corpus parts, streamed and chunked, give the whole-text reference counts exactly."""
    golden = json.loads((corpus / "golden_counts.json").read_text())
    report = count_paths([str(corpus / f"{part}.txt")], tokenizers=list(GOLDEN_KEYS))
    got = {c.tokenizer: c.tokens for c in report.totals}
    assert got == {tid: golden[key][part] for tid, key in GOLDEN_KEYS.items()}


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400)


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(_TEXT, min_size=1, max_size=8))
def test_property_chunked_equals_whole(parts: list[str]) -> None:
    """Any text cut by tokctl's chunker counts the same as the whole text, for every engine kind."""
    text = "\n".join(parts)
    for tid in ("o200k_base", "deepseek-v4", "mistral-sp-v1", "qwen"):
        whole = reference(tid)(text)
        chunks = list(
            textio.chunk_text(
                iter([text[i : i + 37] for i in range(0, len(text), 37)] or [""]),
                allow_space_cut=tid != "mistral-sp-v1",
                chunk_chars=16,
                hard_limit=10**9,
            )
        )
        from tokctl.counting.api import Target, TargetCounter
        from tokctl.registry.tokenizers import get_tokenizer

        counter = TargetCounter([Target(None, None, get_tokenizer(tid))])
        assert sum(t.tokens[tid] for t in counter.count_batch(chunks)) == whole, tid
        assert "".join(c.text for c in chunks) == text


def test_models_resolve_to_their_tokenizers() -> None:
    assert count_text("hello world", model="gpt-4o").tokenizer == "o200k_base"
    assert count_text("hello world", model="gpt-4").tokenizer == "cl100k_base"
    assert count_text("hello world", model="deepseek-v4-pro").tokenizer == "deepseek-v4"
    assert count_text("hello world", model="qwen3-max").tokenizer == "qwen"
    claude = count_text("hello world", model="claude-sonnet-4-5")
    assert claude.tokenizer == "claude-estimate"
    assert claude.accuracy == "estimate"
    assert claude.error_band is not None and claude.basis


def test_default_is_o200k_and_counts_exactly() -> None:
    result = count_text("hello world")
    assert (result.tokenizer, result.tokens, result.accuracy) == ("o200k_base", 2, "exact")


def test_unknown_names_suggest_alternatives() -> None:
    with pytest.raises(UnknownModelError, match="did you mean gpt-4o"):
        count_text("x", model="gpt-4oo")
    with pytest.raises(UnknownTokenizerError, match="did you mean o200k_base"):
        count_text("x", tokenizer="o200k")
    with pytest.raises(UsageError):
        count_text("x", model="gpt-4o", tokenizer="o200k_base")


def test_estimate_uses_base_count_times_weighted_factor() -> None:
    from decimal import Decimal

    from tokctl.registry.tokenizers import get_tokenizer
    from tokctl.tokenize.estimate import ScriptStats, weighted_factor

    tok = get_tokenizer("claude-estimate")
    text = "plain English text only"
    base = reference("o200k_base")(text)
    stats = ScriptStats()
    stats.add_text(text)
    assert stats.latin == len(text) and stats.han == 0
    factor = weighted_factor(tok, stats)
    assert factor == tok.factor["latin"]
    expected = int((Decimal(base) * factor).to_integral_value(rounding="ROUND_HALF_UP"))
    assert count_text(text, tokenizer="claude-estimate").tokens == expected


def test_script_stats_classify_han_latin_other() -> None:
    from tokctl.tokenize.estimate import ScriptStats

    stats = ScriptStats()
    stats.add_text("ab中文éЖ")
    assert (stats.latin, stats.han, stats.other) == (3, 2, 1)


def test_no_chunk_starts_with_a_slash_after_a_newline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """o200k_base reads ";\\n//" as one piece: a cut between the newline and the slash changed counts
    (x = y;\\n//comment: 5 tokens whole, 6 when cut there)."""
    path = tmp_path / "code.c"
    path.write_text("int x = y;\n// comment on the next line\n" * 300, encoding="utf-8")
    whole = reference("o200k_base")(path.read_text(encoding="utf-8"))
    monkeypatch.setattr(textio, "CHUNK_CHARS", 64)
    monkeypatch.setattr(textio, "BLOCK_BYTES", 100)
    assert count_paths([str(path)], tokenizers=["o200k_base"]).totals[0].tokens == whole
    chunks = list(textio.chunk_text(iter([path.read_text(encoding="utf-8")]), chunk_chars=64))
    assert len(chunks) > 100 and not any(c.text.startswith("/") for c in chunks)
