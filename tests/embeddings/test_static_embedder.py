"""The static embedder: distilled once (under a file lock), cached in the models directory, loaded offline."""

import os
import pickle
import shutil
import threading
import time

import numpy as np
import pytest
from typer.testing import CliRunner

import app.embeddings as embeddings
from app.config import get_settings
from app.embeddings.static import STATIC_NAME, StaticEmbedder, distil, is_distilled


class FakeDistillation:
    """Stands in for model2vec's distill() where only the locking around it is under test: it
    counts its calls, takes a while, and 'saves' a copy of an already distilled model."""

    def __init__(self, distilled) -> None:
        self.distilled = distilled
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        time.sleep(0.5)
        return self

    def save_pretrained(self, path) -> None:
        shutil.copytree(self.distilled, path)


@pytest.fixture
def no_hub(monkeypatch):
    """Any attempt to reach the Hugging Face hub fails the test."""
    import huggingface_hub

    def refuse(*args, **kwargs):
        raise AssertionError("the hub was asked for a model")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)


def test_distilled_model_encodes_unit_vectors_and_is_not_distilled_again(tiny_static, tiny_transformer, no_hub,
                                                                         monkeypatch):
    assert is_distilled(tiny_static)
    import model2vec.distill

    def must_not_run(**kwargs):
        raise AssertionError("distilled again")

    monkeypatch.setattr(model2vec.distill, "distill", must_not_run)
    assert distil(tiny_static, source=tiny_transformer, pca_dims=16) is False
    embedder = StaticEmbedder(tiny_static, name="tiny-static", dim=16)
    vectors = embedder.encode(["a package for parsing XML", "a package for parsing XML", "", "chess engine"])
    assert vectors.shape == (4, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 3]], axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[1]) and not np.allclose(vectors[0], vectors[3])
    assert embedder.encode([]).shape == (0, 16)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_two_concurrent_first_uses_distil_once(tiny_static, tmp_path, monkeypatch):
    import model2vec.distill

    fake = FakeDistillation(tiny_static)
    monkeypatch.setattr(model2vec.distill, "distill", fake)
    target = tmp_path / "models" / STATIC_NAME
    results = []
    threads = [threading.Thread(target=lambda: results.append(distil(target))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.calls == 1 and sorted(results) == [False, True]
    assert is_distilled(target) and not list(target.parent.glob("*.partial-*"))


def test_a_half_written_model_is_distilled_again(tiny_static, tmp_path, monkeypatch):
    import model2vec.distill

    fake = FakeDistillation(tiny_static)
    monkeypatch.setattr(model2vec.distill, "distill", fake)
    target = tmp_path / STATIC_NAME
    target.mkdir()
    (target / "config.json").write_text("{}")  # a crash left only this
    assert not is_distilled(target)
    assert distil(target) is True and fake.calls == 1 and is_distilled(target)


def test_get_embedder_loads_the_static_model_from_the_models_directory(tiny_static, tmp_path, monkeypatch, no_hub):
    import model2vec.distill

    monkeypatch.setattr(model2vec.distill, "distill", FakeDistillation(tiny_static))
    monkeypatch.setattr(get_settings(), "models_dir", tmp_path)
    monkeypatch.setattr(embeddings, "_embedders", {})
    embedder = embeddings.get_embedder(STATIC_NAME)  # first use: "distils" into the models directory
    assert embedder.name == STATIC_NAME and embedder is embeddings.get_embedder(STATIC_NAME)
    assert embedder.encode(["hello"]).shape == (1, 16) and embedder.dim == 16
    assert is_distilled(tmp_path / STATIC_NAME)


def test_pickled_embedder_carries_its_model(tiny_static):
    embedder = StaticEmbedder(tiny_static, name="tiny-static", dim=16)
    texts = ["library for image processing", "a game"]
    expected = embedder.encode(texts)
    copy = pickle.loads(pickle.dumps(embedder))
    copy.directory = tiny_static.parent / "nowhere"  # the copy never reads the disk again
    assert np.array_equal(copy.encode(texts), expected)


def test_cli_distils_into_the_models_directory_once(tiny_static, tmp_path, monkeypatch):
    import model2vec.distill

    from app.cli import cli

    fake = FakeDistillation(tiny_static)
    monkeypatch.setattr(model2vec.distill, "distill", fake)
    monkeypatch.setattr(get_settings(), "models_dir", tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["models", "distill"])
    assert first.exit_code == 0 and "distilled into" in first.output
    second = runner.invoke(cli, ["models", "distill"])
    assert second.exit_code == 0 and "already in" in second.output and fake.calls == 1
    listed = runner.invoke(cli, ["models", "list"])
    assert f"{STATIC_NAME}  (distilled in {tmp_path / STATIC_NAME})" in listed.output


def test_the_default_model_is_the_static_one(monkeypatch):
    from app.config import Settings

    monkeypatch.delenv("WINNOW_EMBEDDING_MODEL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.embedding_model == STATIC_NAME and settings.models_dir == settings.data_dir / "models"
    monkeypatch.setenv("WINNOW_EMBEDDING_MODEL", "all-MiniLM-L6-v2")
    assert Settings(_env_file=None).embedding_model == "all-MiniLM-L6-v2"
