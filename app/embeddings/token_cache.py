"""Token counts remembered across analyses and exports, keyed by a 64-bit hash of the exact text counted.

Counting is the one expensive step of an export (the WordPiece tokenizer reads every character:
~2.4 s for 50,000 Debian descriptions on this 2-core machine, against ~0.25 s for everything else). The format
check counts the same texts (`app.embeddings.tokenizer.training_text`) through the same cache, so an
export after an analysis, and a re-export after a review, count few texts or none. The cache is one
numpy file per tokenizer under the data directory, replaced atomically; concurrent writers can only
lose each other's new entries.
"""

import hashlib
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from operator import methodcaller
from pathlib import Path

import numpy as np

MAX_ENTRIES = 5_000_000  # ~60 MB; beyond it the cache starts again from this export's texts


def _keys(texts: Sequence[str]) -> np.ndarray:
    """blake2b-64 of each text's UTF-8, with the loop in C (map) rather than in Python."""
    hash64 = partial(hashlib.blake2b, digest_size=8)
    digests = b"".join(map(methodcaller("digest"), map(hash64, map(str.encode, texts))))
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path) as data:
            return data["keys"], data["counts"]
    except (OSError, ValueError, KeyError):
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32)


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
        np.savez(partial, keys=new_keys, counts=new_counts[order].astype(np.int32))
        partial.replace(path)
    return result.tolist()
