"""Shared pieces of the benchmarks: timing, peak memory, child processes, machine facts, tables.

Every figure is the median of N repeats with its min-max range; every ratio compares figures measured in the
same run, on the same input, because this kind of machine is noisy (other work shares its cores).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "corpus"
# tokctl's cache for every benchmark (parsed vocabularies); warmed once, so timings are of a warm cache.
CACHE = OUT / "cache"
LIBRARIES = (
    "tokctl",
    "tiktoken",
    "tokenizers",
    "sentencepiece",
    "pyarrow",
    "pandas",
    "orjson",
    "duckdb",
    "genai-prices",
)


@dataclass
class Context:
    """What every benchmark gets from run.py."""

    corpus: Path
    shared_corpus: bool  # the shared corpus (with golden counts), not a generated one
    quick: bool
    repeats: int
    install_peers: bool = False


@dataclass
class Timing:
    """Wall seconds of repeated runs (and the peak RSS of each when measured)."""

    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def high(self) -> float:
        return max(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb) if self.peak_mb else float("nan")

    def span(self) -> str:
        return f"{self.median:.3f} ({self.low:.3f}-{self.high:.3f})"

    def rate(self, amount: float) -> float:
        """amount per second at the median time."""
        return amount / self.median

    def rate_span(self, amount: float, digits: int = 1) -> str:
        return f"{amount / self.median:,.{digits}f} ({amount / self.high:,.{digits}f}-{amount / self.low:,.{digits}f})"


def time_call(fn: Callable[[], Any], repeats: int, warmup: int = 0) -> tuple[Timing, Any]:
    """Run fn warmup + repeats times; the timing of the repeats and the last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    timing = Timing()
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        timing.seconds.append(time.perf_counter() - started)
    return timing, result


@dataclass
class ChildRun:
    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


# Linux carries the parent's RSS high-water mark into a forked child's ru_maxrss, so a child forked from
# this (large) process would report at least our own peak. A small launcher process forks the command
# instead and reports its children's peak and the command's own wall time.
_LAUNCHER = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "seconds = time.perf_counter() - started\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(f'{seconds} {peak}')\n"
    "sys.exit(code)\n"
)


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None, stdin: str | None = None) -> ChildRun:
    """Run a whole process: its wall time and its own peak RSS (measured by a small launcher)."""
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as report:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, report.name, *cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL if stdin is None else open(stdin, "rb"),  # noqa: SIM115
            env=env,
            cwd=ROOT,
        )
        out, err = proc.communicate()
        seconds, peak_kb = report.read().split()
    return ChildRun(
        float(seconds),
        int(peak_kb) / 1024,
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def time_child(
    cmd: Sequence[str], repeats: int, env: dict[str, str] | None = None, stdin: str | None = None
) -> tuple[Timing, ChildRun]:
    """Repeated whole-process runs; fails loudly when the process fails."""
    timing = Timing()
    last: ChildRun | None = None
    for _ in range(repeats):
        last = run_child(cmd, env, stdin)
        if last.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {last.returncode}: {last.stderr.strip()[-500:]}")
        timing.seconds.append(last.seconds)
        timing.peak_mb.append(last.peak_mb)
    assert last is not None
    return timing, last


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a tokctl child: the repo on the path, the bench cache, no network helpers."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["TOKCTL_CACHE_DIR"] = str(CACHE)
    env["HF_HUB_OFFLINE"] = "1"
    env.update(extra)
    return env


def use_bench_cache() -> None:
    """Point this process's tokctl cache at the bench cache (before any engine is built)."""
    os.environ["TOKCTL_CACHE_DIR"] = str(CACHE)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    """This process's peak RSS so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def machine() -> dict[str, Any]:
    versions = {name: _version(name) for name in LIBRARIES}
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {k: v for k, v in versions.items() if v},
        "loadavg": loadavg(),
    }


def machine_line(info: dict[str, Any]) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return (
        f"machine: {info['cores']} cores, {info['cpu']}, {info['memory_gb']} GB, {info['os']}, "
        f"Python {info['python']}; {libs}; load average at start {info['loadavg']}"
    )


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], notes: Sequence[str] = ()) -> None:
    """A plain fixed-width table (markdown-compatible, so it pastes into docs/benchmarks.md)."""
    cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |"

    print(f"\n### {title}\n", flush=True)
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    for note in notes:
        print(f"\n{note}")
    sys.stdout.flush()


def save(name: str, payload: dict[str, Any]) -> Path:
    """Raw figures of one benchmark as JSON in bench/out (for the docs and for later comparison)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, default=str))
    return path


def ratio(base: float, ours: float) -> str:
    """How many times faster ours is than base (times in seconds)."""
    return f"{base / ours:.2f}x"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"
