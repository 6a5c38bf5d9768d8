"""bpe_openai next to tiktoken (tokctl.tokenize.fast_bpe, tokctl.tokenize.stream): same counts, and tiktoken
alone whenever bpe_openai is missing, unverified, or disagrees with tiktoken on the probe."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference_engines import reference
from tokctl.counting.api import count_paths
from tokctl.registry.tokenizers import get_tokenizer
from tokctl.tokenize import fast_bpe
from tokctl.tokenize import stream as pipeline
from tokctl.tokenize.engines import FAST_PIECE_CHARS, TiktokenEngine, clear_engines, get_engine, letter_line_pieces

bindings = fast_bpe.load_bindings()
needs_bpe_openai = pytest.mark.skipif(bindings is None, reason="bpe_openai is not installed")
SPECIAL_LITERALS = ["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|im_start|>", "<|tokctl-unused-special|>"]


@pytest.fixture(autouse=True)
def fresh_engines() -> Iterator[None]:
    clear_engines()
    fast_bpe.forget_bindings()
    yield
    clear_engines()
    fast_bpe.forget_bindings()


@pytest.fixture
def small_fast_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """bpe_openai joins after 64 KB instead of 4 MB, so small test inputs go through the hybrid path."""
    monkeypatch.setattr(pipeline, "FAST_AFTER_CHARS", 1 << 16)


@needs_bpe_openai
@pytest.mark.parametrize("tokenizer_id", ["o200k_base", "cl100k_base"])
def test_both_vocabularies_are_verified(tokenizer_id: str) -> None:
    engine = get_engine(tokenizer_id)
    assert isinstance(engine, TiktokenEngine)
    fast = engine.fast_counter()
    assert fast is not None
    assert fast("hello world <|endoftext|>") == len(engine.encode("hello world <|endoftext|>"))


def test_only_known_vocabularies_are_eligible() -> None:
    assert fast_bpe.eligible(get_tokenizer("o200k_base")) == "o200k_base"
    assert fast_bpe.eligible(get_tokenizer("cl100k_base")) == "cl100k_base"
    # llama4 shares o200k's pattern with its own ranks; llama3 shares cl100k's: neither is embedded.
    assert fast_bpe.eligible(get_tokenizer("llama4")) is None
    assert fast_bpe.eligible(get_tokenizer("llama3")) is None


@needs_bpe_openai
@pytest.mark.parametrize("part", ["en", "code", "zh"])
def test_whole_corpus_through_the_hybrid_path_matches_golden(
    corpus: Path, part: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKCTL_FORK", "0")  # one process: the two-process path has its own tests
    golden = json.loads((corpus / "golden_counts.json").read_text())
    report = count_paths([str(corpus / f"{part}.txt")], tokenizers=["o200k_base", "cl100k_base"])
    got = {c.tokenizer: c.tokens for c in report.totals}
    assert got == {
        "o200k_base": golden["tiktoken o200k_base encode_ordinary"][part],
        "cl100k_base": golden["tiktoken cl100k_base encode_ordinary"][part],
    }
    for tid in ("o200k_base", "cl100k_base"):
        engine = get_engine(tid)
        assert isinstance(engine, TiktokenEngine)
        assert engine.fast_chars > 0, f"bpe_openai never counted {tid}"  # the 16 MB parts pass the threshold


_PIECE = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60),
    st.sampled_from([*SPECIAL_LITERALS, "\n", "\n\n", "\n    \n", " \n", "\r\n", "\t", "  ", "'s", "'LL", "x;\n//c"]),
)


@needs_bpe_openai
@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECE, max_size=20))
def test_property_bpe_openai_counts_equal_tiktoken(pieces: list[str]) -> None:
    text = "".join(pieces)
    for tid in ("o200k_base", "cl100k_base"):
        engine = get_engine(tid)
        assert isinstance(engine, TiktokenEngine)
        fast = engine.fast_counter()
        assert fast is not None
        assert fast(text) == reference(tid)(text), (tid, text)


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(_PIECE, max_size=30), size=st.integers(1, 40))
def test_property_letter_line_pieces_add_up(pieces: list[str], size: int) -> None:
    text = "".join(pieces)
    parts = list(letter_line_pieces(text, size))
    assert "".join(parts) == text
    for tid in ("o200k_base", "cl100k_base"):
        assert sum(map(reference(tid), parts)) == reference(tid)(text), (tid, parts)


def test_pieces_are_cut_after_newlines_before_letters() -> None:
    text = ("word " * 10 + "\n") * 30 + "x;\n//comment\n"
    parts = list(letter_line_pieces(text, 100))
    assert len(parts) > 5 and all(p.endswith("\n") for p in parts)
    assert all(p[0].isalpha() for p in parts[1:])
    assert FAST_PIECE_CHARS >= 1 << 12


def _mixed_file(tmp_path: Path) -> Path:
    lines = [
        "Plain English with don't and WE'LL, numbers 1234567 and <|endoftext|> literals.",
        "    indented code(x) -> y  # comment\n\n    \n",
        "中文字幕，红楼梦第一回：甄士隐梦幻识通灵。😀👍🏽 e\u0301",
        "x = y;\n//comment\n\t\ttabs",
    ]
    path = tmp_path / "mixed.txt"
    path.write_text("\n".join(lines * 4000), encoding="utf-8")
    return path


@needs_bpe_openai
def test_hybrid_count_of_a_file_equals_tiktoken_alone(
    tmp_path: Path, small_fast_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from tokctl.tokenize import textio

    monkeypatch.setattr(textio, "CHUNK_CHARS", 4096)
    tiktoken_count = TiktokenEngine._count

    def slow_tiktoken(self: TiktokenEngine, text: str) -> int:
        time.sleep(0.002)  # the workers fall behind, so the reading thread surely counts some chunks itself
        return tiktoken_count(self, text)

    monkeypatch.setattr(TiktokenEngine, "_count", slow_tiktoken)
    path = _mixed_file(tmp_path)
    text = path.read_text(encoding="utf-8")
    hybrid = count_paths([str(path)], tokenizers=["o200k_base", "cl100k_base"])
    engine = get_engine("o200k_base")
    assert isinstance(engine, TiktokenEngine) and engine.fast_chars > 0
    assert {c.accuracy for c in hybrid.totals} == {"exact"}
    expected = {tid: reference(tid)(text) for tid in ("o200k_base", "cl100k_base")}
    assert {c.tokenizer: c.tokens for c in hybrid.totals} == expected


def test_without_bpe_openai_tiktoken_counts_alone(
    tmp_path: Path, small_fast_threshold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "bpe_openai._bindings", raising=False)
    monkeypatch.setitem(sys.modules, "bpe_openai", None)  # what an uninstalled package looks like to import
    path = _mixed_file(tmp_path)
    report = count_paths([str(path)], tokenizers=["o200k_base"])
    engine = get_engine("o200k_base")
    assert isinstance(engine, TiktokenEngine)
    assert engine.fast_counter() is None and engine.fast_chars == 0
    assert report.totals[0].tokens == reference("o200k_base")(path.read_text(encoding="utf-8"))
    assert report.totals[0].accuracy == "exact"


@needs_bpe_openai
def test_probe_mismatch_falls_back_to_tiktoken_and_is_cached(
    tmp_path: Path, small_fast_threshold: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = fast_bpe.load_bindings()

    class OffByOne:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def encode(self, text: str) -> list[int]:
            return [*self.inner.encode(text), 0]  # type: ignore[attr-defined]

        def count(self, text: str) -> int:
            return self.inner.count(text) + 1  # type: ignore[attr-defined,no-any-return]

    class Wrong:
        RUST_BACKEND_VERSION = "test"
        __file__ = real.__file__

        @staticmethod
        def tokenizer_for_encoding(name: str) -> OffByOne:
            return OffByOne(real.tokenizer_for_encoding(name))

    monkeypatch.setattr(fast_bpe, "load_bindings", lambda: Wrong)
    monkeypatch.setattr(fast_bpe, "_build_id", lambda module: "a-build-that-differs")
    path = _mixed_file(tmp_path)
    report = count_paths([str(path)], tokenizers=["o200k_base"])
    assert report.totals[0].tokens == reference("o200k_base")(path.read_text(encoding="utf-8"))
    engine = get_engine("o200k_base")
    assert isinstance(engine, TiktokenEngine) and engine.fast_chars == 0
    assert "differs from tiktoken" in capsys.readouterr().err
    verdicts = list((fast_bpe.cache_dir() / "parsed").glob("bpe-openai-*.verdict"))
    assert [v.read_text() for v in verdicts] == ["differs\n"]
    # The cached verdict is used without probing again.
    clear_engines()
    monkeypatch.setattr(fast_bpe, "probe_matches", lambda counter, ref: pytest.fail("probed again"))
    engine = get_engine("o200k_base")
    assert isinstance(engine, TiktokenEngine) and engine.fast_counter() is None


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fast_bpe.DISABLE_ENV, "0")
    engine = get_engine("o200k_base")
    assert isinstance(engine, TiktokenEngine) and engine.fast_counter() is None


def test_small_counts_never_load_bpe_openai(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "small.txt"
    path.write_text("hello world\n" * 80, encoding="utf-8")
    code = (
        "import sys\nfrom tokctl.counting.api import count_paths\n"
        f"print(count_paths([{str(path)!r}]).totals[0].tokens)\n"
        "print('bpe_openai._bindings' in sys.modules, 'tiktoken' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(reference("o200k_base")(path.read_text(encoding="utf-8"))), "False", "False"]
