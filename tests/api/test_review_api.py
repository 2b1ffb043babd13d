"""The review verbs of the JSON API: the same service as the HTML queue."""

from tests.web.conftest import add_findings, seed_pairs  # noqa: F401  (fixtures)


def _example(client, example_id):
    return client.get(f"/api/v1/examples/{example_id}").json()


def _finding(client, dataset_id, finding_id):
    items = client.get(f"/api/v1/datasets/{dataset_id}/findings", params={"limit": 200}).json()["items"]
    return next(f for f in items if f["id"] == finding_id)


def test_verdicts_resolve_or_dismiss_and_undo_takes_them_back(reviewer_client, seed_pairs, add_findings):
    client = reviewer_client
    ds, ids = seed_pairs(3, task_type="classification", label_set=["a", "b"])
    fids = add_findings(ds["id"], [{"example_id": i, "check": "label_issue", "score": 0.8, "details": {}} for i in ids])
    accepted = client.post(f"/api/v1/findings/{fids[0]}/verdict", json={"verdict": "accept"})
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["summary"] == f"Example #{ids[0]} accepted" and body["finding_ids"] == [fids[0]]
    assert _example(client, ids[0])["status"] == "accepted"
    assert _finding(client, ds["id"], fids[0])["status"] == "resolved"

    labelled = client.post(f"/api/v1/findings/{fids[1]}/verdict", json={"verdict": "label", "label": "b"}).json()
    assert _example(client, ids[1])["label"] == "b"
    client.post(f"/api/v1/findings/{fids[2]}/verdict", json={"verdict": "dismiss"})
    assert _finding(client, ds["id"], fids[2])["status"] == "dismissed"
    assert _example(client, ids[2])["status"] == "pending"

    undone = client.post(f"/api/v1/datasets/{ds['id']}/review/undo", json=labelled["undo"])
    assert undone.status_code == 200 and undone.json()["findings_changed"] == 1
    assert _example(client, ids[1])["label"] == "c1" and _finding(client, ds["id"], fids[1])["status"] == "open"

    no_label = client.post(f"/api/v1/findings/{fids[1]}/verdict", json={"verdict": "label"})
    assert no_label.status_code == 422 and "choose a label" in no_label.json()["detail"]
    wrong = client.post(f"/api/v1/findings/{fids[1]}/verdict", json={"verdict": "explode"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "verdict"
    assert client.post("/api/v1/findings/999999/verdict", json={"verdict": "accept"}).status_code == 404


def test_keep_one_settles_the_whole_cluster_in_one_call(reviewer_client, seed_pairs, add_findings):
    client = reviewer_client
    ds, ids = seed_pairs(rows=[{"id": f"d{i}", "prompt": "same question", "completion": "same"} for i in range(11)])
    cluster = f"exact:{ids[0]}"
    details = {"cluster_id": cluster, "duplicate_of": ids[0], "members": ids[:8]}  # a check's capped list
    add_findings(ds["id"], [{"example_id": i, "check": "exact_duplicate", "score": 1.0, "details": details}
                            for i in ids[1:]])
    kept = client.post(f"/api/v1/datasets/{ds['id']}/clusters/{cluster}/keep", json={"example_id": ids[5]})
    assert kept.status_code == 200, kept.text
    assert kept.json()["findings_changed"] == 10 and kept.json()["examples_changed"] == 11
    statuses = [_example(client, i)["status"] for i in ids]
    assert statuses == ["rejected"] * 5 + ["accepted"] + ["rejected"] * 5
    open_left = client.get(f"/api/v1/datasets/{ds['id']}/findings", params={"status": "open"}).json()["total"]
    assert open_left == 0
    outsider = client.post(f"/api/v1/datasets/{ds['id']}/clusters/{cluster}/keep", json={"example_id": 999999})
    assert outsider.status_code == 422 and "not a member" in outsider.json()["detail"]
    unknown = client.post(f"/api/v1/datasets/{ds['id']}/clusters/exact:0/keep", json={"example_id": ids[0]})
    assert unknown.status_code == 404


def test_bulk_by_ids_by_filter_with_expected_count_and_by_rule(client, seed_pairs, add_findings):
    ds, ids = seed_pairs(rows=[{"id": f"r{i}", "prompt": f"q{i // 2}", "completion": "same" if i < 4 else str(i)}
                               for i in range(6)])
    dup = add_findings(ds["id"], [{"example_id": ids[i + 1], "check": "exact_duplicate", "score": 1.0, "details": {
        "cluster_id": f"exact:{ids[i]}", "duplicate_of": ids[i], "members": [ids[i], ids[i + 1]]}} for i in (0, 2, 4)])
    outliers = add_findings(ds["id"], [{"example_id": i, "check": "outlier", "score": s, "details": {}}
                                       for i, s in zip(ids, (0.1, 0.2, 0.6, 0.7, 0.8, 0.9), strict=True)])
    url = f"/api/v1/datasets/{ds['id']}/review/bulk"
    by_ids = client.post(url, json={"action": "dismiss", "finding_ids": outliers[:2]})
    assert by_ids.status_code == 200 and by_ids.json()["findings_changed"] == 2
    stale = client.post(url, json={"action": "reject", "filter": {"check": "outlier", "min_score": 0.65},
                                   "expected": 2})
    assert stale.status_code == 409 and stale.json()["current_count"] == 3
    by_filter = client.post(url, json={"action": "reject", "filter": {"check": "outlier", "min_score": 0.65},
                                       "expected": 3})
    assert by_filter.json()["finding_ids"] == sorted(outliers[3:])
    rule = client.post(url, json={"action": "keep_one_agreeing", "filter": {"check": "exact_duplicate"}})
    assert rule.status_code == 200 and rule.json()["finding_ids"] == dup[:2]
    both = client.post(url, json={"action": "accept", "finding_ids": [1], "filter": {"check": "outlier"}})
    assert both.status_code == 422 and "either finding_ids or filter" in both.json()["detail"]


def test_example_status_is_settable_through_patch(reviewer_client, seed_pairs):
    ds, ids = seed_pairs(1)
    rejected = reviewer_client.patch(f"/api/v1/examples/{ids[0]}", json={"version": 1, "status": "rejected"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    back = reviewer_client.patch(f"/api/v1/examples/{ids[0]}", json={"version": 2, "status": "pending"})
    assert back.json()["status"] == "pending"
    bad = reviewer_client.patch(f"/api/v1/examples/{ids[0]}", json={"version": 3, "status": "maybe"})
    assert bad.status_code == 422
