"""Reconcile N usage records against the example's month of bills: time and peak memory.

    python bench/bench_reconcile.py --records 1000000

The records are the example's logs (examples/reconcile/logs) repeated with their timestamps shifted by
whole minutes inside October, so every cell keeps its price rows and the bills stay those of the example
(the planted cells stay mismatched; the numbers are what is measured, not the verdict). Reading and pricing
the logs are the readers' and the pricer's cost and are timed apart.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tiled(table, records: int):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    copies = -(-records // table.num_rows)
    big = pa.concat_tables([table] * copies).slice(0, records)
    rng = np.random.default_rng(8)
    shift = pa.array(rng.integers(-30, 30, big.num_rows) * 60_000_000, pa.int64())  # +-30 minutes
    for name in ("ts_start", "ts_end"):
        column = big.column(name)
        moved = pc.add(column.cast(pa.int64()), shift).cast(column.type)
        big = big.set_column(big.column_names.index(name), name, moved)
    return big


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    import tokctl
    from tokctl.pricing import price_table

    example = ROOT / "examples" / "reconcile"
    bill = tokctl.read_bill([example / "bills"])
    logs = tokctl.read_usage([str(example / "logs")])
    usage = tiled(logs, args.records)
    started = time.perf_counter()
    priced = price_table(usage)
    priced_at = time.perf_counter()
    result = tokctl.reconcile(bill, priced)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"records {usage.num_rows:,}: price_table {priced_at - started:.2f} s, reconcile {done - priced_at:.2f} s "
        f"({usage.num_rows / (done - priced_at):,.0f} records/s), {len(result.cells)} cells, "
        f"{len(result.mismatched)} mismatched, peak RSS {peak:,.0f} MB"
    )


if __name__ == "__main__":
    main()
