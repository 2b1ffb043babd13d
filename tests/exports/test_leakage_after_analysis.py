"""After a real analysis (hashing embedder), the export's leakage check reads the neighbour graph the
analysis saved and finds exactly what the exhaustive search finds, with examples edited and imported
after the analysis; a graph of another model, or none, means the exhaustive search (both databases)."""

import numpy as np
import pytest
from sqlalchemy import select

from app.config import get_settings
from app.db import session_scope
from app.embeddings import get_embedder, neighbour_graph
from app.exports.leakage import NearSearch, VectorsChanged
from app.models import Embedding
from app.schemas.export import ExportParams
from app.services import embeddings_store
from app.services.datasets import get_dataset
from app.services.export_selection import near_search, select_pairs
from tests.analysis.helpers import analyse, jsonl

TOPICS = ["nginx web server", "postgres database backup", "python packaging wheels", "rust borrow checker"]
# k = 4 neighbours: the clusters of 12, 8 and 5 near-duplicates hold saturated examples.
SETTINGS = {"near_duplicate": {"k": 4}, "outlier": {"k": 4}}
EVERYTHING = ExportParams(dedupe="keep_all", exclude_checks=[], include_status=["pending", "accepted", "rejected"])


def near_duplicates(topic: str, n: int, start: int = 0) -> list[str]:
    return [f"How do I configure the {topic} on Debian stable, case number {i}?" for i in range(start, start + n)]


def unrelated(rng, n: int) -> list[str]:
    words = [f"w{i}" for i in range(400)]
    return [" ".join(rng.choice(words, size=8)) for _ in range(n)]


def rows(texts: list[str], prefix: str) -> str:
    return jsonl([{"id": f"{prefix}{i}", "prompt": text, "completion": "yes" if i % 2 else "no"}
                  for i, text in enumerate(texts)])


@pytest.fixture
def analysed(client, make_dataset, import_jsonl):
    """A dataset analysed with the hashing embedder: near-duplicate clusters of 12, 8, 5, 3 and 30 others."""
    rng = np.random.default_rng(0)
    texts = [t for topic, size in zip(TOPICS, [12, 8, 5, 3]) for t in near_duplicates(topic, size)]
    texts += unrelated(rng, 30)
    ds = make_dataset(task_type="classification", settings=SETTINGS)
    assert import_jsonl(ds["id"], rows(texts, "a")).status_code == 200
    analyse(client, ds["id"])
    return ds


def cache_dir(dataset_id: int):
    return neighbour_graph.analysis_cache_dir(get_settings().data_dir, dataset_id)


def compare_with_exhaustive(dataset_id: int, rounds: int = 25, read_vectors_at_once: bool = False) -> NearSearch:
    """The graph-based search against the exhaustive one on the same stored vectors, for random splits
    (in the read transaction, as an export runs it: the graph-based search reads vectors as it needs them)."""
    rng = np.random.default_rng(1)
    with session_scope() as session:
        dataset = get_dataset(session, dataset_id)
        ids = select_pairs(session, dataset, EVERYTHING).rows.ids
        near = near_search(session, dataset, ids, get_settings(), read_vectors_at_once=read_vectors_at_once)
        exhaustive = near_search(session, dataset, ids, get_settings())
        exhaustive = NearSearch(ids, exhaustive.model, exhaustive.vectors, exhaustive.threshold, None)
        leaks = 0
        for _ in range(rounds):
            codes = rng.choice(3, size=len(ids), p=[0.6, 0.2, 0.2]).astype(np.int64)
            found, searched = near.nearest_train(codes)
            expected, searched_all = exhaustive.nearest_train(codes)
            for split in ("validation", "test"):
                assert [i for i, _, _ in found[split]] == [i for i, _, _ in expected[split]]
                assert [s for _, _, s in found[split]] == pytest.approx([s for _, _, s in expected[split]], abs=1e-5)
                leaks += len(found[split])
            assert searched <= searched_all
    assert leaks > 50
    return near


def test_the_analysis_saves_the_graph_and_the_check_reads_it_exactly(analysed):
    graph = neighbour_graph.load(cache_dir(analysed["id"]))
    assert graph is not None and graph.model == "hashing" and graph.k == 4 and len(graph.ids) == 58
    near = compare_with_exhaustive(analysed["id"])
    assert near.uses_graph and near.fresh.all()
    assert near.saturated.sum() >= 12  # members of the clusters bigger than k + 1


def test_examples_edited_or_imported_after_the_analysis_are_searched(client, analysed, import_jsonl):
    page = client.get(f"/api/v1/datasets/{analysed['id']}/examples", params={"limit": 100}).json()["items"]
    others = [e for e in page if e["external_id"].startswith("a") and int(e["external_id"][1:]) >= 28]
    for example, text in zip(others[:3], near_duplicates(TOPICS[0], 3, start=50)):  # now near cluster 1
        response = client.patch(f"/api/v1/examples/{example['id']}", json={"version": example["version"], "input": text})
        assert response.status_code == 200, response.text
    late = near_duplicates(TOPICS[1], 4, start=50) + unrelated(np.random.default_rng(5), 3)
    assert import_jsonl(analysed["id"], rows(late, "late")).status_code == 200
    # Only an analysis writes vectors: this one embedded the changes, then stopped before saving its graph.
    with session_scope() as session:
        assert embeddings_store.embed_missing(session, analysed["id"], get_embedder("hashing")) == 3 + 7
    near = compare_with_exhaustive(analysed["id"])
    assert near.uses_graph and int((~near.fresh).sum()) == 3 + 7


