"""The vectors of the last analysis, kept beside its other results so that the next one reads from the
database only the vectors that changed.

Streaming a million stored vectors out of the database takes 14-17 s (benchmarks/README.md, "Scale");
reading them from one .npy file takes about a second. A cached row is used only while the example's
embeddings row is the same one, by the identity the neighbour graph uses too: the row's id and its
text hash (SQLite may give a deleted row's id to the next one; the hash tells them apart), so a stale
vector is never used. The file is written aside and renamed.
"""

from pathlib import Path

import numpy as np

from app.embeddings.neighbour_graph import NO_VECTOR


def _paths(cache_dir: Path, model: str) -> tuple[Path, Path]:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model)
    return cache_dir / f"vectors-{safe}.npy", cache_dir / f"vectors-{safe}.rows.npz"


def cached_rows(cache_dir: Path | None, model: str, example_ids: np.ndarray,
                identities: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray | None, np.ndarray]:
    """(array with the cached vector of every example whose embeddings row is unchanged, zeros elsewhere,
    or None without a usable cache; boolean mask of the rows filled). `example_ids` sorted; `identities`:
    (embeddings row id, text hash) of each, as `embeddings_store.vector_identities` reads them."""
    embedding_ids, text_hashes = identities
    filled = np.zeros(len(example_ids), dtype=bool)
    if cache_dir is None:
        return None, filled
    vectors_path, rows_path = _paths(cache_dir, model)
    try:
        with np.load(rows_path, allow_pickle=False) as rows:
            cached_examples, cached_embeddings = rows["example_ids"], rows["embedding_ids"]
            cached_hashes = rows["text_hashes"]
        cached = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
    except (OSError, KeyError, ValueError):  # none yet, or unreadable: read everything from the database
        return None, filled
    if cached.ndim != 2 or len(cached) != len(cached_examples):
        return None, filled
    at = np.clip(np.searchsorted(cached_examples, example_ids), 0, max(len(cached_examples) - 1, 0))
    if len(cached_examples):
        filled = ((cached_examples[at] == example_ids) & (cached_embeddings[at] == embedding_ids)
                  & (cached_hashes[at] == text_hashes) & (embedding_ids != NO_VECTOR))
    out = np.zeros((len(example_ids), cached.shape[1]), dtype=np.float32)
    out[filled] = cached[at[filled]]
    return out, filled


def keep(cache_dir: Path | None, model: str, example_ids: np.ndarray, identities: tuple[np.ndarray, np.ndarray],
         vectors: np.ndarray) -> None:
    """Keep this analysis's vectors for the next one."""
    if cache_dir is None:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    vectors_path, rows_path = _paths(cache_dir, model)
    partial = vectors_path.with_name(f".{vectors_path.name}.partial")
    with open(partial, "wb") as handle:
        np.save(handle, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    partial.replace(vectors_path)
    partial = rows_path.with_name(f".{rows_path.name}.partial")
    with open(partial, "wb") as handle:
        np.savez(handle, example_ids=example_ids, embedding_ids=identities[0], text_hashes=identities[1])
    partial.replace(rows_path)
