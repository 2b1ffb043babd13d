"""The last analysis's vectors, reused only where the example's embeddings row is the same one."""

import numpy as np

from app.embeddings import vector_cache
from app.embeddings.neighbour_graph import NO_VECTOR, as_hashes
from app.text import sha256_hex


def hashes(*texts: str) -> np.ndarray:
    return as_hashes([sha256_hex(text) if text else "" for text in texts])


def unit_rows(n: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_unchanged_rows_come_back_and_changed_new_or_vectorless_ones_do_not(tmp_path):
    vectors = unit_rows(6)
    vector_cache.keep(tmp_path, "minilm-static-256", np.array([10, 11, 12, 13, 14, 16]),
                      (np.array([100, 101, 102, 103, 104, 106]), hashes("a", "b", "c", "d", "e", "f")), vectors)
    # 11 re-embedded (new row id), 13 deleted, 15 new, 14 without a vector now, 16 re-embedded under the
    # same row id (SQLite may reuse the id of the row deleted last): its text hash tells.
    wanted = np.array([10, 11, 12, 14, 15, 16])
    identities = (np.array([100, 999, 102, NO_VECTOR, 105, 106]), hashes("a", "b", "c", "", "g", "h"))
    out, filled = vector_cache.cached_rows(tmp_path, "minilm-static-256", wanted, identities)
    assert filled.tolist() == [True, False, True, False, False, False]
    assert np.array_equal(out[[0, 2]], vectors[[0, 2]]) and not out[[1, 3, 4, 5]].any()


def test_another_model_or_no_cache_or_a_broken_file_reads_everything_from_the_database(tmp_path):
    one = (np.array([1]), hashes("a"))
    assert vector_cache.cached_rows(None, "m", np.array([1]), one)[0] is None
    assert vector_cache.cached_rows(tmp_path, "m", np.array([1]), one)[0] is None
    vector_cache.keep(tmp_path, "m", np.array([1]), one, unit_rows(1))
    assert vector_cache.cached_rows(tmp_path, "m", np.array([1]), one)[1].all()
    assert vector_cache.cached_rows(tmp_path, "other", np.array([1]), one)[0] is None
    next(tmp_path.glob("vectors-m.npy")).write_bytes(b"not a numpy file")
    assert vector_cache.cached_rows(tmp_path, "m", np.array([1]), one)[0] is None
