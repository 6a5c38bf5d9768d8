"""Estimates for closed tokenizers: an exact base tokenizer's count times a factor per script class.

The factor is weighted by the text's characters in each class (Latin, Han, other), computed from additive
statistics so a chunked count equals the whole-text count. A calibration fitted by ``tokctl audit
--calibrate`` from the user's own bills replaces the manifest's factors and is shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tokctl.registry.tokenizers import Tokenizer

# UTF-8 lead bytes: ASCII (< 0x80) and 2-byte sequences up to U+017F count as Latin; 3-byte sequences with lead
# bytes E3..E9 (U+3000..U+9FFF: CJK punctuation, kana, CJK ideographs) count as Han; every other character
# as other. Counting bytes keeps this at C speed.
_ASCII = bytes(range(0x80))
_LATIN2 = bytes(range(0xC2, 0xC6))
_HAN3 = bytes(range(0xE3, 0xEA))
_CONTINUATION = bytes(range(0x80, 0xC0))


def _count_in(data: bytes, members: bytes) -> int:
    return len(data) - len(data.translate(None, members))


@dataclass
class ScriptStats:
    latin: int = 0
    han: int = 0
    other: int = 0

    def add_text(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        chars = len(data) - _count_in(data, _CONTINUATION)
        latin = _count_in(data, _ASCII) + _count_in(data, _LATIN2)
        han = _count_in(data, _HAN3)
        self.latin += latin
        self.han += han
        self.other += chars - latin - han

    def merge(self, other: ScriptStats) -> None:
        self.latin += other.latin
        self.han += other.han
        self.other += other.other


@dataclass(frozen=True)
class EstimateBasis:
    factor: Decimal
    error_band: Decimal
    basis: str
    calibration: dict[str, Any] | None = field(default=None)


def weighted_factor(tokenizer: Tokenizer, stats: ScriptStats) -> Decimal:
    total = stats.latin + stats.han + stats.other
    if total == 0:
        return tokenizer.factor["latin"]
    weighted = (
        tokenizer.factor["latin"] * stats.latin
        + tokenizer.factor["han"] * stats.han
        + tokenizer.factor["other"] * stats.other
    )
    return weighted / total


def estimate_basis(tokenizer: Tokenizer, stats: ScriptStats) -> EstimateBasis:
    calibration = _calibration_for(tokenizer.id)
    if calibration is not None:
        factor = Decimal(str(calibration["factor"]))
        low, high = Decimal(str(calibration["ci_low"])), Decimal(str(calibration["ci_high"]))
        band = max(factor - low, high - factor) / factor if factor else Decimal(0)
        return EstimateBasis(
            factor,
            band.quantize(Decimal("0.0001")),
            f"calibrated on {calibration['samples']} of your records",
            calibration,
        )
    assert tokenizer.error_band is not None
    return EstimateBasis(weighted_factor(tokenizer, stats), tokenizer.error_band, tokenizer.basis or "")


def estimate_tokens(base_tokens: int, factor: Decimal) -> int:
    return int((Decimal(base_tokens) * factor).to_integral_value(rounding=ROUND_HALF_UP))


def _calibration_for(tokenizer_id: str) -> dict[str, Any] | None:
    try:
        from tokctl.registry.calibration import load_calibrations
    except ImportError:
        return None
    found = load_calibrations().get(tokenizer_id)
    if found is None:
        return None
    return found if isinstance(found, dict) else found.as_dict()
