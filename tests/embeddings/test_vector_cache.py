"""The last analysis's vectors, reused only where the example's embeddings row is the same one."""

import numpy as np

from app.embeddings import vector_cache
from app.embeddings.neighbour_graph import NO_VECTOR


def unit_rows(n: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_unchanged_rows_come_back_and_changed_new_or_vectorless_ones_do_not(tmp_path):
    vectors = unit_rows(5)
    vector_cache.keep(tmp_path, "minilm-static-256", np.array([10, 11, 12, 13, 14]),
                      np.array([100, 101, 102, 103, 104]), vectors)
    # 11 re-embedded (new row id), 13 deleted, 15 new, 14 without a vector now.
    wanted, embedding_ids = np.array([10, 11, 12, 14, 15]), np.array([100, 999, 102, NO_VECTOR, 105])
    out, filled = vector_cache.cached_rows(tmp_path, "minilm-static-256", wanted, embedding_ids)
    assert filled.tolist() == [True, False, True, False, False]
    assert np.array_equal(out[[0, 2]], vectors[[0, 2]]) and not out[[1, 3, 4]].any()


def test_another_model_or_no_cache_or_a_broken_file_reads_everything_from_the_database(tmp_path):
    assert vector_cache.cached_rows(None, "m", np.array([1]), np.array([1]))[0] is None
    assert vector_cache.cached_rows(tmp_path, "m", np.array([1]), np.array([1]))[0] is None
    vector_cache.keep(tmp_path, "m", np.array([1]), np.array([1]), unit_rows(1))
    assert vector_cache.cached_rows(tmp_path, "other", np.array([1]), np.array([1]))[0] is None
    assert vector_cache.cached_rows(tmp_path, "m", np.array([1]), np.array([1]), dim=8)[0] is None
    next(tmp_path.glob("vectors-m.npy")).write_bytes(b"not a numpy file")
    assert vector_cache.cached_rows(tmp_path, "m", np.array([1]), np.array([1]))[0] is None
