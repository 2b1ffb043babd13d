"""Build examples/debian_sections.jsonl.gz: ~2,000 real pairs for the quickstart, reproducibly.

    .venv/bin/python scripts/make_sample.py            # same seed, same bytes

Each line: {"id": package, "prompt": short + "\\n\\n" + long description, "completion": section}.
A uniform draw keeps the sections as imbalanced as Debian has them, but would keep almost none
of the real duplicates (packages sharing one description), so some whole groups of duplicates are
drawn first. The gzip header carries no name or time, so the file is byte-for-byte reproducible.
"""

import argparse
import gzip
import json
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "data" / "debian_packages.jsonl.gz"
TARGET = ROOT / "examples" / "debian_sections.jsonl.gz"


def prompt_of(package: dict) -> str:
    return "\n\n".join(part.strip() for part in (package.get("short") or "", package.get("long") or "") if part.strip())


def draw(packages: list[dict], size: int, duplicate_groups: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    by_prompt: dict[str, list[dict]] = defaultdict(list)
    for package in packages:
        by_prompt[prompt_of(package)].append(package)
    groups = sorted((g for g in by_prompt.values() if len(g) > 1 and len(g) <= 6), key=lambda g: g[0]["package"])
    chosen = [p for group in rng.sample(groups, duplicate_groups) for p in group]
    taken = {p["package"] for p in chosen}
    rest = [p for p in packages if p["package"] not in taken]
    chosen += rng.sample(rest, size - len(chosen))
    rng.shuffle(chosen)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--duplicate-groups", type=int, default=60, help="whole groups of duplicates drawn first")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    with gzip.open(SOURCE, "rt", encoding="utf-8") as handle:
        packages = [json.loads(line) for line in handle]
    sample = draw(packages, args.size, args.duplicate_groups, args.seed)
    lines = "".join(json.dumps({"id": p["package"], "prompt": prompt_of(p), "completion": p.get("section") or ""},
                               ensure_ascii=False) + "\n" for p in sample)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
        out.write(lines.encode("utf-8"))
    sections = {p.get("section") for p in sample}
    print(f"{args.out}: {len(sample)} pairs, {len(sections)} sections, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
