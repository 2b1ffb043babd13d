"""How well the re-analysis's neighbour update keeps the close pairs of the edited examples.

    .venv/bin/python benchmarks/bench_scale.py --pairs 300000 --workdir /tmp/scale-300k --skip bare semhash export
    .venv/bin/python benchmarks/bench_update_recall.py /tmp/scale-300k

Run after `bench_scale.py` (which edits 1% of the inputs, appending " (revised)", and analyses again):
reads the saved neighbour graph of that re-analysis and the current vectors (the analysis's vector cache,
with the edited examples' vectors from the database), searches exactly, and reports the share of the
pairs at similarity >= 0.92 that the updated graph holds, from each edited example and towards it (a
pair also counts as held where the example's list is full of neighbours at least as similar: ties).
"""

import argparse
import sqlite3
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

THRESHOLD = 0.92


def current_vectors(workdir: Path, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vectors aligned with `ids`, rows of the edited examples)."""
    cache = workdir / "data/analysis/dataset-1"
    vectors = np.array(np.load(next(cache.glob("vectors-*.npy"))), dtype=np.float32)
    if not (np.load(next(cache.glob("vectors-*.rows.npz")))["example_ids"] == ids).all():
        raise SystemExit("the vector cache is not aligned with the graph")
    with sqlite3.connect(workdir / "winnow.db") as db:
        model = db.execute("SELECT model FROM embeddings GROUP BY model ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        edited = [row[0] for row in db.execute("SELECT id FROM examples WHERE input LIKE '% (revised)' ORDER BY id")]
        for start in range(0, len(edited), 5_000):
            part = ",".join(map(str, edited[start:start + 5_000]))
            for example_id, blob in db.execute(f"SELECT example_id, vector FROM embeddings WHERE model = ? "
                                               f"AND example_id IN ({part})", (model,)):
                vectors[np.searchsorted(ids, example_id)] = np.frombuffer(blob, dtype=np.float32)
    return vectors, np.searchsorted(ids, np.array(edited))


def main() -> None:
    import faiss

    from app.embeddings import neighbour_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    workdir = parser.parse_args().workdir
    graph = neighbour_graph.load(workdir / "data/analysis/dataset-1")
    vectors, edited = current_vectors(workdir, graph.ids)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    is_edited = np.zeros(len(graph.ids), dtype=bool)
    is_edited[edited] = True

    def close_pairs(rows: np.ndarray, wanted) -> list[tuple[int, int, float]]:
        sims, found = exact.search(vectors[rows], graph.k + 1)
        return [(int(row), int(other), float(sim)) for row, row_sims, row_found in zip(rows, sims, found, strict=True)
                for sim, other in zip(row_sims, row_found, strict=True)
                if other != row and sim >= THRESHOLD and wanted(other)]

    def held(pairs: list[tuple[int, int, float]]) -> float:
        """Share of the pairs in the graph; a pair counts as held, too, where the row's list is full of
        neighbours at least as similar (ties: which of several equal vectors is "the" 10th is arbitrary)."""
        def kept(row: int, other: int, sim: float) -> bool:
            listed = graph.neighbours[row] >= 0
            return bool(graph.ids[other] in graph.neighbours[row]
                        or (listed.all() and graph.similarities[row].min() >= sim - 1e-5))
        return sum(kept(*pair) for pair in pairs) / max(len(pairs), 1)

    from_edited = close_pairs(edited, lambda other: True)
    towards = close_pairs(np.unique([other for _, other, _ in from_edited]), lambda other: is_edited[other])
    print(f"{len(edited):,} edited of {len(graph.ids):,}; pairs at >= {THRESHOLD}:")
    print(f"  from an edited example to its exact top {graph.k}: {len(from_edited):,}, in the graph {held(from_edited):.4f}")
    print(f"  towards an edited example in another's exact top {graph.k}: {len(towards):,}, in the graph {held(towards):.4f}")


if __name__ == "__main__":
    main()
