"""Debian package descriptions as SFT pairs, with faults injected at known places.

Shared by benchmarks/bench_analysis.py and tests/e2e/test_analysis_real_model.py:
prompt = short + long description, completion = Debian section.
"""

import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "debian_packages.jsonl.gz"


def load_pairs(n: int, seed: int = 0, path: Path = DATA, sections: tuple[str, ...] | None = None) -> list[dict]:
    """n random packages with a non-empty description, as {id, prompt, completion} records."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        packages = [json.loads(line) for line in handle]
    packages = [p for p in packages if p.get("section") and (p.get("short") or p.get("long"))
                and (sections is None or p["section"] in sections)]
    random.Random(seed).shuffle(packages)
    pairs, seen = [], set()
    for package in packages:
        prompt = "\n\n".join(part for part in (package.get("short"), package.get("long")) if part)
        if prompt in seen:  # keep the natural exact duplicates out: only injected ones are counted
            continue
        seen.add(prompt)
        pairs.append({"id": package["package"], "prompt": prompt, "completion": package["section"]})
        if len(pairs) == n:
            break
    return pairs


@dataclass
class Faults:
    flipped: set[str] = field(default_factory=set)
    edited_copies: dict[str, str] = field(default_factory=dict)  # copy id -> original id
    format: set[str] = field(default_factory=set)


def _edit(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(max(1, len(words) // 25)):
        i = rng.randrange(len(words))
        choice = rng.random()
        if choice < 0.4 and len(words) > 3:
            del words[i]
        elif choice < 0.7:
            words.insert(i, rng.choice(["the", "a", "very", "also", "new"]))
        else:
            words[i] = words[i].upper()
    return " ".join(words)


def inject_faults(pairs: list[dict], flip: float = 0.03, copies: float = 0.02, broken: float = 0.01,
                  seed: int = 1) -> tuple[list[dict], Faults]:
    """Overwrite some pairs in place: flipped sections, edited copies of other pairs, format faults.

    Flips go to another section that has at least 10 pairs (so a flip is a plausible mistake,
    not a new class). The three sets are disjoint, and the total stays len(pairs).
    """
    rng = random.Random(seed)
    pairs = [dict(p) for p in pairs]
    counts: dict[str, int] = {}
    for p in pairs:
        counts[p["completion"]] = counts.get(p["completion"], 0) + 1
    common = sorted(s for s, n in counts.items() if n >= 10)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    n_flip, n_copy, n_broken = int(len(pairs) * flip), int(len(pairs) * copies), int(len(pairs) * broken)
    faults = Faults()
    flip_rows = order[:n_flip]
    copy_rows = order[n_flip : n_flip + n_copy]
    broken_rows = order[n_flip + n_copy : n_flip + n_copy + n_broken]
    sources = order[n_flip + n_copy + n_broken :]
    for row in flip_rows:
        pairs[row]["completion"] = rng.choice([s for s in common if s != pairs[row]["completion"]])
        faults.flipped.add(pairs[row]["id"])
    for row, source in zip(copy_rows, sources, strict=False):
        pairs[row] = {"id": pairs[row]["id"], "prompt": _edit(pairs[source]["prompt"], rng),
                      "completion": pairs[source]["completion"]}
        faults.edited_copies[pairs[row]["id"]] = pairs[source]["id"]
    breakers = [lambda p: {**p, "completion": ""}, lambda p: {**p, "prompt": p["prompt"] + "  "},
                lambda p: {**p, "prompt": p["prompt"].replace(" ", "\x07", 1)},
                lambda p: {**p, "prompt": p["prompt"] + "\ufffd"}]
    for i, row in enumerate(broken_rows):
        pairs[row] = breakers[i % len(breakers)](pairs[row])
        faults.format.add(pairs[row]["id"])
    return pairs, faults


def precision_recall(flagged: set, truth: set) -> tuple[float, float]:
    hits = len(flagged & truth)
    return (hits / len(flagged) if flagged else 1.0), (hits / len(truth) if truth else 1.0)
