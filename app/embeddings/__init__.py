"""Embedders keyed by model name. `get_embedder()` picks the one `Settings.embedding_model` names.

Several embedders may coexist (vectors are stored per model name), each created once per process.
"""

import threading

from app.embeddings.base import MINILM, STATIC_NAME, Embedder, l2_normalise

HASHING = "hashing"
STATIC = STATIC_NAME
AVAILABLE = (STATIC, MINILM, HASHING)

_embedders: dict[str, Embedder] = {}
_lock = threading.Lock()


def _create(name: str) -> Embedder:
    from app.config import get_settings

    settings = get_settings()
    if name == HASHING:
        from app.embeddings.hashing import HashingEmbedder

        return HashingEmbedder()
    if name == STATIC:
        from app.embeddings.static import StaticEmbedder

        return StaticEmbedder(settings.models_dir / STATIC)
    if name == MINILM:
        from app.embeddings.sentence import TransformerEmbedder

        return TransformerEmbedder(device=settings.device, batch_size=settings.embed_batch_size)
    from app.errors import InvalidInput

    raise InvalidInput(f"unknown embedding model '{name}'; use one of {', '.join(AVAILABLE)}",
                       field="embedding_model")


def get_embedder(name: str | None = None) -> Embedder:
    from app.config import get_settings

    name = name or get_settings().embedding_model
    with _lock:
        if name not in _embedders:
            _embedders[name] = _create(name)
        return _embedders[name]


__all__ = ["AVAILABLE", "Embedder", "HASHING", "MINILM", "STATIC", "get_embedder", "l2_normalise"]
