"""Token counts remembered across analyses and exports, keyed by a 64-bit hash (xxh3) of the exact text counted.

Counting is the one expensive step of an export (the WordPiece tokenizer reads every character:
~2.4 s for 50,000 Debian descriptions on this 2-core machine, against ~0.25 s for everything else). The format
check counts the same texts (`app.embeddings.tokenizer.training_text`) through the same cache, so an
export after an analysis, and a re-export after a review, count few texts or none. The cache is one
numpy file per tokenizer under the data directory, replaced atomically; concurrent writers can only
lose each other's new entries.
"""

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xxhash

MAX_ENTRIES = 5_000_000  # ~60 MB; beyond it the cache starts again from this export's texts


# The key of a text; a cache file written with another scheme (blake2b-64, before) is not read.
KEY_SCHEME = "xxh3_64"


def _keys(texts: Sequence[str]) -> np.ndarray:
    """xxh3-64 of each text's UTF-8, with the loop in C (map) rather than in Python. An export hashes every
    text it writes: blake2b took 2 s of a warm 1,000,000-pair export, xxh3 a tenth of that."""
    return np.fromiter(map(xxhash.xxh3_64_intdigest, map(str.encode, texts)), dtype=np.uint64, count=len(texts))


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    empty = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32)
    try:
        with np.load(path) as data:
            if "scheme" not in data or str(data["scheme"]) != KEY_SCHEME:
                return empty
            return data["keys"], data["counts"]
    except (OSError, ValueError, KeyError):
        return empty


def cached_counts(texts: Sequence[str], count: Callable[[list[str]], list[int]], path: Path) -> list[int]:
    """count(texts), calling `count` only for texts not seen before, each distinct text once (in the
    order of its first occurrence), and remembering the new ones."""
    keys = _keys(texts)
    known_keys, known_counts = _load(path)  # sorted by key
    result = np.full(len(texts), -1, dtype=np.int64)
    if len(known_keys):
        at = np.searchsorted(known_keys, keys).clip(max=len(known_keys) - 1)
        hit = known_keys[at] == keys
        result[hit] = known_counts[at[hit]]
    missing = np.nonzero(result < 0)[0]
    if len(missing):
        new_keys, first, inverse = np.unique(keys[missing], return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        first_seen = np.sort(first)
        new_counts = np.empty(len(new_keys), dtype=np.int64)
        new_counts[inverse[first_seen]] = count([texts[i] for i in missing[first_seen].tolist()])
        result[missing] = new_counts[inverse]
        if len(known_keys) < MAX_ENTRIES:
            new_keys = np.concatenate([known_keys, new_keys])
            new_counts = np.concatenate([known_counts, new_counts])
        else:  # the cache starts again from this call's texts
            new_keys, new_counts = keys, result
        new_keys, order = np.unique(new_keys, return_index=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.npz")
        np.savez(partial, keys=new_keys, counts=new_counts[order].astype(np.int32), scheme=np.array(KEY_SCHEME))
        partial.replace(path)
    return result.tolist()
