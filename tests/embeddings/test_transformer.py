"""The transformer's fast path: what sentence-transformers computes, on the CPU (and on a GPU when there is one)."""

import numpy as np
import pytest
import torch

from app.config import Settings
from app.embeddings.sentence import TransformerEmbedder, length_sorted_batches, model_path, resolve_device
from app.errors import InvalidInput

TEXTS = ["  A library for parsing XML  ", "chess engine " * 300, "", "Ünïcödé — text with dashes", "x",
         "Debian package of the GNU C library: development files", "\n\nleading blank lines\n"]


@pytest.fixture(scope="module")
def sentence_transformers_vectors():
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path()), device="cpu")
    return model.encode(TEXTS, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)


@pytest.mark.slow
def test_cpu_fast_path_equals_sentence_transformers(sentence_transformers_vectors):
    embedder = TransformerEmbedder(device="cpu", batch_size=3)  # several length-sorted batches
    vectors = embedder.encode(TEXTS)
    assert embedder.device == "cpu" and vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.abs(vectors - sentence_transformers_vectors).max() < 1e-5
    embedder.pipeline_texts = 3  # as on a GPU: tokenised in pieces, the next while this one is encoded
    assert np.abs(embedder.encode(TEXTS) - sentence_transformers_vectors).max() < 1e-5
    assert embedder.encode([]).shape == (0, 384)


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
def test_cuda_fp16_stays_within_cosine_0_999_of_fp32(sentence_transformers_vectors):
    embedder = TransformerEmbedder(device="cuda")
    vectors = embedder.encode(TEXTS)
    assert embedder.device == "cuda"
    assert (np.sum(vectors * sentence_transformers_vectors, axis=1) > 0.999).all()


def test_batches_are_length_sorted_and_cover_every_row():
    lengths = np.array([5, 200, 17, 17, 3, 90])
    batches = length_sorted_batches(lengths, 4)
    assert [list(b) for b in batches] == [[1, 5, 2, 3], [0, 4]]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_setting_without_a_gpu():
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(InvalidInput, match="WINNOW_DEVICE=cuda"):
        resolve_device("cuda")


def test_device_setting_is_read_and_checked(monkeypatch):
    assert Settings(_env_file=None).device == "auto"
    monkeypatch.setenv("WINNOW_DEVICE", "cuda")
    assert Settings(_env_file=None).device == "cuda"
    monkeypatch.setenv("WINNOW_DEVICE", "tpu")
    with pytest.raises(ValueError, match="WINNOW_DEVICE"):
        Settings(_env_file=None)


def test_ray_backend_is_chosen_by_ray_address(monkeypatch):
    monkeypatch.delenv("WINNOW_EMBED_BACKEND", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert Settings(_env_file=None).embed_backend == "local"
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    assert Settings(_env_file=None).embed_backend == "ray"
    monkeypatch.setenv("WINNOW_EMBED_BACKEND", "local")
    assert Settings(_env_file=None).embed_backend == "local"
