"""Keep secrets out of the usage table.

Logs sometimes hold the API key itself where an id belongs (``"api_key": "sk-..."``, an ``Authorization``
header copied into tags). A value that looks like a secret is replaced by ``redacted:<12 hex>``, a short
sha256 of the secret: the same key still groups together in reports, and the key cannot be read back.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

# Key shapes, from the vendors' docs and the public secret-scanner rule sets (gitleaks, trufflehog):
#   sk-...            OpenAI (sk-, sk-proj-, sk-svcacct-, sk-admin-), Anthropic sk-ant-, DeepSeek, Alibaba
#                     DashScope, Moonshot, Tencent Hunyuan, OpenRouter sk-or-v1-
#   AIza...           Google API keys (Gemini, Vertex express)       xai-...   xAI
#   gsk_ fw_ r8_ hf_ pplx- csk- ghp_ gho_ ghu_ ghs_ github_pat_        Groq, Fireworks, Replicate, Hugging Face,
#                     Perplexity, Cerebras, GitHub
#   AKIA ASIA ...     AWS access key ids (Bedrock)                   LTAI      Alibaba Cloud AccessKey id
#   AKID              Tencent Cloud SecretId                          AKLT      Volcengine AccessKey id
#   bce-v3/ALTAK-     Baidu Qianfan keys                              id.secret Zhipu (32 hex, a dot, 16)
#   eyJ...            JWTs (MiniMax keys, Zhipu's signed tokens)
# and, whatever their shape, a credential after an authorization scheme (Bearer, Basic, Token, any case) or
# after a credential-like name (``?key=``, ``api_key=``, ``x-api-key:``, ``"token": "..."``).
_SHAPES = (
    r"\bsk-[A-Za-z0-9_-]{12,}",
    r"\bAIza[0-9A-Za-z_-]{30,}",
    r"\bxai-[A-Za-z0-9_-]{20,}",
    r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat|hf|gsk|fw|r8)_[A-Za-z0-9_]{20,}",
    r"\b(?:pplx|csk)-[A-Za-z0-9]{20,}",
    r"\b(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}\b",
    r"\bLTAI[A-Za-z0-9]{12,30}\b",
    r"\bAKID[A-Za-z0-9]{13,40}\b",
    r"\bAKLT[A-Za-z0-9_-]{20,}",
    r"\bbce-v3/ALTAK-[A-Za-z0-9]+/[A-Za-z0-9]+",
    r"\bALTAK[A-Za-z0-9]{10,}",
    r"\b[0-9a-f]{32}\.[A-Za-z0-9]{16}\b",
    r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
)
_SCHEME = r"(?i:\b(?:bearer|basic|token|api-key|apikey)[ \t]+)(?P<scheme>[A-Za-z0-9._~+/=-]{8,})"
_NAMED = (
    r"(?i:\b(?:api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret[_-]?(?:access[_-]?)?key|access[_-]?token|"
    r"auth[_-]?token|x-api-key|x-goog-api-key|authorization|password|secret|token|key|sig|signature)"
    r"[\"']?[ \t]*[=:][ \t]*[\"']?)(?P<named>[^\s&\"',;}{)(]{8,})"
)
_SECRET = re.compile("|".join([_SCHEME, _NAMED, *(f"(?:{shape})" for shape in _SHAPES)]))
# A raw key without any prefix (Mistral's: 32 letters and digits, mixed case) standing on its own: a hex digest
# or a hex id (one case only) is not one, nor a token inside a longer id (``chatcmpl-...``).
_RAW = re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z0-9]{32,64}(?![A-Za-z0-9_.-])")
# Cheap pre-check so the full pattern runs only on the rare value that could match. Arrow runs it too (RE2:
# no look-arounds), so it is a plain superset of the patterns above.
_MARKERS = re.compile(
    "sk-|AIza|xai-|_pat_|ghp_|gho_|ghu_|ghs_|ghr_|hf_|gsk_|fw_|r8_|pplx-|csk-|eyJ|A3T|AKIA|AGPA|AIDA|AROA|"
    "AIPA|ANPA|ANVA|ASIA|LTAI|AKID|AKLT|ALTAK|[0-9a-f]{32}\\.|"
    "(?i:bearer|basic|token|api-key|apikey|key|secret|password|authorization|sig)"
)
MARKERS = _MARKERS  # for callers that run the pre-check inline, once per row
RAW_MARKER = "[A-Za-z0-9]{32}"


def _alias_match(match: re.Match[str]) -> str:
    for group in ("scheme", "named"):
        found = match.group(group)
        if found is not None:
            whole = match.group(0)
            if not _credential_like(found) and not whole[:6].lower().startswith(("bearer", "basic")):
                return whole
            start = match.start(group) - match.start(0)
            return match.group(0)[:start] + alias(found)
    return alias(match.group(0))


def _credential_like(value: str) -> bool:
    """A value after ``key=`` or ``token:`` that could be a credential: it has a digit, and it is not
    already an alias (``redacted:...``) or an English word."""
    return any(c.isdigit() for c in value) and not value.startswith("redacted:")


def _raw_match(match: re.Match[str]) -> str:
    value = match.group(0)
    if value.isdigit() or value.islower() or value.isupper() or value.isalpha():
        return value  # hex digests, plain numbers, words: not a key
    return alias(value)


def alias(secret: str) -> str:
    """A stable, irreversible name for a secret."""
    return "redacted:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def redact(value: str | None) -> str | None:
    """``value`` with every secret-looking part replaced by its alias."""
    if value is None or _MARKERS.search(value) is None:
        return value
    return _SECRET.sub(_alias_match, value)


def redact_label(value: str | None) -> str | None:
    """:func:`redact`, and raw keys (letters and digits, 32 to 64, mixed case, on their own) too."""
    value = redact(value)
    if value is None or len(value) < 32:
        return value
    return _RAW.sub(_raw_match, value)


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
    """Tags with secrets removed from values and keys (a LiteLLM tag list turns each bare item into a key);
    the value of a tag named like a credential (``api_key``, ``authorization``) is aliased whatever it looks
    like."""
    if not tags:
        return tags
    return {redact_label(key) or "": _tag_value(key, value) for key, value in tags.items()}


_CREDENTIAL_NAME = re.compile(
    r"(?i)(?:x-)?(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|authorization|secret(?:[_-]?key)?|"
    r"password|token|x-goog-api-key)"
)


def _tag_value(key: str, value: str) -> str:
    if _CREDENTIAL_NAME.fullmatch(key) and value:
        return key_field(value) or ""
    return redact_label(value) or ""


# ---- the last pass: every text column of a table that leaves tokctl ---------------------------------------

# Columns tokctl fills itself with hashes (record_id, line_id): nothing of the input is in them.
_OWN = frozenset({"record_id", "line_id"})


def redact_table(table: Any) -> Any:
    """``table`` (a RecordBatch or Table) with :func:`redact_label` applied to every text value of every
    column (dictionaries, strings, lists and maps of strings). Arrow's regex engine picks out the values
    that could hold a secret; Python runs only on those."""
    import pyarrow as pa

    columns = []
    changed = False
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.name in _OWN:
            columns.append(column)
            continue
        clean = _redact_array(column)
        changed = changed or clean is not column
        columns.append(clean)
    if not changed:
        return table
    kind = pa.RecordBatch if isinstance(table, pa.RecordBatch) else pa.Table
    return kind.from_arrays(columns, schema=table.schema)


def _redact_array(array: Any) -> Any:
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        chunks = [_redact_array(chunk) for chunk in array.chunks]
        if all(a is b for a, b in zip(chunks, array.chunks, strict=True)):
            return array
        return pa.chunked_array(chunks, type=array.type)
    kind = array.type
    if pa.types.is_dictionary(kind):
        clean = _redact_array(array.dictionary)
        if clean is array.dictionary:
            return array
        return pa.DictionaryArray.from_arrays(array.indices, clean)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _redact_strings(array)
    if pa.types.is_map(kind):
        keys = _redact_array(array.keys)
        items = _redact_map_items(array)
        if keys is array.keys and items is array.items:
            return array
        return pa.MapArray.from_arrays(array.offsets, keys, items, type=kind, mask=array.is_null())
    if pa.types.is_list(kind):
        values = _redact_array(array.values)
        if values is array.values:
            return array
        return pa.ListArray.from_arrays(array.offsets, values, type=kind, mask=array.is_null())
    return array


def _redact_map_items(array: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(array.keys):
        return array.items
    named = pc.match_substring_regex(array.keys, _CREDENTIAL_NAME.pattern.removeprefix("(?i)"), ignore_case=True)
    if not pc.any(named).as_py():
        return _redact_array(array.items)
    keys, items = array.keys.to_pylist(), array.items.to_pylist()
    clean = [None if v is None else _tag_value(k or "", v) for k, v in zip(keys, items, strict=True)]
    if clean == items:
        return array.items
    return pa.array(clean, array.items.type)


def _redact_strings(array: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(array) == array.null_count:
        return array
    if len(array) > 64 and 2 * pc.count_distinct(array.slice(0, 1024)).as_py() < min(len(array), 1024):
        encoded = array.dictionary_encode()
        if 2 * len(encoded.dictionary) < len(array):  # repeated labels: each distinct value once
            clean = _redact_strings(encoded.dictionary)
            return array if clean is encoded.dictionary else clean.take(encoded.indices)
    hits = pc.match_substring_regex(array, _ANY)
    if not pc.any(hits).as_py():
        return array
    where = pc.indices_nonzero(pc.fill_null(hits, False))
    subset = array.take(where)
    mixed = pc.and_(pc.match_substring_regex(subset, "[A-Z]"), pc.match_substring_regex(subset, "[a-z]"))
    raw = pc.and_(pc.match_substring_regex(subset, RAW_MARKER), mixed)
    keep = pc.or_(pc.match_substring_regex(subset, MARKERS.pattern), raw)
    where, subset = where.filter(keep), subset.filter(keep)
    before = subset.to_pylist()
    after = [redact_label(v) for v in before]
    if after == before:
        return array
    values = array.to_pylist()
    for index, value in zip(where.to_pylist(), after, strict=True):
        values[index] = value
    return pa.array(values, array.type)


_ANY = f"{MARKERS.pattern}|{RAW_MARKER}"
