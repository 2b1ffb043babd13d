"""The Ray backend of embed_missing, on a local Ray instance started here (one for the module)."""

import numpy as np
import pytest

from app.embeddings.hashing import HashingEmbedder
from app.models import Dataset, Example
from app.services.embeddings_store import embed_missing, load_vectors
from app.text import content_hash, input_hash

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    from app.embeddings.ray_backend import runtime_env

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env())
    yield
    ray.shutdown()


def add_dataset(session, name: str, n: int) -> Dataset:
    dataset = Dataset(name=name)
    session.add(dataset)
    session.flush()
    for i in range(n):
        text = f"package {i} provides {'a parser' if i % 3 else 'a game'} for {i % 7} users"
        session.add(Example(dataset_id=dataset.id, input=text, output="a", input_hash=input_hash(text),
                            content_hash=content_hash(None, text, "a")))
    session.flush()
    return dataset


def test_ray_actors_write_the_vectors_the_local_path_writes(local_ray, session):
    on_ray, local = add_dataset(session, "on-ray", 50), add_dataset(session, "local", 50)
    embedder = HashingEmbedder()
    progress = []
    assert embed_missing(session, on_ray.id, embedder, batch_size=16, backend="ray",
                         progress=lambda done, total: progress.append((done, total))) == 50
    assert embed_missing(session, local.id, embedder, batch_size=16, backend="local") == 50
    ray_ids, ray_vectors = load_vectors(session, on_ray.id, embedder.name)
    local_ids, local_vectors = load_vectors(session, local.id, embedder.name)
    assert len(ray_ids) == 50 and ray_vectors.shape == local_vectors.shape
    assert np.allclose(ray_vectors, local_vectors, atol=1e-6)
    assert progress[0] == (0, 50) and progress[-1] == (50, 50)
    # Nothing stale is left: a second run on Ray embeds nothing and starts no work there.
    assert embed_missing(session, on_ray.id, embedder, backend="ray") == 0


def test_the_static_model_travels_to_the_actors_with_its_vectors(local_ray, session, tiny_static):
    from app.embeddings.static import StaticEmbedder

    dataset = add_dataset(session, "static-on-ray", 20)
    embedder = StaticEmbedder(tiny_static, name="tiny-static", dim=16)
    assert embed_missing(session, dataset.id, embedder, batch_size=8, backend="ray") == 20
    ids, vectors = load_vectors(session, dataset.id, embedder.name)
    texts = [session.get(Example, int(i)).input for i in ids]
    assert np.allclose(vectors, embedder.encode(texts), atol=1e-6)
