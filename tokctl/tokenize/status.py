"""What the tokenizer registry can do on this machine: availability and verification of every file."""

from __future__ import annotations

from typing import Any

from tokctl.errors import IntegrityError, TokenizerUnavailableError
from tokctl.registry.tokenizers import all_tokenizers, get_tokenizer
from tokctl.tokenize.tokenizer_files import availability, load_file


def tokenizer_rows() -> list[dict[str, Any]]:
    rows = []
    for tok in all_tokenizers().values():
        if tok.is_estimate:
            offline, source = True, f"estimate from {tok.base} ±{tok.error_band * 100:.0f}%"  # type: ignore[operator]
        else:
            offline, source = availability(tok)
        rows.append(
            {
                "id": tok.id,
                "engine": tok.engine,
                "accuracy": tok.accuracy,
                "offline": offline,
                "source": source,
                "description": tok.description,
            }
        )
    return rows


def verify_tokenizers(ids: list[str]) -> list[dict[str, Any]]:
    tokenizers = [get_tokenizer(i) for i in ids] if ids else list(all_tokenizers().values())
    rows = []
    for tok in tokenizers:
        if tok.is_estimate:
            rows.append({"id": tok.id, "file": "-", "status": "n/a", "detail": f"estimate from {tok.base}"})
            continue
        for spec in tok.files:
            try:
                found = load_file(tok, spec)
            except IntegrityError as exc:
                rows.append({"id": tok.id, "file": spec.name, "status": "mismatch", "detail": exc.one_line()})
            except TokenizerUnavailableError as exc:
                rows.append({"id": tok.id, "file": spec.name, "status": "unavailable", "detail": exc.fix or ""})
            else:
                rows.append(
                    {
                        "id": tok.id,
                        "file": spec.name,
                        "status": "ok",
                        "detail": f"sha256 {spec.sha256[:16]}... from {found.origin}",
                    }
                )
    return rows
