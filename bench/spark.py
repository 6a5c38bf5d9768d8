"""The same logs read, deduplicated and priced on one machine and by Spark in local[1] and local[2].

    python bench/spark.py [--records 500000] [--split-mb 8]

Each measurement runs in a child process of its own (one SparkContext per process), timed from the first
read to the last priced row (Spark's ``noop`` sink forces every row; session start-up is left out and
printed apart). Figures: records/s and the scaling from 1 to 2 Spark workers. Raw figures go to
bench/out/spark.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT, loadavg, machine, machine_line, save

CHILD = r"""
import json, sys, time
mode, logs, split = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "single":
    import tokctl
    started = time.perf_counter()
    result = tokctl.read_usage_with_accounting([logs], price=True, workers=1)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": result.table.num_rows,
                      "records": result.accounting.records, "startup": 0}))
else:
    from tokctl.engines import spark as engine
    begun = time.perf_counter()
    session = engine.session(mode, conf={"spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "8"})
    session.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - begun
    counts = engine.SparkAccounting(session)
    started = time.perf_counter()
    usage = engine.price(engine.read_usage(session, [logs], accounting=counts, split_bytes=split), accounting=counts)
    usage.write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - started
    acc = counts.result()
    print(json.dumps({"seconds": seconds, "rows": acc.rows - acc.duplicates, "records": acc.records,
                      "startup": startup}))
"""


def measure(mode: str, logs: Path, split: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(logs), str(split)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--split-mb", type=int, default=8, help="byte ranges per Spark task (default 8 MB)")
    args = parser.parse_args()
    from bench.gen_logs import generate

    logs = generate(OUT / f"logs-{args.records}", args.records)
    size = sum(p.stat().st_size for p in logs.glob("*.jsonl"))
    print(f"# Spark engine\n\ncommand: python bench/spark.py --records {args.records} --split-mb {args.split_mb}")
    print(f"{machine_line(machine())}\ninput: {args.records} records, {size / 1e6:.0f} MB, load average {loadavg()}")
    results = {}
    for mode in ("single", "local[1]", "local[2]"):
        started = time.perf_counter()
        results[mode] = measure(mode, logs, args.split_mb << 20)
        results[mode]["wall"] = time.perf_counter() - started
    base = results["local[1]"]["seconds"]
    print("\n| engine | seconds | records/s | rows out | Spark start-up s |\n| --- | ---: | ---: | ---: | ---: |")
    for mode, r in results.items():
        rate = r["records"] / r["seconds"]
        print(f"| {mode} | {r['seconds']:.1f} | {rate:,.0f} | {r['rows']} | {r['startup']:.1f} |")
    print(f"\nscaling local[1] -> local[2]: {base / results['local[2]']['seconds']:.2f}x (load average {loadavg()})")
    save("spark", {"records": args.records, "bytes": size, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
