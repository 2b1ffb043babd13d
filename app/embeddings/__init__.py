"""Embedders keyed by model name. `get_embedder()` picks the one `Settings.embedding_model` names.

Several embedders may coexist (vectors are stored per model name), each created once per process.
"""

import threading

from app.embeddings.base import MINILM, Embedder, l2_normalise

HASHING = "hashing"
AVAILABLE = (MINILM, HASHING)

_embedders: dict[str, Embedder] = {}
_lock = threading.Lock()


def get_embedder(name: str | None = None) -> Embedder:
    from app.config import get_settings

    settings = get_settings()
    name = name or settings.embedding_model
    with _lock:
        if name not in _embedders:
            if name == HASHING:
                from app.embeddings.hashing import HashingEmbedder

                _embedders[name] = HashingEmbedder()
            elif name == MINILM:
                from app.embeddings.sentence import SentenceTransformerEmbedder

                _embedders[name] = SentenceTransformerEmbedder(batch_size=settings.embed_batch_size)
            else:
                from app.errors import InvalidInput

                raise InvalidInput(f"unknown embedding model '{name}'; use one of {', '.join(AVAILABLE)}",
                                   field="embedding_model")
        return _embedders[name]


__all__ = ["AVAILABLE", "Embedder", "HASHING", "MINILM", "get_embedder", "l2_normalise"]
