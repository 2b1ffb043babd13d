"""Token counting with each target tokenizer on Debian's package descriptions (no cache): the one step of
an export (and of the format check) that reads every character. Beside Winnow's own count of the
default tokenizer, tiktoken's `encode_ordinary_batch` (what Winnow called before; it makes a thread-pool
future per text) and a plain one-thread loop over `encode_ordinary`, in the same process.

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
    encoding = load_tokenizer("o200k_base")._backend
    for label, count in (("encode_ordinary_batch, 2 threads", lambda: list(map(len, encoding.encode_ordinary_batch(
                             texts, num_threads=2)))),
                         ("a plain loop, 1 thread", lambda: [len(encoding.encode_ordinary(t)) for t in texts]),
                         ("Winnow (a slice per core)", lambda: load_tokenizer("o200k_base").count(texts))):
        started = time.perf_counter()
        total = sum(count())
        print(f"o200k_base, {label:34s} count {time.perf_counter() - started:5.2f} s  tokens {total:,}")


if __name__ == "__main__":
    main()
