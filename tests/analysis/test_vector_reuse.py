"""A re-analysis reads from the database only the vectors of the examples whose text changed."""

import numpy as np
from sqlmodel import Session

from app.config import get_settings
from app.embeddings import get_embedder, vector_cache
from app.embeddings.neighbour_graph import analysis_cache_dir
from app.services import analysis, embeddings_store
from tests.analysis.helpers import analyse, jsonl


def test_a_re_analysis_takes_the_unchanged_vectors_from_the_last_one(client, make_dataset, import_jsonl, database,
                                                                     monkeypatch):
    dataset = make_dataset("reuse")
    pairs = [{"prompt": f"question {i} about package number {i * 7}", "completion": f"answer {i}"}
             for i in range(30)]
    assert import_jsonl(dataset["id"], jsonl(pairs)).status_code == 200
    analyse(client, dataset["id"])

    streamed = []
    real = analysis.load_aligned_vectors
    monkeypatch.setattr(analysis, "load_aligned_vectors", lambda *args: streamed.append(1) or real(*args))
    first = client.get(f"/api/v1/datasets/{dataset['id']}/examples", params={"limit": 1}).json()["items"][0]
    edited = client.patch(f"/api/v1/examples/{first['id']}", json={"version": first["version"],
                                                                   "input": "a different question entirely"})
    assert edited.status_code == 200
    analyse(client, dataset["id"])
    assert streamed == []  # not every vector again: the cached ones, and the edited one by id

    model = get_embedder().name
    with Session(database) as session:
        ids, stored = embeddings_store.load_vectors(session, dataset["id"], model)
        identities = embeddings_store.vector_identities(session, model, ids)
    cached, filled = vector_cache.cached_rows(analysis_cache_dir(get_settings().data_dir, dataset["id"]), model,
                                              ids, identities)
    # The kept vectors are the stored ones; one edit of 30 (under 5%) does not rewrite the file, so the edited
    # example's vector is read from the database again next time.
    edited_row = list(ids).index(first["id"])
    assert filled.tolist() == [row != edited_row for row in range(len(ids))]
    assert np.array_equal(cached[filled], stored[filled])


def test_the_vectors_are_read_by_id_range_without_another_datasets_rows(client, make_dataset, import_jsonl,
                                                                        database):
    # The ids of `mine` straddle those of `other`: the range read meets other's rows and drops them.
    mine, other = make_dataset("mine"), make_dataset("other")
    for dataset, start in ((mine, 0), (other, 100), (mine, 200)):
        pairs = [{"prompt": f"text number {i} of a set", "completion": "x"} for i in range(start, start + 4)]
        assert import_jsonl(dataset["id"], jsonl(pairs)).status_code == 200
    analyse(client, mine["id"])
    analyse(client, other["id"])
    model = get_embedder().name
    with Session(database) as session:
        ids, stored = embeddings_store.load_vectors(session, mine["id"], model)  # joined with examples
        assert len(ids) == 8
        assert np.array_equal(analysis.load_aligned_vectors(session, model, ids), stored)
        assert analysis.load_aligned_vectors(session, model, ids[:0]).shape[0] == 0
