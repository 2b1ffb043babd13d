"""Stored embeddings: per example and model, keyed by the sha256 of the text that was embedded.

`embed_missing` embeds only examples whose text changed since their vector was computed (or that
have none), batch by batch. It never commits: a job passes `checkpoint=session.commit` so that each
batch is its own short transaction (SQLite stays writable, and an interrupted run keeps the
batches it finished); a request or a test passes nothing and gets one transaction.
"""

from collections.abc import Callable, Iterator, Sequence

import numpy as np
from sqlalchemy import delete, insert, select
from sqlmodel import Session

from app.db import driver_param, fetch_all_raw, refresh_planner_statistics
from app.embeddings import neighbour_graph
from app.embeddings.base import Embedder
from app.embeddings.neighbour_graph import NO_VECTOR
from app.exports.base import row_positions
from app.models import Embedding, Example
from app.progress import Progress
from app.text import sha256_hex



def embedding_text(input_text: str) -> str:
    """What gets embedded for an example: its input (near-duplicates and outliers are about inputs)."""
    return input_text


def text_hash(text: str) -> str:
    return sha256_hex(text)


def stale_examples(session: Session, dataset_id: int, model: str) -> list[tuple[int, str, str]]:
    """(example id, text, text hash) of every example whose stored vector is missing or out of date."""
    rows = session.execute(
        select(Example.id, Example.input, Embedding.text_hash)
        .outerjoin(Embedding, (Embedding.example_id == Example.id) & (Embedding.model == model))
        .where(Example.dataset_id == dataset_id)
        .order_by(Example.id)
    ).all()
    return _changed((example_id, input_text, (stored_hash or "").encode()) for example_id, input_text, stored_hash in rows)


def _changed(rows) -> list[tuple[int, str, str]]:
    """(example id, text, hash) of the (example id, input, stored hash as bytes) rows whose hash differs."""
    stale = []
    for example_id, input_text, stored_hash in rows:
        text = embedding_text(input_text)
        digest = text_hash(text)
        if digest.encode() != stored_hash:
            stale.append((example_id, text, digest))
    return stale


def stale_among(session: Session, model: str, examples: Sequence[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """The same as `stale_examples` for (example id, input) rows the caller has already read, sorted by id:
    only the stored hashes are read, so the analysis reads each text once."""
    ids = np.fromiter((example_id for example_id, _ in examples), dtype=np.int64, count=len(examples))
    _, stored = vector_identities(session, model, ids)
    return _changed((example_id, input_text, stored_hash)
                    for (example_id, input_text), stored_hash in zip(examples, stored, strict=True))


def texts_per_step(embedder: Embedder) -> int:
    """Texts encoded and written per step: a few seconds of work, so that progress moves and writes stay short."""
    return int(getattr(embedder, "texts_per_step", 256))


def _encode_locally(embedder: Embedder, texts: list[str], step: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, len(texts), step):
        yield np.arange(start, min(start + step, len(texts))), embedder.encode(texts[start : start + step])


def embed_missing(
    session: Session, dataset_id: int, embedder: Embedder, progress: Progress | None = None,
    batch_size: int | None = None, checkpoint: Callable[[], None] | None = None, backend: str | None = None,
    examples: Sequence[tuple[int, str]] | None = None,
) -> int:
    """Embed the examples whose text changed; returns how many texts were embedded.

    `examples`: the dataset's (id, input) rows, sorted by id, when the caller holds them already.

    `backend` `local` encodes in this process, `ray` on the Ray cluster (app/embeddings/ray_backend.py);
    default: `Settings.embed_backend`. Either way the vectors are written here, step by step.
    """
    from app.config import get_settings

    settings = get_settings()
    backend = backend or settings.embed_backend
    stale = (stale_examples(session, dataset_id, embedder.name) if examples is None
             else stale_among(session, embedder.name, examples))
    if checkpoint:
        checkpoint()  # end the reading transaction before the slow part
    total = len(stale)
    if progress:
        progress(0, total)
    if not total:
        return 0
    step = batch_size or texts_per_step(embedder)
    texts = [text for _, text, _ in stale]
    if backend == "ray":
        from app.embeddings import ray_backend

        encoded = ray_backend.encode_rows(embedder, texts, step, address=settings.ray_address)
    else:
        encoded = _encode_locally(embedder, texts, step)
    done = 0
    for rows, vectors in encoded:
        _write(session, embedder.name, [stale[row] for row in rows], vectors)
        if checkpoint:
            checkpoint()
        done += len(rows)
        if progress:
            progress(done, total)
    refresh_planner_statistics(session, "embeddings", total)
    if checkpoint:
        checkpoint()
    return total


def _write(session: Session, model: str, batch: list[tuple[int, str, str]], vectors: np.ndarray) -> None:
    ids = [example_id for example_id, _, _ in batch]
    # Examples deleted while this batch was being encoded get no vector.
    still_there = set(session.scalars(select(Example.id).where(Example.id.in_(ids))))
    session.execute(delete(Embedding).where(Embedding.model == model, Embedding.example_id.in_(ids)))
    rows = [{"example_id": example_id, "model": model, "text_hash": digest, "dim": int(vector.shape[0]),
             "vector": np.asarray(vector, dtype=np.float32).tobytes()}
            for (example_id, _, digest), vector in zip(batch, vectors, strict=True) if example_id in still_there]
    if rows:
        session.execute(insert(Embedding), rows)
    session.flush()


def load_vectors(session: Session, dataset_id: int, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(example ids int64, vectors float32 n x d) of the dataset's stored vectors, ordered by example id."""
    rows = session.execute(
        select(Embedding.example_id, Embedding.vector)
        .join(Example, Example.id == Embedding.example_id)
        .where(Example.dataset_id == dataset_id, Embedding.model == model)
        .order_by(Embedding.example_id)
    ).all()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
    return ids, vectors


# By the range of the wanted ids (the unique index's order) rather than a join with examples: a fifth
# faster on SQLite, twice on Postgres; rows of other examples in the range are ignored. An embeddings
# row is identified by its id and text_hash (see app/embeddings/neighbour_graph.py).
_IDENTITIES_SQL = "SELECT example_id, id, text_hash FROM embeddings WHERE model = {param} " \
                  "AND example_id BETWEEN {param} AND {param}"


def vector_identities(session: Session, model: str, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per id: (id of its embeddings row of `model`, NO_VECTOR if none; that row's text_hash as S64).
    Reads no vector: a tenth of the bytes of reading them, and no float to decode."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return np.zeros(0, dtype=np.int64), neighbour_graph.as_hashes([])
    param = driver_param(session)
    rows = fetch_all_raw(session, _IDENTITIES_SQL.format(param=param), (model, int(ids.min()), int(ids.max())))
    return aligned_identities(rows, ids)


def aligned_identities(rows: list[tuple], ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(embedding ids, text hashes) of rows (example_id, id, text_hash, ...) aligned with ids."""
    found = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    row_ids = np.append(np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows)), NO_VECTOR)
    hashes = np.append(neighbour_graph.as_hashes([row[2] for row in rows]), neighbour_graph.as_hashes([""]))
    at = row_positions(found, ids)  # -1 picks the appended "no vector"
    return row_ids[at], hashes[at]
