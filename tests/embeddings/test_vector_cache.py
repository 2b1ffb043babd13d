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


def test_rows_spread_over_several_read_windows_and_a_truncated_file(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_cache, "READ_ROWS", 7)  # many windows, some with no wanted row
    n = 100
    ids = np.arange(1000, 1000 + n)
    names = [f"t{i}" for i in range(n)]
    vectors = unit_rows(n, dim=5, seed=3)
    vector_cache.keep(tmp_path, "m", ids, (ids + 5000, hashes(*names)), vectors)
    wanted = ids[[0, 1, 2, 30, 31, 60, 61, 62, 63, 64, 65, 66, 67, 99]]
    identities = (wanted + 5000, hashes(*[names[i - 1000] for i in wanted]))
    identities[0][3] = 1  # re-embedded: not from the cache
    out, filled = vector_cache.cached_rows(tmp_path, "m", wanted, identities)
    assert filled.sum() == len(wanted) - 1 and not filled[3]
    assert np.array_equal(out[filled], vectors[wanted[filled] - 1000]) and not out[3].any()
    path = next(tmp_path.glob("vectors-m.npy"))
    path.write_bytes(path.read_bytes()[:-20])  # the last row cut short
    assert vector_cache.cached_rows(tmp_path, "m", wanted, identities)[0] is None
