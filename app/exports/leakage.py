"""After splitting: does any validation or test input repeat a train input, exactly or nearly?

Exact = same normalised-input hash (`Example.input_hash`). Near = cosine similarity of the stored
embeddings >= the near-duplicate threshold, searched exhaustively with faiss (train vectors in an
exact inner-product index, each held-out vector asks for its single nearest train vector).
"""

from collections.abc import Sequence

import numpy as np

MAX_LISTED = 20


def check_leakage(split_of: Sequence[str], ids: Sequence[int], input_hashes: Sequence[str],
                  vectors: np.ndarray | None, has_vector: np.ndarray | None, threshold: float,
                  model: str | None) -> tuple[dict, list[tuple[int, int]]]:
    """The leakage section of the manifest (`passed` is False if any held-out input repeats a train
    input) and every leaking (held-out position, train position) pair."""
    train = [i for i, s in enumerate(split_of) if s == "train"]
    held_out = {s: [i for i, split in enumerate(split_of) if split == s] for s in ("validation", "test")}
    train_hashes: dict[str, int] = {}
    for i in train:
        train_hashes.setdefault(input_hashes[i], i)
    violations: list[dict] = []
    pairs: list[tuple[int, int]] = []
    exact = {}
    for split, positions in held_out.items():
        hits = [(i, train_hashes[input_hashes[i]]) for i in positions if input_hashes[i] in train_hashes]
        exact[split] = len(hits)
        pairs += hits
        violations += [{"kind": "exact", "split": split, "example_id": ids[i], "train_example_id": ids[j],
                        "similarity": 1.0} for i, j in hits[:MAX_LISTED]]
    near: dict[str, int] | None = None
    missing = None
    if vectors is not None and has_vector is not None:
        import faiss

        near = {}
        missing = int((~has_vector).sum())
        train_with = [i for i in train if has_vector[i]]
        index = None
        if train_with:
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(np.ascontiguousarray(vectors[train_with]))
        for split, positions in held_out.items():
            asking = [i for i in positions if has_vector[i]]
            if index is None or not asking:
                near[split] = 0
                continue
            sims, nearest = index.search(np.ascontiguousarray(vectors[asking]), 1)
            found = [(asking[q], train_with[int(nearest[q, 0])], float(sims[q, 0]))
                     for q in np.nonzero(sims[:, 0] >= threshold)[0].tolist()]
            near[split] = len(found)
            pairs += [(i, j) for i, j, _ in found]
            violations += [{"kind": "near", "split": split, "example_id": ids[i], "train_example_id": ids[j],
                            "similarity": round(min(sim, 1.0), 4)} for i, j, sim in found[:MAX_LISTED]]
    passed = not any(exact.values()) and not any((near or {}).values())
    return {
        "passed": passed,
        "exact_duplicates": exact,
        "near_duplicates": near,
        "near_duplicate_threshold": threshold,
        "embedding_model": model,
        "near_check": "done" if near is not None else "skipped: no stored embeddings (run the analysis)",
        "examples_without_embedding": missing,
        "violations": violations[:MAX_LISTED],
    }, pairs
