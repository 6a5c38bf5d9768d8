"""Run tokctl's benchmarks: one table per benchmark, each with ratios against baselines of the same run.

    .venv/bin/python bench/run.py [--corpus DIR] [--quick] [--only NAME ...] [--install-peers]

Corpus: ../shared/bench/corpus next to the repository when present, else --corpus DIR, else a generated
synthetic corpus (bench/gen_corpus.py) in bench/out/corpus. Raw figures go to bench/out/<name>.json.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT, SHARED_CORPUS, Context, loadavg, machine, machine_line, save

BENCHMARKS = ("count", "peers", "pricing", "ingest", "reconcile")


def pick_corpus(given: Path | None, quick: bool) -> tuple[Path, bool]:
    if SHARED_CORPUS.is_dir():
        return SHARED_CORPUS, True
    if given is not None:
        return given, False
    from bench.gen_corpus import generate

    return generate(OUT / "corpus", 2 if quick else 8), False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="directory with en.txt, code.txt, zh.txt")
    parser.add_argument("--quick", action="store_true", help="small inputs, for a check in a minute or two")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (default 3)")
    parser.add_argument(
        "--install-peers", action="store_true", help="create the peer CLIs' venvs under bench/out/peers with pip"
    )
    args = parser.parse_args()
    corpus, shared = pick_corpus(args.corpus, args.quick)
    ctx = Context(corpus, shared, args.quick, args.repeats, args.install_peers)
    info = machine()
    command = " ".join(["python", "bench/run.py", *sys.argv[1:]])
    print(f"# tokctl benchmarks\n\ncommand: {command}\n{machine_line(info)}\ncorpus: {corpus}", flush=True)
    failures = []
    results = {}
    for name in args.only or BENCHMARKS:
        started = time.perf_counter()
        try:
            results[name] = importlib.import_module(f"bench.{name}").run(ctx)
        except Exception as exc:
            failures.append(name)
            traceback.print_exc()
            print(f"\n{name}: FAILED ({type(exc).__name__}: {exc})", flush=True)
        print(f"\n({name}: {time.perf_counter() - started:.0f} s; load average now {loadavg()})", flush=True)
    save("run", {"command": command, "machine": info, "failed": failures})
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
