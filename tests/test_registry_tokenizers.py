"""Every tokenizer manifest in tokenizers_registry/tokenizers/ parses strictly and holds sane values.

Failure messages name the file and say how to fix it. The format is in docs/registry.md.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

import tokenizers_registry
from tests.reference_engines import EXACT_IDS
from tokctl.errors import RegistryError
from tokctl.registry.strict_toml import load_toml
from tokctl.registry.tokenizers import SCRIPT_CLASSES, Tokenizer, all_tokenizers, parse_manifest

MANIFESTS = sorted(tokenizers_registry.TOKENIZERS.glob("*.toml"))

REQUIRED_EXACT = (*EXACT_IDS, "claude-legacy")
REQUIRED_ESTIMATES = (
    "claude-estimate",
    "claude-4.7-estimate",
    "gemini-estimate",
    "grok-estimate",
    "glm-estimate",
    "kimi-estimate",
    "minimax-estimate",
    "stepfun-estimate",
    "ernie-estimate",
    "doubao-estimate",
    "hunyuan-estimate",
)
FACTOR_RANGE = (Decimal("0.5"), Decimal("3"))
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# "12,246,947 / 7,893,285 = 1.552" in a basis: the quotient must match to the digits shown.
DIVISION = re.compile(r"(\d[\d,]*(?:\.\d+)?) / (\d[\d,]*(?:\.\d+)?) = (\d[\d,]*(?:\.\d+)?)")


@pytest.fixture(scope="module")
def registry() -> dict[str, Tokenizer]:
    all_tokenizers.cache_clear()
    return all_tokenizers()


def _estimates(registry: dict[str, Tokenizer]) -> list[Tokenizer]:
    return [tok for tok in registry.values() if tok.is_estimate]


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_there_are_manifests() -> None:
    assert len(MANIFESTS) >= len(REQUIRED_EXACT) + len(REQUIRED_ESTIMATES), (
        f"expected at least {len(REQUIRED_EXACT) + len(REQUIRED_ESTIMATES)} manifests in "
        f"{tokenizers_registry.TOKENIZERS}, found {len(MANIFESTS)}"
    )


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_manifest_parses_and_id_is_file_name(path: Path) -> None:
    tok = parse_manifest(load_toml(path), path)
    assert tok.id == path.stem, f"{path}: id {tok.id!r} differs from the file name; rename the file or change id"


def test_all_tokenizers_loads_every_file(registry: dict[str, Tokenizer]) -> None:
    missing = sorted({p.stem for p in MANIFESTS} - set(registry))
    assert not missing, f"all_tokenizers() skipped {missing}; check that their ids are unique"


@pytest.mark.parametrize("tid", REQUIRED_EXACT + REQUIRED_ESTIMATES)
def test_required_tokenizer_exists(registry: dict[str, Tokenizer], tid: str) -> None:
    assert tid in registry, f"no manifest {tid}.toml in {tokenizers_registry.TOKENIZERS}; add it (docs/registry.md)"


@pytest.mark.parametrize("tid", REQUIRED_EXACT)
def test_required_exact_is_exact(registry: dict[str, Tokenizer], tid: str) -> None:
    tok = registry[tid]
    assert not tok.is_estimate and tok.accuracy == "exact", (
        f"{tok.path}: {tid} must be an exact tokenizer with files, not engine {tok.engine}"
    )


@pytest.mark.parametrize("tid", REQUIRED_ESTIMATES)
def test_required_estimate_is_estimate(registry: dict[str, Tokenizer], tid: str) -> None:
    tok = registry[tid]
    assert tok.is_estimate and tok.accuracy == "estimate", (
        f'{tok.path}: {tid} must set engine = "estimate" and accuracy = "estimate"'
    )


def test_every_estimate_base_is_exact(registry: dict[str, Tokenizer]) -> None:
    for tok in _estimates(registry):
        base = registry.get(tok.base or "")
        assert base is not None, f"{tok.path}: base {tok.base!r} has no manifest; set base to an exact tokenizer id"
        assert not base.is_estimate, f"{tok.path}: base {tok.base!r} is itself an estimate; use an exact tokenizer"


def test_every_error_band_is_a_fraction(registry: dict[str, Tokenizer]) -> None:
    for tok in _estimates(registry):
        band = tok.error_band
        assert band is not None and Decimal(0) < band < Decimal(1), (
            f"{tok.path}: error_band {band} must be a fraction in (0, 1); write e.g. error_band = 0.15 for +/-15%"
        )


def test_every_factor_is_positive_and_sane(registry: dict[str, Tokenizer]) -> None:
    low, high = FACTOR_RANGE
    for tok in _estimates(registry):
        assert set(tok.factor) == set(SCRIPT_CLASSES), (
            f"{tok.path}: factor must give exactly {', '.join(SCRIPT_CLASSES)}"
        )
        for script, value in tok.factor.items():
            assert low <= value <= high, (
                f"{tok.path}: factor.{script} = {value} is outside {low}..{high}; a factor is estimate tokens per "
                "base token, so check it was not inverted (characters per token) or pick a closer base"
            )


def test_every_estimate_says_how_it_was_obtained(registry: dict[str, Tokenizer]) -> None:
    for tok in _estimates(registry):
        basis = tok.basis or ""
        assert "https://" in basis or "github.com/" in basis, f"{tok.path}: basis must cite a source (a URL)"
        assert re.search(r"20\d\d-\d\d-\d\d", basis), f"{tok.path}: basis must give the date it was read or measured"
        assert tok.verified.startswith("estimate:"), (
            f"{tok.path}: verified must start with 'estimate:' (e.g. \"estimate: no public tokenizer\")"
        )
        assert "exact" not in tok.verified, f"{tok.path}: an estimate must not claim to be exact in verified"


def test_arithmetic_in_every_basis_is_right(registry: dict[str, Tokenizer]) -> None:
    checked = 0
    for tok in _estimates(registry):
        for numerator, denominator, shown in DIVISION.findall(tok.basis or ""):
            value = _number(shown)
            half_ulp = Decimal(1).scaleb(value.as_tuple().exponent) / 2  # type: ignore[arg-type]
            quotient = _number(numerator) / _number(denominator)
            assert abs(quotient - value) <= half_ulp, (
                f"{tok.path}: basis says {numerator} / {denominator} = {shown}, but it is {quotient:.6f}; "
                "fix the transcription"
            )
            checked += 1
    assert checked >= 20, f"expected the estimates' bases to show their arithmetic, found {checked} divisions"


def test_every_exact_file_is_pinned_and_has_a_source(registry: dict[str, Tokenizer]) -> None:
    for tok in registry.values():
        if tok.is_estimate:
            continue
        assert tok.files, f"{tok.path}: an exact tokenizer needs at least one [[files]] entry"
        for entry in tok.files:
            assert SHA256.match(entry.sha256), f"{tok.path}: {entry.name} sha256 must be 64 lowercase hex digits"
            assert entry.sources, f"{tok.path}: {entry.name} needs at least one source (package:, url: or hf:)"


def test_claude_legacy_is_the_sdk_json(registry: dict[str, Tokenizer]) -> None:
    tok = registry["claude-legacy"]
    assert (tok.engine, tok.accuracy, tok.normalization) == ("hf", "exact", None), (
        f"{tok.path}: engine hf, accuracy exact, and no normalization (NFKC is inside the HF JSON)"
    )
    (entry,) = tok.files
    assert entry.format == "hf-json"
    assert entry.sha256 == "c241737df24b4e7f7c9af4fdcee29a0ca903dcb288a8b753bc346a3092911767"
    assert entry.sources == (
        "package:anthropic/anthropic/tokenizer.json",
        "package:litellm/litellm/litellm_core_utils/tokenizers/anthropic_tokenizer.json",
    ), f"{tok.path}: sources must try Anthropic's own SDK first, then litellm's copy"


# --- rejection: a broken manifest fails with a message that names the file ---------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ESTIMATE = """\
id = "{id}"
name = "Test estimate"
engine = "estimate"
accuracy = "estimate"
license = "n/a"
description = "test"
verified = "estimate: no public tokenizer"
base = "o200k_base"
factor = {{ latin = 1.1, han = 1.2, other = 1.3 }}
error_band = 0.2
"""

EXACT = """\
id = "{id}"
name = "Test exact"
engine = "hf"
accuracy = "exact"
license = "MIT"
description = "test"
verified = "test"

