"""Keep secrets out of the usage table.

Logs sometimes hold the API key itself where an id belongs (``"api_key": "sk-..."``, an ``Authorization``
header copied into tags). A value that looks like a secret is replaced by ``redacted:<12 hex>``, a short
sha256 of the secret: the same key still groups together in reports, and the key cannot be read back.
"""

from __future__ import annotations

import hashlib
import re

# Provider key shapes: OpenAI/Anthropic/DeepSeek/Moonshot/OpenRouter sk-..., Google AIza..., xAI xai-...,
# GitHub/HF tokens, JWTs, and anything after "Bearer" or "Basic".
_SECRET = re.compile(
    r"(?:\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,})"
    r"|(?:\bsk-[A-Za-z0-9_-]{12,})"
    r"|(?:\bAIza[0-9A-Za-z_-]{30,})"
    r"|(?:\bxai-[A-Za-z0-9_-]{20,})"
    r"|(?:\b(?:ghp|gho|github_pat|hf)_[A-Za-z0-9_]{20,})"
    r"|(?:\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
)
# Cheap pre-check so the full pattern runs only on the rare value that could match.
_MARKERS = re.compile("sk-|Bearer|Basic|AIza|xai-|_pat_|ghp_|gho_|hf_|eyJ")
MARKERS = _MARKERS  # for callers that run the pre-check inline, once per row


def alias(secret: str) -> str:
    """A stable, irreversible name for a secret."""
    return "redacted:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def redact(value: str | None) -> str | None:
    """``value`` with every secret-looking part replaced by its alias."""
    if value is None or _MARKERS.search(value) is None:
        return value
    return _SECRET.sub(lambda m: alias(m.group(0)), value)


# Projects, users and key ids repeat across a log: remembering them skips the pattern. A plain dict (emptied
# when full) is about twice as cheap per hit as functools.lru_cache, and this runs for every row.
_REDACTED: dict[str | None, str | None] = {}
_REDACTED_MAX = 16384


def redact_repeated(value: str | None) -> str | None:
    """:func:`redact`, remembered for values that repeat."""
    found = _REDACTED.get(value, _MISSING)
    if found is _MISSING:
        if len(_REDACTED) >= _REDACTED_MAX:
            _REDACTED.clear()
        found = _REDACTED[value] = redact(value)
    return found  # type: ignore[return-value]


_MISSING = object()


def key_field(value: str | None) -> str | None:
    """A field that holds the key itself (``api_key``): aliased unless it is already a hash or an id.

    LiteLLM logs the sha256 of its virtual keys (64 hex digits); vendors' key ids look like ``key_...`` or
    ``apikey_...``. Anything else may be a live key of a shape the patterns above do not know.
    """
    if value is None:
        return None
    if _HASH_OR_ID.fullmatch(value):
        return value
    return alias(value)


_HASH_OR_ID = re.compile(r"[0-9a-f]{64}|(?:key|apikey|api_key|ak)_[A-Za-z0-9]{1,40}|redacted:[0-9a-f]{12}")


def might_be_secret(value: str) -> bool:
    return _MARKERS.search(value) is not None


def redact_tags(tags: dict[str, str] | None) -> dict[str, str] | None:
    """Tags with secrets removed from values and keys (a LiteLLM tag list turns each bare item into a key)."""
    # One scan over all keys and values: no marker holds the separator, so none can match across two.
    if not tags or _MARKERS.search("\x00".join([*tags, *tags.values()])) is None:
        return tags
    return {redact(key) or "": redact(value) or "" for key, value in tags.items()}