def test_export_after_analysis_uses_the_graph_and_matches_the_exhaustive_export(client, analysed):
    body = {"format": "trl_prompt_completion", "seed": 4, "dedupe": "keep_all", "exclude_checks": []}
    with_graph = client.post(f"/api/v1/datasets/{analysed['id']}/exports", json=body)
    assert with_graph.status_code == 201, with_graph.text
    leakage = with_graph.json()["manifest"]["leakage"]
    assert "neighbour graph" in leakage["near_method"] and leakage["near_check"] == "done"
    assert leakage["passed"] is True and leakage["embedding_model"] == "hashing"
    neighbour_graph.graph_path(cache_dir(analysed["id"])).unlink()
    without = client.post(f"/api/v1/datasets/{analysed['id']}/exports", json=body).json()["manifest"]
    assert "exhaustive" in without["leakage"]["near_method"]
    assert without["leakage"]["near_searched_exhaustively"] >= leakage["near_searched_exhaustively"]
    assert without["example_ids"] == with_graph.json()["manifest"]["example_ids"]
    how = ("near_method", "near_searched_exhaustively")
    assert {k: v for k, v in without["leakage"].items() if k not in how} == \
        {k: v for k, v in leakage.items() if k not in how}


def test_a_graph_of_another_embedding_model_is_not_used(client, analysed):
    graph = neighbour_graph.load(cache_dir(analysed["id"]))
    graph.model = "all-MiniLM-L6-v2"
    neighbour_graph.save(cache_dir(analysed["id"]), graph)
    with session_scope() as session:
        dataset = get_dataset(session, analysed["id"])
        near = near_search(session, dataset, select_pairs(session, dataset, EVERYTHING).rows.ids, get_settings())
    assert near.model == "hashing" and not near.uses_graph


def test_an_analysis_without_embedding_checks_saves_no_graph(client, make_dataset, import_jsonl):
    off = {name: {"enabled": False} for name in ("near_duplicate", "conflicting_output", "label_issue", "outlier")}
    ds = make_dataset(task_type="classification", settings=off)
    assert import_jsonl(ds["id"], rows(near_duplicates(TOPICS[0], 6), "a")).status_code == 200
    neighbour_graph.graph_path(cache_dir(ds["id"])).unlink(missing_ok=True)  # left by an earlier test's dataset
    analyse(client, ds["id"])
    assert neighbour_graph.load(cache_dir(ds["id"])) is None
    manifest = client.post(f"/api/v1/datasets/{ds['id']}/exports", json={}).json()["manifest"]
    assert manifest["leakage"]["near_check"].startswith("skipped")  # and no vectors either


def test_a_graph_file_of_the_old_format_means_the_exhaustive_search(client, analysed):
    # The previous code's file: fingerprints of the vectors instead of their rows' identities.
    graph = neighbour_graph.load(cache_dir(analysed["id"]))
    with open(neighbour_graph.graph_path(cache_dir(analysed["id"])), "wb") as out:
        np.savez(out, model=np.array(graph.model), ids=graph.ids, neighbours=graph.neighbours,
                 similarities=graph.similarities, fingerprints=np.zeros((len(graph.ids), 4), dtype=np.float32))
    manifest = client.post(f"/api/v1/datasets/{analysed['id']}/exports", json={}).json()["manifest"]
    assert "exhaustive" in manifest["leakage"]["near_method"] and manifest["leakage"]["near_check"] == "done"


def test_a_vector_replaced_after_its_identity_was_read_is_noticed(analysed):
    """Identities and vectors are two reads; on Postgres (read committed) an analysis may replace a row in
    between. The search then refuses the vector (VectorsChanged), and the export reads both at once."""
    codes = np.random.default_rng(2).choice(3, size=58, p=[0.6, 0.2, 0.2]).astype(np.int64)
    with session_scope() as session:
        dataset = get_dataset(session, analysed["id"])
        ids = select_pairs(session, dataset, EVERYTHING).rows.ids
        near = near_search(session, dataset, ids, get_settings())
        assert near.uses_graph and near.vectors.loads == 0
        # Replaced as embed_missing replaces a row (same transaction here, so that SQLite allows it).
        replaced = ids[int(np.nonzero(near.saturated)[0][0])]
        row = session.get(Embedding, session.scalar(select(Embedding.id).where(Embedding.example_id == replaced)))
        copy = {name: getattr(row, name) for name in ("example_id", "model", "text_hash", "dim", "vector")}
        session.delete(row)
        session.flush()
        session.add(Embedding(**copy))
        session.flush()
        codes[list(ids).index(replaced)] = 0  # train: searched against the saturated held-out items
        with pytest.raises(VectorsChanged):
            near.nearest_train(codes)
        again = near_search(session, dataset, ids, get_settings(), read_vectors_at_once=True)
        assert again.uses_graph and not again.fresh[list(ids).index(replaced)]
        exhaustive = NearSearch(ids, again.model, again.vectors, again.threshold, None)
        found, expected = again.nearest_train(codes)[0], exhaustive.nearest_train(codes)[0]
        for split in ("validation", "test"):
            assert [i for i, _, _ in found[split]] == [i for i, _, _ in expected[split]]
            assert [s for _, _, s in found[split]] == pytest.approx([s for _, _, s in expected[split]], abs=1e-5)
