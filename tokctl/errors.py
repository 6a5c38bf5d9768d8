"""Domain errors. Each message says what went wrong, where, and how to fix it.

The CLI turns any TokctlError into one line on stderr (``error: ...``) and its ``exit_code``;
no traceback reaches the user.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TokctlError(Exception):
    """Base of every error tokctl raises on purpose."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [f"{self.where}: {self.what}" if self.where else self.what]
        if self.fix:
            parts.append(self.fix)
        return "; ".join(parts)


class UsageError(TokctlError):
    """The command's arguments are wrong."""


class UnknownNameError(TokctlError):
    """A model, tokenizer, provider or preset that the registry does not know."""

    kind = "name"

    def __init__(self, name: str, known: Iterable[str], *, fix: str | None = None) -> None:
        self.name = name
        suggestions = difflib.get_close_matches(name.lower(), sorted(set(known)), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(suggestions)}?" if suggestions else None
        fix_text = "; ".join(p for p in (hint, fix) if p) or None
        super().__init__(f"unknown {self.kind} {name!r}", fix=fix_text)


class UnknownModelError(UnknownNameError):
    kind = "model"


class UnknownTokenizerError(UnknownNameError):
    kind = "tokenizer"


class UnknownProviderError(UnknownNameError):
    kind = "provider"


class RegistryError(TokctlError):
    """A registry data file (tokenizer manifest, provider price file, FX table) is invalid."""


class TokenizerUnavailableError(TokctlError):
    """A tokenizer file cannot be found offline."""


class IntegrityError(TokctlError):
    """A file does not match the sha256 its manifest pins."""


class InputFormatError(TokctlError):
    """An input file cannot be read in the expected format."""


class InputNotFoundError(TokctlError):
    """A path given on the command line does not exist or holds nothing to read."""


class OutputError(TokctlError, OSError):
    """An output file or directory cannot be written (or would overwrite something that is not ours).

    Also an OSError, so that code which treats a failed write as optional (the tokenizer cache) goes on."""


class FxError(TokctlError):
    """No exchange rate for a requested conversion."""


class NetworkError(TokctlError):
    """An explicit download failed."""
