"""A deterministic synthetic corpus (en.txt, code.txt, zh.txt) for machines without ../shared/bench/corpus.

    python bench/gen_corpus.py OUT_DIR [--mb 8]

English prose, Python-like code and Chinese text with ASCII mixed in, from a seeded generator: the same
bytes on every machine. Its token counts are not those of the shared corpus; the benchmarks compare engines
on the same text, so any text of the right kind serves.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

_WORD_TEXT = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have "
    "an they you were her she there one all we can has been if more when will would who so no time system "
    "process value number token model price request response cache input output record table function "
    "return error field string format language vendor billing account project report daily monthly usage "
    "streaming parser encoder throughput latency memory benchmark baseline measure release version python"
)
WORDS = _WORD_TEXT.split()
NAMES = ("count", "total", "items", "path", "text", "result", "config", "buffer", "offset", "index", "row", "key")
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
ZH_PUNCT = "，。、；：？！“”《》"


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 24))
    words[0] = words[0].capitalize()
    if rng.random() < 0.2:
        words.insert(rng.randint(1, len(words) - 1), str(rng.randint(1, 99999)))
    return " ".join(words) + rng.choice(".....?!;")


def english(rng: random.Random) -> str:
    if rng.random() < 0.1:
        title = _sentence(rng).rstrip(".?!;")
        return f"{title}\n{'=' * len(title)}\n\n"
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 8))) + "\n\n"


def code(rng: random.Random) -> str:
    name = "_".join(rng.choices(NAMES, k=2))
    args = ", ".join(rng.sample(NAMES, rng.randint(0, 3)))
    lines = [f"def {name}({args}):", f'    """{_sentence(rng)}"""']
    for _ in range(rng.randint(2, 12)):
        a, b = rng.sample(NAMES, 2)
        indent = "    " * rng.randint(1, 3)
        kind = rng.random()
        if kind < 0.3:
            lines.append(f"{indent}{a} = {b} + {rng.randint(0, 4096)}")
        elif kind < 0.5:
            lines.append(f"{indent}if {a} > {b}:  # {' '.join(rng.choices(WORDS, k=4))}")
        elif kind < 0.7:
            lines.append(f'{indent}{a}.append(f"{{{b}!r}}: {rng.choice(WORDS)}")')
        else:
            lines.append(f"{indent}for {a} in range(len({b})):")
    lines.append(f"    return {rng.choice(NAMES)}\n\n")
    return "\n".join(lines)


def chinese(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(3, 10)):
        parts.append("".join(rng.choices(HAN, k=rng.randint(4, 30))))
        if rng.random() < 0.15:
            parts.append(f" {rng.choice(WORDS)} {rng.randint(1, 2026)} ")
        parts.append(rng.choice(ZH_PUNCT))
    return "".join(parts) + "\n\n"


KINDS: dict[str, Callable[[random.Random], str]] = {"en": english, "code": code, "zh": chinese}


def generate(out_dir: Path, megabytes: float = 8) -> Path:
    """Write en.txt, code.txt and zh.txt of about ``megabytes`` MB each; skips files already there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = int(megabytes * 1_000_000)
    for part, make in KINDS.items():
        path = out_dir / f"{part}.txt"
        if path.exists() and path.stat().st_size >= target:
            continue
        rng = random.Random(f"tokctl-bench-{part}")
        pieces: list[str] = []
        size = 0
        while size < target:
            piece = make(rng)
            pieces.append(piece)
            size += len(piece.encode("utf-8"))
        path.write_text("".join(pieces), encoding="utf-8")
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--mb", type=float, default=8, help="MB per part (default 8)")
    args = parser.parse_args()
    print(generate(args.out_dir, args.mb))


if __name__ == "__main__":
    main()
