"""Log ingest + pricing: mixed-vendor JSON-lines logs to priced Parquet, records/s and peak memory by size.

Each case runs in its own process (peak RSS is that process's own maximum, from wait4):
- tokctl: ``tokctl.export_usage(logs, out.parquet)``: read every record into the canonical schema, price it
  (``price_table`` batch by batch), collapse duplicates, write Parquet, streaming. Three ways: automatic
  (these logs are all fast-path shapes, so one process whose columnar reader runs on threads), two worker
  processes, and the per-record readers alone (``TOKCTL_ROW_READER=1``, what other shapes get: Claude Code
  transcripts, OTel spans, compressed files). With worker processes the peak is the largest process's
  (wait4 reports the maximum over the process and the children it waited for), not their sum.
- baseline: a plain ``json.loads`` loop picking model and token counts per record into a pandas DataFrame,
  written with ``to_parquet``: less work than tokctl (no canonical schema, no pricing, no dedup).
- duckdb's JSON reader, when duckdb is importable.
Logs come from bench/gen_logs.py (cached in bench/out/logs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import OUT, Context, child_env, print_table, run_child, save, verdict

SIZES = (100_000, 1_000_000, 5_000_000)
RATE_TARGET = 200_000
MEMORY_TARGET_MB = 1024


def _tokctl(logs: Path, out: Path, workers: int | None, row_reader: bool = False) -> int:
    import os

    if row_reader:
        os.environ["TOKCTL_ROW_READER"] = "1"  # before tokctl is imported; spawned workers inherit it
    import tokctl

    acc = tokctl.export_usage([str(logs)], str(out), workers=workers)
    return acc.parsed


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    response = record.get("response") or {}
    usage = (
        record.get("usage")
        or record.get("usageMetadata")
        or response.get("usage")
        or (record.get("metadata") or {}).get("usage_object")
        or {}
    )
    return {
        "id": record.get("id") or record.get("request_id") or record.get("responseId") or response.get("id"),
        "model": record.get("model") or record.get("modelVersion") or response.get("model"),
        "input_tokens": usage.get("prompt_tokens", usage.get("input_tokens", usage.get("promptTokenCount"))),
        "output_tokens": usage.get("completion_tokens", usage.get("output_tokens", usage.get("candidatesTokenCount"))),
    }


def _pandas(logs: Path, out: Path) -> int:
    import pandas as pd

    rows = []
    for path in sorted(logs.glob("*.jsonl")):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                rows.append(_flat(json.loads(line)))
    pd.DataFrame(rows).to_parquet(out)
    return len(rows)


def _duckdb(logs: Path, out: Path) -> int:
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_json_auto('{logs}/*.jsonl', union_by_name=true)) TO '{out}' (FORMAT parquet)"
    )
    return int(con.execute(f"SELECT count(*) FROM '{out}'").fetchone()[0])  # type: ignore[index]


CASES = {
    "tokctl export_usage (automatic: fast path, threads)": lambda logs, out: _tokctl(logs, out, None),
    "tokctl export_usage, 2 worker processes": lambda logs, out: _tokctl(logs, out, 2),
    "tokctl, per-record readers only, automatic workers": lambda logs, out: _tokctl(logs, out, None, True),
    "baseline json.loads -> pandas -> Parquet": _pandas,
    "duckdb read_json_auto -> Parquet": _duckdb,
}


def child(case: str, logs: Path, out: Path) -> None:
    started = time.perf_counter()
    records = CASES[case](logs, out)
    print(json.dumps({"records": records, "seconds": time.perf_counter() - started}))


def _has_duckdb() -> bool:
    import importlib.util

    return importlib.util.find_spec("duckdb") is not None


def run(ctx: Context) -> dict[str, Any]:
    from bench.gen_logs import generate

    sizes = SIZES[:1] if ctx.quick else SIZES
    cases = [c for c in CASES if _has_duckdb() or not c.startswith("duckdb")]
    notes = [] if _has_duckdb() else ["duckdb is not installed: its row is left out."]
    results: list[dict[str, Any]] = []
    out = OUT / "ingest.parquet"
    for size in sizes:
        logs = generate(OUT / "logs" / f"{size}", size)
        megabytes = sum(p.stat().st_size for p in logs.glob("*.jsonl")) / 1e6
        for case in cases:
            repeats = ctx.repeats if size <= 100_000 else 1
            runs = []
            for _ in range(repeats):
                cmd = [sys.executable, str(Path(__file__)), "--child", case, str(logs), str(out)]
                done = run_child(cmd, child_env())
                if done.returncode != 0:
                    raise RuntimeError(f"{case} on {size:,} records failed: {done.stderr[-800:]}")
                runs.append((json.loads(done.stdout.strip().splitlines()[-1]), done))
            runs.sort(key=lambda r: r[0]["seconds"])
            report, proc = runs[len(runs) // 2]
            results.append(
                {
                    "size": size,
                    "megabytes": megabytes,
                    "case": case,
                    "records": report["records"],
                    "seconds": [r[0]["seconds"] for r in runs],
                    "median_s": report["seconds"],
                    "wall_s": proc.seconds,
                    "peak_mb": max(r[1].peak_mb for r in runs),
                }
            )
            print(f"  {case} on {size:,}: {report['seconds']:.2f} s, {proc.peak_mb:.0f} MB", flush=True)
    out.unlink(missing_ok=True)
    rows = []
    for r in results:
        spread = f" ({min(r['seconds']):.2f}-{max(r['seconds']):.2f})" if len(r["seconds"]) > 1 else ""
        rows.append(
            [
                f"{r['size']:,} ({r['megabytes']:.0f} MB)",
                r["case"],
                f"{r['median_s']:.2f}{spread}",
                f"{r['records'] / r['median_s']:,.0f}",
                f"{r['peak_mb']:,.0f}",
            ]
        )  # fmt: skip
    million = [r for r in results if r["size"] == 1_000_000 and r["case"].startswith("tokctl export_usage")]
    if million:
        best = min(million, key=lambda r: r["median_s"])
        rate = best["records"] / best["median_s"]
        notes.append(
            f"target: 1M records to priced Parquet >= {RATE_TARGET:,} records/s ({best['case']}: {rate:,.0f}): "
            f"{verdict(rate >= RATE_TARGET)}; peak < {MEMORY_TARGET_MB} MB ({best['peak_mb']:.0f} MB): "
            f"{verdict(best['peak_mb'] < MEMORY_TARGET_MB)}"
        )
    print_table(
        "Log ingest + pricing to Parquet (seconds in the process, records/s, the process's peak RSS)",
        ["records (JSON-lines size)", "method", "seconds", "records/s", "peak RSS MB"],
        rows,
        notes,
    )
    payload = {"results": results}
    save("ingest", payload)
    return payload


if __name__ == "__main__":  # a child case; run.py starts it with the repository on PYTHONPATH
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True)
    parser.add_argument("logs", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    child(args.child, args.logs, args.out)
