"""The long fuzzing run: atheris (libFuzzer, coverage-guided) over the log readers, the bill readers, the chat
parser and the price-file loader. Not a test (pytest does not collect it); docs/hardening.md has the figures.

    .venv/bin/pip install atheris
    .venv/bin/python tests/fuzz_atheris.py logs -runs=200000 -max_len=8192 /tmp/fuzz-logs

TARGET is one of logs, bills, chat, prices. The corpus directory (created when missing) is seeded with the real
files of examples/ and tests/data/, so the fuzzer starts from every vendor format and mutates from there. An
input may only end in tokctl's own errors (TokctlError: one line, exit 2); anything else is a crash, and
libFuzzer stops and writes the input to crash-<sha1>. For the logs, the accounting must add up, and records
that a reader failed on but the pipeline's safety net counted (``unknown_shape: unexpected structure``) are
tallied and printed at exit: they are handled, but each is a reader that did not expect its input.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["tokctl"]):
    import importlib
    import pkgutil
    import tomllib

    import tokctl

    # tokctl imports most modules lazily, inside functions: import them all here so they are instrumented.
    for _module in pkgutil.walk_packages(tokctl.__path__, "tokctl."):
        if not _module.name.startswith(("tokctl.cli", "tokctl.__main__")):
            importlib.import_module(_module.name)
    from tokctl.bills import read_bill
    from tokctl.counting.chat import count_chat_file
    from tokctl.errors import TokctlError
    from tokctl.registry.providers import parse_platform

SEEDS = {
    "logs": [ROOT / "examples" / "logs", ROOT / "tests" / "data" / "bad" / "logs"],
    "bills": [ROOT / "tests" / "data" / "bills", ROOT / "tests" / "data" / "bad" / "bills"],
    "chat": [ROOT / "tests" / "data" / "chat", ROOT / "tests" / "data" / "bad" / "chat"],
    "prices": [ROOT / "tokenizers_registry" / "providers"],
}
LOG_SUFFIXES = (".jsonl", ".json", ".csv", ".sse", ".jsonl.gz")
BILL_SUFFIXES = (".json", ".csv", ".jsonl", ".parquet")
SCRATCH = Path(tempfile.mkdtemp(prefix="tokctl-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
TALLY: collections.Counter[str] = collections.Counter()


def _scratch(data: bytes, suffixes: tuple[str, ...]) -> tuple[Path, bytes]:
    """The input as a file; its first byte picks the suffix (so the reader picks JSON lines, CSV, ...)."""
    suffix = suffixes[data[0] % len(suffixes)] if data else suffixes[0]
    path = SCRATCH / f"input{suffix}"
    path.write_bytes(data[1:])
    return path, data[1:]


def fuzz_logs(data: bytes) -> None:
    path, _ = _scratch(data, LOG_SUFFIXES)
    TALLY["inputs"] += 1
    try:
        result = tokctl.read_usage_with_accounting([str(path)], price=True)
    except TokctlError:
        TALLY["tokctl_error"] += 1
        return
    acc = result.accounting
    if acc.records != acc.parsed + acc.skipped or result.table.num_rows != acc.rows - acc.duplicates:
        raise AssertionError(f"accounting does not add up: {acc}")
    TALLY["records"] += acc.records
    for reason in acc.reasons.values():
        if reason.detail.startswith("unexpected structure"):
            TALLY["masked " + reason.detail] += reason.count


def fuzz_bills(data: bytes) -> None:
    path, _ = _scratch(data, BILL_SUFFIXES)
    TALLY["inputs"] += 1
    try:
        bill = read_bill([path])
    except TokctlError:
        TALLY["tokctl_error"] += 1
        return
    TALLY["charge_lines"] += bill.lines.num_rows
    TALLY["skipped_lines"] += len(bill.skipped)


def fuzz_chat(data: bytes) -> None:
    path, _ = _scratch(data, (".json",))
    TALLY["inputs"] += 1
    try:
        count_chat_file(path, ["gpt-4o", "deepseek-v4-pro"])
    except TokctlError:
        TALLY["tokctl_error"] += 1


def fuzz_prices(data: bytes) -> None:
    TALLY["inputs"] += 1
    try:
        raw = tomllib.loads(data.decode("utf-8", "replace"), parse_float=Decimal)
    except (tomllib.TOMLDecodeError, RecursionError):
        TALLY["not_toml"] += 1
        return
    platform = raw.get("platform")
    name = platform.get("id") if isinstance(platform, dict) else None
    try:
        parse_platform(raw, Path(f"{name if isinstance(name, str) else 'x'}.toml"))
    except TokctlError:
        TALLY["tokctl_error"] += 1


TARGETS = {"logs": fuzz_logs, "bills": fuzz_bills, "chat": fuzz_chat, "prices": fuzz_prices}


def _seed(corpus: Path, target: str) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    suffixes = {"logs": LOG_SUFFIXES, "bills": BILL_SUFFIXES, "chat": (".json",), "prices": None}[target]
    for directory in SEEDS[target]:
        for path in sorted(directory.rglob("*")):
            if not path.is_file() or path.stat().st_size > 64_000:
                continue
            data = path.read_bytes()
            if suffixes is not None:
                name = "".join(path.suffixes)
                index = suffixes.index(name) if name in suffixes else 0
                data = bytes([index]) + data
            (corpus / f"{directory.name}-{path.name}").write_bytes(data)


def _tallied(target: Any) -> Any:
    """libFuzzer ends the process without running atexit: the tally is written every 1,000 inputs."""

    def run(data: bytes) -> None:
        target(data)
        if TALLY["inputs"] % 1000 == 0:
            line = json.dumps(dict(sorted(TALLY.items())))
            print(f"tokctl fuzz tally: {line}", file=sys.stderr, flush=True)

    return run


def main() -> None:
    target = sys.argv[1]
    args = [sys.argv[0], *sys.argv[2:]]
    corpora = [a for a in args[1:] if not a.startswith("-")]
    for corpus in corpora:
        _seed(Path(corpus), target)
    atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
    atheris.Setup(args, _tallied(TARGETS[target]))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
