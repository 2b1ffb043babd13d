"""A fast, deterministic embedder for tests: hashed word and character n-grams, L2-normalised.

Texts sharing most words or characters get a high cosine similarity, which is all the checks'
tests need; it knows nothing about meaning (paraphrases are not close).
"""

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import HashingVectorizer

from app.embeddings.base import l2_normalise


class HashingEmbedder:
    name = "hashing"
    texts_per_step = 2048  # texts per encode-and-write step of embed_missing

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim
        half = dim // 2
        common = dict(alternate_sign=False, norm="l2", lowercase=True)
        self._words = HashingVectorizer(n_features=half, analyzer="word", ngram_range=(1, 2), **common)
        self._chars = HashingVectorizer(n_features=dim - half, analyzer="char_wb", ngram_range=(3, 4), **common)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        matrix = hstack([self._words.transform(texts), self._chars.transform(texts)]).toarray()
        return l2_normalise(matrix)
