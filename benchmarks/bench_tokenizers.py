"""Token counting with each target tokenizer on Debian's package descriptions (no cache): the one step of
an export (and of the format check) that reads every character.

    .venv/bin/python benchmarks/bench_tokenizers.py [--pairs 50000]
"""

import argparse
import gzip
import json
import time

from app.embeddings.target_tokenizer import load_tokenizer
from benchmarks.common import DEBIAN


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=50_000)
    args = parser.parse_args()
    texts = []
    with gzip.open(DEBIAN, "rt", encoding="utf-8") as lines:
        for line in lines:
            package = json.loads(line)
            texts.append(f"{package['short']}\n{package['long']}")
            if len(texts) == args.pairs:
                break
    chars = sum(map(len, texts))
    print(f"{len(texts):,} texts, {chars / 1e6:.1f} M characters")
    for name in ("all-MiniLM-L6-v2", "cl100k_base", "o200k_base"):
        started = time.perf_counter()
        tokenizer = load_tokenizer(name)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        counts = tokenizer.count(texts)
        seconds = time.perf_counter() - started
        print(f"{name:18s} load {loaded:5.2f} s  count {seconds:5.2f} s  tokens {sum(counts):,}")


if __name__ == "__main__":
    main()
