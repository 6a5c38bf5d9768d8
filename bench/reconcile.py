"""Reconcile: N usage records against a month of bills, time and peak memory (10M; --quick: 1M).

The records are examples/reconcile's logs repeated with their times moved by whole minutes inside the month
(bench/bench_reconcile.py's ``tiled``), against that example's bills, so every cell keeps its price rows.
Each size runs in its own process; the table shows building the records, pricing them (price_table) and
reconciling them apart, and the process's peak RSS. The baseline is a plain pandas groupby of the same
priced records to the bill's grain (day, provider, model): the aggregation any reconciliation needs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, Context, child_env, print_table, run_child, save


def child(records: int) -> None:
    import pyarrow.compute as pc

    import tokctl
    from bench.bench_reconcile import tiled
    from tokctl.pricing import price_table

    example = ROOT / "examples" / "reconcile"
    bill = tokctl.read_bill([example / "bills"])
    logs = tokctl.read_usage([str(example / "logs")])
    started = time.perf_counter()
    usage = tiled(logs, records)
    built = time.perf_counter()
    priced = price_table(usage)
    priced_at = time.perf_counter()
    result = tokctl.reconcile(bill, priced)
    reconciled = time.perf_counter()
    frame = priced.select(["ts_start", "provider", "model", "cost"]).to_pandas()
    frame["day"] = frame["ts_start"].dt.floor("D")
    frame.groupby(["day", "provider", "model"], observed=True)["cost"].count()
    baseline_done = time.perf_counter()
    print(
        json.dumps(
            {
                "records": usage.num_rows,
                "build_s": built - started,
                "price_s": priced_at - built,
                "reconcile_s": reconciled - priced_at,
                "pandas_groupby_s": baseline_done - reconciled,
                "cells": len(result.cells),
                "mismatched": len(result.mismatched),
                "unpriced": int(pc.sum(pc.is_null(priced["cost"])).as_py() or 0),
            }
        )
    )


def run(ctx: Context) -> dict[str, Any]:
    sizes = (1_000_000,) if ctx.quick else (1_000_000, 10_000_000)
    rows = []
    results = []
    for size in sizes:
        done = run_child([sys.executable, str(Path(__file__)), "--child", str(size)], child_env())
        if done.returncode != 0:
            raise RuntimeError(f"reconcile of {size:,} records failed: {done.stderr[-800:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        report["peak_mb"] = done.peak_mb
        report["wall_s"] = done.seconds
        results.append(report)
        rows.append(
            [
                f"{report['records']:,}",
                f"{report['build_s']:.2f}",
                f"{report['price_s']:.2f}",
                f"{report['reconcile_s']:.2f}",
                f"{report['records'] / report['reconcile_s']:,.0f}",
                f"{report['pandas_groupby_s']:.2f}",
                f"{report['cells']:,} ({report['mismatched']} mismatched)",
                f"{report['wall_s']:.1f}",
                f"{done.peak_mb:,.0f}",
            ]
        )
    print_table(
        "Reconcile against examples/reconcile's month of bills (seconds; one process per size)",
        [
            "records",
            "build s",
            "price_table s",
            "reconcile s",
            "reconcile records/s",
            "pandas groupby s (baseline)",
            "cells",
            "process wall s",
            "peak RSS MB",
        ],
        rows,
        [
            "The mismatched cells are the example's planted discrepancies (its bills are of the untiled logs); "
            "what is measured is the time. The pandas baseline only groups the priced records to the bill's "
            "grain (day, provider, model) after a to_pandas(); it neither reads the bills nor explains anything."
        ],
    )
    payload = {"results": results}
    save("reconcile", payload)
    return payload


if __name__ == "__main__":  # a child size; run.py starts it with the repository on PYTHONPATH
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int, required=True)
    child(parser.parse_args().child)
