"""bpe_openai (GitHub's rust-gems ``bpe-openai`` crate) as a faster exact counter for o200k_base and cl100k_base.

On one core it counts 1.5-1.9x faster than tiktoken, but it holds the GIL, and only inputs large enough to pay
for loading it use it: large regular files are shared between this process and one forked child that both count
with it (tokctl.counting.api, tokctl.tokenize.forked); elsewhere (stdin, one CPU, no fork, other threads alive) it
runs on the thread that reads the input while tiktoken workers (which release the GIL) take other chunks.

Its vocabularies are compiled into its binary, not read from tokctl's verified files, so it counts for a
tokenizer only when both hold:
- the tokenizer's file sha256 (from the registry manifest) is one this bpe_openai is known to embed, with the
  pre-tokenizer pattern its hand-written pre-tokenizer implements, and no normalization or rank limit;
- a probe text of edge cases encodes to the same ids as tiktoken. The verdict is cached per bpe_openai build,
  tiktoken version, vocabulary and probe, so the probe runs once per installation.
Anything else (not installed, another build, a probe mismatch) leaves counting to tiktoken alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokctl import settings
from tokctl.paths import cache_dir
from tokctl.registry.tokenizers import Tokenizer
from tokctl.tokenize.small_bpe import CL100K_PATTERN, O200K_PATTERN

DISABLE_ENV = settings.BPE_OPENAI  # "0" keeps counting on tiktoken alone
_BINDINGS = "bpe_openai._bindings"

# sha256 of the vocabulary file -> (bpe_openai encoding name, the pattern its pre-tokenizer implements).
# Checked against bpe-openai 0.1.4: its bundled data/*.tiktoken.gz decompress to exactly these files.
EMBEDDED = {
    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d": ("o200k_base", O200K_PATTERN),
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7": ("cl100k_base", CL100K_PATTERN),
}

PROBE = "".join(
    [
        "Hello, World! HELLO world hello_world HelloWorld helloWORLD ǅemal Ǆ ǈ\n",
        "I'm you're we've they'll she'd it's DON'T WE'VE They'Ll 's 't 're\n",
        "\n    \n\n  \n\t\n \n\r\n\r\r\n  \r\n \t \u3000 \u00a0 \u2003x  y   z    \n",
        "trailing spaces    \n    leading\n\n\n\nnewline runs\n\n\n  \n",
        "def f(x):\n    return x ** 2  # comment\n\tif a != b: pass\n}\n{\n    'k': [1, 2, 3],\n}\n",
        "1 12 123 1234 12345 123456 3.14159 1e-10 0x1F ١٢٣٤٥ ¹²³ ½ ⅷ 2024-01-02T03:04:05Z\n",
        "中文字幕，红楼梦第一回：甄士隐梦幻识通灵。日本語のテキストとカタカナ한국어 텍스트\n",
        "Arabic العربية Hindi हिन्दी Thai ภาษาไทย Hebrew עברית Greek ΕΛΛΗΝΙΚΆ Cyrillic ЖЁЛТЫЙ\n",
        "emoji 😀👍🏽👩‍👩‍👧‍👦🇨🇳🏳️‍🌈 ❤️ ✔︎\n",
        "combining e\u0301 a\u0308 n\u0303 o\u0302\u0323 \u0301\u0301 precomposed é ä ñ\n",
        "<|endoftext|> <|endofprompt|> <|fim_prefix|><|fim_middle|><|fim_suffix|> <|im_start|>user\n",
        "\u200b zero width \ufeff bom \u2028 line sep \u0085 nel \x00 \x1b[0m \x7f\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ================================ --------\n",
        "https://example.com/path?q=1&r=2#frag user@example.org C:\\Users\\x\\file.txt ../a/b//c\n",
        "!!! ??? ... ,,, ;;; ::: ''' \"\"\" ``` ~~~ *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]]\n",
        "ﬁ ﬀ ＡＢＣ１２３ ﹏ ︵ ∑∫√∞ ≠ ≤ → ⇒ ™ © ® € £ ¥ ₹\n",
        "   ",
    ]
)

_lock = threading.Lock()
_module: Any = None
_module_tried = False


def disabled() -> bool:
    return not settings.current().bpe_openai


def _extension_path() -> Path | None:
    """The compiled ``bpe_openai/_bindings`` file, found without importing the package."""
    import importlib.machinery
    import importlib.util

    if "bpe_openai" in sys.modules and sys.modules["bpe_openai"] is None:
        return None  # imports of it are blocked on purpose
    try:
        spec = importlib.util.find_spec("bpe_openai")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(location) / f"_bindings{suffix}"
            if path.is_file():
                return path
    return None


def load_bindings() -> Any | None:
    """The compiled module, loaded once; None when bpe_openai is not installed or cannot load.

    The package's ``__init__`` parses all its vocabulary files in Python (~0.45 s) just to list special tokens;
    tokctl needs none of that, so it loads the compiled module directly (~1 ms, ~0.05 s to build a tokenizer).
    """
    global _module, _module_tried
    with _lock:
        if _module_tried:
            return _module
        _module_tried = True
        existing = sys.modules.get(_BINDINGS)
        if existing is not None:
            _module = existing
            return _module
        path = _extension_path()
        if path is None:
            return None
        import importlib.machinery
        import importlib.util

        loader = importlib.machinery.ExtensionFileLoader(_BINDINGS, str(path))
        spec = importlib.util.spec_from_file_location(_BINDINGS, path, loader=loader)
        if spec is None:
            return None
        try:
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
        except Exception:  # a broken or foreign build: counting goes on with tiktoken
            return None
        # Registered so that a later ``import bpe_openai`` reuses it (a PyO3 module initializes only once).
        sys.modules[_BINDINGS] = module
        _module = module
        return _module


def forget_bindings() -> None:
    """Forget the loading attempt (tests that block or fake the package use it)."""
    global _module, _module_tried
    with _lock:
        _module, _module_tried = None, False


def eligible(tokenizer: Tokenizer) -> str | None:
    """The bpe_openai encoding that embeds exactly this tokenizer's vocabulary and pattern, else None."""
    if tokenizer.engine != "tiktoken" or tokenizer.normalization or len(tokenizer.files) != 1:
        return None
    spec = tokenizer.files[0]
    if spec.format != "tiktoken" or spec.rank_limit:
        return None
    known = EMBEDDED.get(spec.sha256)
    if known is None or known[1] != tokenizer.pattern:
        return None
    return known[0]