[[files]]
name = "tokenizer.json"
format = "hf-json"
sha256 = "{sha}"
sources = ["package:example/example/tokenizer.json"]
"""


def _reject(path: Path) -> str:
    with pytest.raises(RegistryError) as info:
        parse_manifest(load_toml(path), path)
    message = str(info.value)
    assert path.name in message, f"the error must name the file: {message}"
    return message


def test_a_valid_estimate_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok-estimate.toml", ESTIMATE.format(id="ok-estimate") + 'basis = "measured"\n')
    tok = parse_manifest(load_toml(path), path)
    assert tok.factor == {"latin": Decimal("1.1"), "han": Decimal("1.2"), "other": Decimal("1.3")}
    assert tok.error_band == Decimal("0.2")


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    text = ESTIMATE.format(id="bad-key") + 'basis = "measured"\nfactr = 2\n'
    message = _reject(_write(tmp_path, "bad-key.toml", text))
    assert "unknown key factr" in message and "allowed keys" in message


def test_estimate_without_basis_is_rejected(tmp_path: Path) -> None:
    message = _reject(_write(tmp_path, "no-basis.toml", ESTIMATE.format(id="no-basis")))
    assert "missing key basis" in message and "add basis" in message


def test_bad_sha_is_rejected(tmp_path: Path) -> None:
    text = EXACT.format(id="bad-sha", sha="C241737DF24B")
    message = _reject(_write(tmp_path, "bad-sha.toml", text))
    assert "64 lowercase hex" in message and "sha256sum" in message


def test_unknown_script_class_is_rejected(tmp_path: Path) -> None:
    text = ESTIMATE.format(id="bad-class").replace("other = 1.3", "cyrillic = 1.3") + 'basis = "measured"\n'
    message = _reject(_write(tmp_path, "bad-class.toml", text))
    assert "cyrillic" in message


def test_band_outside_zero_one_is_rejected(tmp_path: Path) -> None:
    text = ESTIMATE.format(id="wide").replace("error_band = 0.2", "error_band = 15") + 'basis = "measured"\n'
    message = _reject(_write(tmp_path, "wide.toml", text))
    assert "error_band = 0.15" in message


def test_id_must_match_file_name(tmp_path: Path) -> None:
    text = ESTIMATE.format(id="other-name") + 'basis = "measured"\n'
    message = _reject(_write(tmp_path, "file-name.toml", text))
    assert "rename the file" in message
