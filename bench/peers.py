"""Peer CLIs as whole processes: ttok, count-tokens and token-counter-cli against ``tokctl count``.

Inputs: the corpus parts joined (49.3 MB with the shared corpus) with the special-token literals defused
(``<|endoftext|>`` -> ``<|endoftext |>``: every peer fails or miscounts on them otherwise), and the first
1,024 bytes of en.txt. Each peer lives in its own venv under bench/out/peers (``--install-peers`` creates
them with pip); all use o200k_base through a pre-filled tiktoken cache, so nothing touches the network.
Peak memory is each child's own maximum RSS (wait4).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import (
    OUT,
    Context,
    Timing,
    child_env,
    print_table,
    run_child,
    save,
    time_child,
    verdict,
)
from bench.count import prepare_parts, seed_tiktoken_cache

PEERS_DIR = OUT / "peers"
SPEED_TARGET = 2.5
MEMORY_TARGET_MB = 300
SMALL_TARGET_S = 0.3
PEERS = {
    # name: (PyPI distribution, command after the venv's bin/, with {file})
    "ttok": ("ttok", ["ttok", "-m", "gpt-4o", "--allow-special", "-i", "{file}"]),
    "count-tokens": ("count-tokens", ["count-tokens", "-q", "-e", "o200k_base", "{file}"]),
    "token-counter-cli": ("token-counter-cli", ["token-counter", "-m", "o200k_base", "{file}"]),
}
DEFUSE = {"<|endoftext|>": "<|endoftext |>", "<|endofprompt|>": "<|endofprompt |>"}


def inputs(ctx: Context) -> tuple[Path, Path]:
    """(the joined, defused corpus; its first kilobyte)."""
    out_dir = OUT / "peers-input"
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = prepare_parts(ctx.corpus, 2.0 if ctx.quick else None)
    big = out_dir / ("all_nospecial_quick.txt" if ctx.quick else "all_nospecial.txt")
    if not big.exists():
        data = b"".join(parts[p].read_bytes() for p in ("en", "code", "zh"))
        for literal, defused in DEFUSE.items():
            data = data.replace(literal.encode(), defused.encode())
        big.write_bytes(data)
    small = out_dir / "1k.txt"
    if not small.exists():
        small.write_bytes(parts["en"].read_bytes()[:1024])
    return big, small


def peer_bin(name: str) -> Path:
    return PEERS_DIR / name / "bin"


def install(name: str) -> None:
    dist, _ = PEERS[name]
    venv = PEERS_DIR / name
    print(f"installing {dist} into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", dist], check=True)


def commands(ctx: Context) -> dict[str, list[str] | None]:
    found: dict[str, list[str] | None] = {
        "tokctl": [sys.executable, "-m", "tokctl", "count", "{file}", "-t", "o200k_base", "--format", "json"]
    }
    for name, (_, cmd) in PEERS.items():
        exe = peer_bin(name) / cmd[0]
        if not exe.exists() and ctx.install_peers:
            install(name)
        found[name] = [str(exe), *cmd[1:]] if exe.exists() else None
    return found


def tokctl_engine() -> str:
    """What ``tokctl count`` runs on the big file here: tiktoken alone, or with bpe_openai when it is verified."""
    import os

    from bench.common import use_bench_cache

    use_bench_cache()
    from tokctl.tokenize.engines import TiktokenEngine, get_engine

    engine = get_engine("o200k_base")
    if os.environ.get("TOKCTL_BPE_OPENAI", "").strip() == "0":
        return "tiktoken workers (bpe_openai disabled by TOKCTL_BPE_OPENAI=0)"
    if isinstance(engine, TiktokenEngine) and engine.fast_counter() is not None:
        if os.environ.get("TOKCTL_FORK", "").strip() == "0":
            return "tiktoken workers + bpe_openai on the reading thread (verified; TOKCTL_FORK=0)"
        return "bpe_openai (verified) in two processes, tokctl and a forked child, for the 49 MB file"
    return "tiktoken workers (bpe_openai not installed or not verified)"


def tokens_of(name: str, stdout: str) -> int:
    if name == "tokctl":
        return int(json.loads(stdout)["totals"][0]["tokens"])
    if name == "token-counter-cli":
        match = re.search(r"│\s*([\d,]+)\s*│\s*o200k_base", stdout)
    else:
        match = re.search(r"([\d,]+)\s*$", stdout.strip())
    if match is None:
        raise RuntimeError(f"{name}: no count in its output: {stdout[-300:]!r}")
    return int(match.group(1).replace(",", ""))


def run(ctx: Context) -> dict[str, Any]:
    big, small = inputs(ctx)
    env = child_env(TIKTOKEN_CACHE_DIR=str(seed_tiktoken_cache()), COLUMNS="200")
    megabytes = big.stat().st_size / 1e6
    cmds = commands(ctx)
    # Warm tokctl's vocabulary cache and every peer's .pyc files before timing.
    for cmd in cmds.values():
        if cmd is not None:
            run_child([c.format(file=small) for c in cmd], env)
    results: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for name, cmd in cmds.items():
        if cmd is None:
            skipped.append(f"{name}: not installed (run with --install-peers to create bench/out/peers/{name})")
            continue
        small_time, _ = time_child([c.format(file=small) for c in cmd], max(ctx.repeats, 7), env)
        big_time, last = time_child([c.format(file=big) for c in cmd], ctx.repeats, env)
        results[name] = {"small": small_time, "big": big_time, "tokens": tokens_of(name, last.stdout)}
    ours = results["tokctl"]
    peers = {k: v for k, v in results.items() if k != "tokctl"}
    fastest = min(peers, key=lambda k: peers[k]["big"].median) if peers else None
    rows = [_row(name, r, megabytes, ours) for name, r in results.items()]
    notes = [f"skipped {line}" for line in skipped]
    targets = {
        "1 KB wall < 0.3 s": verdict(ours["small"].median < SMALL_TARGET_S),
        f"peak RSS < {MEMORY_TARGET_MB} MB": verdict(ours["big"].peak < MEMORY_TARGET_MB),
    }
    if fastest is not None:
        speedup = peers[fastest]["big"].median / ours["big"].median
        targets[f">= {SPEED_TARGET}x the fastest peer ({fastest}, {speedup:.2f}x)"] = verdict(speedup >= SPEED_TARGET)
    notes.append("targets: " + "; ".join(f"{k}: {v}" for k, v in targets.items()))
    notes.append(f"tokctl engine for o200k_base: {tokctl_engine()}")
    print_table(
        f"Peer CLIs, whole processes, o200k_base: {megabytes:.1f} MB file and 1 KB file "
        f"(wall s, median of {ctx.repeats} / {max(ctx.repeats, 7)} (min-max))",
        ["tool", "1 KB wall s", f"{megabytes:.0f} MB wall s", "MB/s", "peak RSS MB", "tokens", "tokctl faster by"],
        rows,
        notes,
    )
    payload = {
        "megabytes": megabytes,
        "results": {
            k: {
                "small_s": v["small"].seconds,
                "big_s": v["big"].seconds,
                "big_peak_mb": v["big"].peak_mb,
                "tokens": v["tokens"],
            }
            for k, v in results.items()
        },
        "targets": targets,
        "skipped": skipped,
        "tokctl_engine": tokctl_engine(),
    }
    save("peers", payload)
    return payload


def _row(name: str, r: dict[str, Any], megabytes: float, ours: dict[str, Any]) -> list[str]:
    big: Timing = r["big"]
    small: Timing = r["small"]
    count = f"{r['tokens']:,}"
    if r["tokens"] != ours["tokens"]:
        count += f" ({r['tokens'] - ours['tokens']:+,} vs tokctl)"
    return [
        name,
        small.span(),
        big.span(),
        f"{megabytes / big.median:.1f}",
        f"{big.peak:.0f}",
        count,
        "-" if name == "tokctl" else f"{big.median / ours['big'].median:.2f}x",
    ]
