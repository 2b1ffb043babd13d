import numpy as np
from sqlalchemy import select

from app.embeddings import get_embedder
from app.embeddings.hashing import HashingEmbedder
from app.embeddings.index import knn
from app.models import Dataset, Embedding, Example
from app.services.embeddings_store import embed_missing, load_vectors
from app.text import content_hash, input_hash


class CountingEmbedder(HashingEmbedder):
    """The real hashing embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts):
        self.texts += texts
        return super().encode(texts)


def add_examples(session, n: int) -> Dataset:
    dataset = Dataset(name="emb")
    session.add(dataset)
    session.flush()
    for i in range(n):
        text = f"question number {i} about packages"
        session.add(Example(dataset_id=dataset.id, input=text, output="a", input_hash=input_hash(text),
                            content_hash=content_hash(None, text, "a")))
    session.flush()
    return dataset


def test_only_changed_texts_are_embedded_again(session):
    dataset = add_examples(session, 30)
    embedder = CountingEmbedder()
    progress = []
    assert embed_missing(session, dataset.id, embedder, progress=lambda d, t: progress.append((d, t)),
                         batch_size=8) == 30
    assert progress[0] == (0, 30) and progress[-1] == (30, 30) and len(progress) == 5
    ids, vectors = load_vectors(session, dataset.id, embedder.name)
    assert ids.dtype == np.int64 and vectors.dtype == np.float32 and vectors.shape == (30, embedder.dim)
    assert list(ids) == sorted(ids)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    examples = list(session.scalars(select(Example).where(Example.dataset_id == dataset.id).order_by(Example.id)))
    for example in examples[:3]:
        example.input += " (edited)"
    examples[5].output = "output changes do not change the embedded text"
    session.flush()
    embedder.texts.clear()
    assert embed_missing(session, dataset.id, embedder) == 3
    assert sorted(embedder.texts) == sorted(e.input for e in examples[:3])
    assert embed_missing(session, dataset.id, embedder) == 0
    assert session.scalar(select(Embedding.id).where(Embedding.model == "other-model")) is None
    new_ids, new_vectors = load_vectors(session, dataset.id, embedder.name)
    assert np.allclose(new_vectors[3:], vectors[3:]) and not np.allclose(new_vectors[0], vectors[0])


def test_embedders_are_keyed_by_name_and_normalised():
    assert get_embedder("hashing") is get_embedder("hashing")
    vectors = get_embedder("hashing").encode(["a b c", "", "a b c"])
    assert vectors.dtype == np.float32 and vectors.shape[0] == 3
    assert np.allclose(vectors[0], vectors[2])


def test_knn_excludes_self_and_pads_when_there_are_few_rows():
    vectors = HashingEmbedder().encode(["apt install nginx", "apt install nginx", "rust compiler", "moon"])
    sims, idx = knn(vectors, 2)
    assert sims.shape == (4, 2) and idx[0, 0] == 1 and idx[1, 0] == 0 and sims[0, 0] > 0.99
    assert all(row not in idx[row] for row in range(4))
    sims, idx = knn(vectors, 6)
    assert (idx[:, 3:] == -1).all() and np.isneginf(sims[:, 3:]).all()


def test_an_example_deleted_while_its_batch_is_encoded_gets_no_vector(session):
    dataset = add_examples(session, 5)
    victim = session.scalars(select(Example).where(Example.dataset_id == dataset.id).order_by(Example.id)).first()

    class DeletingEmbedder(HashingEmbedder):
        def encode(self, texts):
            session.delete(victim)  # someone deletes the pair meanwhile
            session.flush()
            return super().encode(texts)

    assert embed_missing(session, dataset.id, DeletingEmbedder()) == 5
    ids, _ = load_vectors(session, dataset.id, "hashing")
    assert len(ids) == 4 and victim.id not in set(ids)


def test_the_rows_a_caller_already_read_give_the_same_stale_texts(session):
    """The analysis passes the texts it loaded (`examples=`), so the embedding step does not read them again."""
    dataset = add_examples(session, 12)
    embedder = CountingEmbedder()
    embed_missing(session, dataset.id, embedder)
    examples = list(session.scalars(select(Example).where(Example.dataset_id == dataset.id).order_by(Example.id)))
    examples[4].input += " (edited)"
    session.flush()
    held = [(e.id, e.input) for e in examples]
    embedder.texts.clear()
    assert embed_missing(session, dataset.id, embedder, examples=held) == 1
    assert embedder.texts == [examples[4].input]
    assert embed_missing(session, dataset.id, embedder, examples=held) == 0
