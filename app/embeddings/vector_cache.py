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
        with open(vectors_path, "rb") as handle:
            shape, data_offset = _npy_layout(handle)
    except (OSError, KeyError, ValueError):  # none yet, or unreadable: read everything from the database
        return None, filled
    if len(shape) != 2 or shape[0] != len(cached_examples):
        return None, filled
    at = np.clip(np.searchsorted(cached_examples, example_ids), 0, max(len(cached_examples) - 1, 0))
    if len(cached_examples):
        filled = ((cached_examples[at] == example_ids) & (cached_embeddings[at] == embedding_ids)
                  & (cached_hashes[at] == text_hashes) & (embedding_ids != NO_VECTOR))
    out = np.zeros((len(example_ids), shape[1]), dtype=np.float32)
    try:
        _read_rows(vectors_path, data_offset, shape[1], at[filled], np.flatnonzero(filled), out)
    except (OSError, ValueError):
        return None, np.zeros(len(example_ids), dtype=bool)
    return out, filled


# Cached rows read per step: 65,536 rows of 256 float32 are 64 MB.
READ_ROWS = 65_536


def _npy_layout(handle) -> tuple[tuple[int, ...], int]:
    """The shape of a float32, C-ordered .npy file and where its data starts; ValueError for anything else."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    version = np.lib.format.read_magic(handle)
    if version not in readers:
        raise ValueError(f"an .npy file of version {version}")
    shape, fortran_order, dtype = readers[version](handle)
    if fortran_order or dtype != np.float32:
        raise ValueError("not a C-ordered float32 array")
    return shape, handle.tell()


def _read_rows(path: Path, data_offset: int, dim: int, source: np.ndarray, target: np.ndarray, out: np.ndarray) -> None:
    """out[target] = the file's rows `source` (ascending), read a window of at most READ_ROWS file rows at a time.

    Plain reads rather than a memory map: the map's pages would count in the process's memory next to
    `out` (1 GB each at 1,000,000 rows of 256 dimensions), and fancy indexing a map copies every row
    once more before it lands in `out`."""
    row_bytes = dim * 4
    with open(path, "rb") as handle:
        start = 0
        while start < len(source):
            first = int(source[start])
            stop = int(np.searchsorted(source, first + READ_ROWS, side="left"))
            count = int(source[stop - 1]) - first + 1
            handle.seek(data_offset + first * row_bytes)
            block = np.fromfile(handle, dtype=np.float32, count=count * dim)
            if len(block) != count * dim:
                raise ValueError("the vector cache file is shorter than its header says")
            out[target[start:stop]] = block.reshape(count, dim)[source[start:stop] - first]
            start = stop


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
