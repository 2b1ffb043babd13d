"""The example page: status control, revisions as word diffs that can be reverted, similar examples."""

import re

import numpy as np

from tests.web.test_review_pages import _example


def test_status_can_be_set_back_after_a_wrong_reject(page_client, seed_pairs):
    ds, ids = seed_pairs(1)
    page_client.patch(f"/api/v1/examples/{ids[0]}", json={"version": 1, "status": "rejected"})
    page = page_client.get(f"/examples/{ids[0]}")
    assert 'data-status="pending"' in page.text
    done = page_client.post(f"/examples/{ids[0]}/status", data={"status": "pending", "version": 2},
                            headers={"HX-Request": "true"})
    assert done.status_code == 200 and "Status set to pending." in done.text
    assert _example(page_client, ids[0])["status"] == "pending"
    stale = page_client.post(f"/examples/{ids[0]}/status", data={"status": "accepted", "version": 2},
                             headers={"HX-Request": "true"})
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    bad = page_client.post(f"/examples/{ids[0]}/status", data={"status": "maybe", "version": 3})
    assert bad.status_code == 422 and "accepted, rejected or pending" in bad.text


def test_revisions_show_a_word_diff_and_revert(page_client, seed_pairs):
    ds, ids = seed_pairs(rows=[{"id": "a", "prompt": "the quick brown fox", "completion": "jumps"}])
    page_client.patch(f"/api/v1/examples/{ids[0]}", json={"version": 1, "input": "the slow brown fox"})
    page = page_client.get(f"/examples/{ids[0]}")
    assert '<del class="diff">quick</del><ins class="diff">slow</ins>' in page.text
    assert page.text.count("the quick brown fox") == 0  # no second full copy of the text
    revision = int(re.search(r'data-revision="(\d+)"', page.text).group(1))
    reverted = page_client.post(f"/examples/{ids[0]}/revisions/{revision}/revert", data={"version": 2},
                                headers={"HX-Request": "true"})
    assert reverted.status_code == 200 and "Change reverted" in reverted.text
    example = _example(page_client, ids[0])
    assert (example["input"], example["version"]) == ("the quick brown fox", 3)
    history = page_client.get(f"/api/v1/examples/{ids[0]}/revisions").json()
    assert [(r["old"], r["new"]) for r in history] == [("the quick brown fox", "the slow brown fox"),
                                                       ("the slow brown fox", "the quick brown fox")]
    missing = page_client.post(f"/examples/{ids[0]}/revisions/999999/revert", data={"version": 3})
    assert missing.status_code == 404


def test_similar_examples_come_from_the_analysis_neighbours(page_client, seed_pairs):
    from app.config import get_settings
    from app.embeddings import neighbour_graph

    import shutil

    ds, ids = seed_pairs(3)
    cache_dir = neighbour_graph.analysis_cache_dir(get_settings().data_dir, ds["id"])
    shutil.rmtree(cache_dir, ignore_errors=True)  # an earlier test's dataset may have had this id
    before = page_client.get(f"/examples/{ids[0]}")
    assert "Run an analysis of the dataset to see the examples most like this one" in before.text
    graph = neighbour_graph.NeighbourGraph(
        model="hashing", ids=np.array(ids), neighbours=np.array([[ids[2], ids[1]], [ids[0], -1], [ids[0], -1]]),
        similarities=np.array([[0.9, 0.5], [0.8, -np.inf], [0.9, -np.inf]], dtype=np.float32),
        embedding_ids=np.array([1, 2, 3]), text_hashes=neighbour_graph.as_hashes(["a", "b", "c"]),
        unit_length=np.ones(3, dtype=bool))
    neighbour_graph.save(cache_dir, graph)
    page = page_client.get(f"/examples/{ids[0]}")
    section = page.text[page.text.index('id="similar"'):page.text.index('id="revisions"')]
    assert re.findall(r'<td class="num">([\d.]+)</td><td><a href="/examples/(\d+)"', section) == [
        ("0.900", str(ids[2])), ("0.500", str(ids[1]))]