def _build_id(module: Any) -> str:
    """What identifies this bpe_openai build: its version and its compiled file's size and mtime."""
    from importlib import metadata

    try:
        version = metadata.version("bpe-openai")
    except metadata.PackageNotFoundError:
        version = str(getattr(module, "RUST_BACKEND_VERSION", "unknown"))
    try:
        stat = os.stat(module.__file__)
        return f"{version}-{stat.st_size}-{stat.st_mtime_ns}"
    except (OSError, TypeError, AttributeError):
        return version


def _verdict_path(module: Any, sha256: str, reference_version: str) -> Path:
    key = hashlib.sha256(
        f"{_build_id(module)}\n{reference_version}\n{sha256}\n{PROBE}".encode("utf-8", "surrogatepass")
    ).hexdigest()
    return cache_dir() / "parsed" / f"bpe-openai-{key[:32]}.verdict"


def probe_matches(counter: Any, reference: Callable[[str], list[int]]) -> bool:
    """Whether bpe_openai's ids equal the reference's on the probe text, whole and line by line."""
    texts = [PROBE, *PROBE.splitlines(keepends=True)]
    try:
        return all(list(counter.encode(t)) == list(reference(t)) for t in texts) and all(
            counter.count(t) == len(reference(t)) for t in texts
        )
    except Exception:  # any failure of the foreign engine is a failed check, not a failed count
        return False


def fast_counter(
    tokenizer: Tokenizer, reference: Callable[[str], list[int]], reference_version: str
) -> Callable[[str], int] | None:
    """bpe_openai's ``count`` for this tokenizer when it is known to embed the same vocabulary and the probe
    agrees with ``reference`` (tiktoken's encode_ordinary), else None."""
    if disabled():
        return None
    name = eligible(tokenizer)
    if name is None:
        return None
    module = load_bindings()
    if module is None:
        return None
    try:
        counter = module.tokenizer_for_encoding(name)
    except Exception:
        return None
    path = _verdict_path(module, tokenizer.files[0].sha256, reference_version)
    try:
        verdict = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        verdict = ""
    if verdict not in ("exact", "differs"):
        verdict = "exact" if probe_matches(counter, reference) else "differs"
        _write_verdict(path, verdict)
        if verdict == "differs":
            print(
                f"warning: bpe_openai differs from tiktoken on {tokenizer.id}'s probe text; counting with tiktoken",
                file=sys.stderr,
            )
    if verdict != "exact":
        return None
    count: Callable[[str], int] = counter.count
    return count


def _write_verdict(path: Path, verdict: str) -> None:
    from tokctl.atomic import write_bytes_atomic

    with contextlib.suppress(OSError):  # unwritable cache: the probe simply runs again next time
        write_bytes_atomic(path, f"{verdict}\n".encode("ascii"))
