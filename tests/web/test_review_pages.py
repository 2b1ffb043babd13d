import re


def _queue_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-queue-item data-finding-id="(\d+)"', html)]


def _current(html: str) -> int:
    return int(re.search(r'class="queue-item current"\s+data-queue-item data-finding-id="(\d+)"', html).group(1))


def _label_issues(add_findings, ds, ids):
    return add_findings(ds["id"], [
        {"example_id": ids[i], "check": "label_issue", "score": score,
         "details": {"message": f"label of {i} looks wrong", "given_label": "a", "suggested_label": "b"}}
        for i, score in ((0, 0.9), (1, 0.8), (2, 0.7), (3, 0.6))])


def _example(client, example_id):
    return client.get(f"/api/v1/examples/{example_id}").json()


def _finding_status(client, dataset_id, finding_id):
    page = client.get(f"/api/v1/datasets/{dataset_id}/findings", params={"limit": 100}).json()
    return next(f["status"] for f in page["items"] if f["id"] == finding_id)


def test_queue_lists_open_findings_by_score_with_label_keys(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(4, task_type="classification", label_set=["a", "b", "c"])
    fids = _label_issues(add_findings, ds, ids)
    page = page_client.get(f"/datasets/{ds['id']}/review/label_issue")
    assert page.status_code == 200 and _queue_ids(page.text) == fids and _current(page.text) == fids[0]
    assert "4 open findings" in page.text
    # key 1 is the suggested label, then the label set
    keys = re.findall(r'data-label-key="(\d)" data-label="([^"]+)"', page.text)[:3]
    assert keys == [("1", "b"), ("2", "a"), ("3", "c")]


def test_each_action_returns_the_queue_with_the_next_item_current(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(4, task_type="classification", label_set=["a", "b", "c"])
    fids = _label_issues(add_findings, ds, ids)
    act = f"/datasets/{ds['id']}/review/label_issue/act"
    hx = {"HX-Request": "true"}

    accepted = page_client.post(act, data={"finding_id": fids[1], "action": "accept", "offset": 0}, headers=hx)
    assert accepted.status_code == 200 and "<html" not in accepted.text
    assert _queue_ids(accepted.text) == [fids[0], fids[2], fids[3]] and _current(accepted.text) == fids[2]
    assert _example(page_client, ids[1])["status"] == "accepted"
    assert _finding_status(page_client, ds["id"], fids[1]) == "resolved"

    rejected = page_client.post(act, data={"finding_id": fids[2], "action": "reject"}, headers=hx)
    assert _current(rejected.text) == fids[3] and _example(page_client, ids[2])["status"] == "rejected"

    labelled = page_client.post(act, data={"finding_id": fids[3], "action": "label", "label": "b"}, headers=hx)
    assert _queue_ids(labelled.text) == [fids[0]] and _current(labelled.text) == fids[0]  # last item: stay on the end
    example = _example(page_client, ids[3])
    assert (example["label"], example["output"]) == ("b", "b")  # classification: the output follows the label

    dismissed = page_client.post(act, data={"finding_id": fids[0], "action": "dismiss"}, headers=hx)
    assert 'id="queue-empty"' in dismissed.text
    assert _finding_status(page_client, ds["id"], fids[0]) == "dismissed"
    assert _example(page_client, ids[0])["status"] == "pending"  # dismiss leaves the example alone

    bad = page_client.post(act, data={"finding_id": fids[0], "action": "explode"}, headers=hx)
    assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#flash"


def test_bulk_actions_apply_to_the_selection(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(4, task_type="classification", label_set=["a", "b", "c"])
    fids = _label_issues(add_findings, ds, ids)
    bulk = f"/datasets/{ds['id']}/review/label_issue/bulk"
    done = page_client.post(bulk, data={"finding_ids": [fids[0], fids[2]], "bulk_action": "label", "bulk_label": "c"},
                            headers={"HX-Request": "true"})
    assert done.status_code == 200 and _queue_ids(done.text) == [fids[1], fids[3]] and "2 items relabelled" in done.text
    assert _example(page_client, ids[0])["label"] == "c" and _example(page_client, ids[2])["label"] == "c"
    rejected = page_client.post(bulk, data={"finding_ids": [fids[1], fids[3]], "bulk_action": "reject"})
    assert rejected.status_code == 200 and "<html" in rejected.text  # a plain form post gets the whole page
    assert {_example(page_client, ids[i])["status"] for i in (1, 3)} == {"rejected"}
    nothing = page_client.post(bulk, data={"bulk_action": "accept"}, headers={"HX-Request": "true"})
    assert nothing.status_code == 422 and "select at least one" in nothing.text


def test_cluster_shows_members_side_by_side_with_differences_and_keeps_one(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(rows=[
        {"id": "a", "prompt": "how do I reset my password", "completion": "Use the reset link."},
        {"id": "b", "prompt": "how do I reset my passcode", "completion": "Use the reset link."},
        {"id": "c", "prompt": "how can I reset my password", "completion": "Call support."},
    ])
    details = {"cluster_id": f"near:{ids[0]}", "members": ids, "similarity": 0.97, "message": "near duplicates"}
    fids = add_findings(ds["id"], [
        {"example_id": ids[1], "check": "near_duplicate", "score": 0.97, "details": {**details, "duplicate_of": ids[0]}},
        {"example_id": ids[2], "check": "near_duplicate", "score": 0.95, "details": {**details, "duplicate_of": ids[0]}},
    ])
    page = page_client.get(f"/datasets/{ds['id']}/review/near_duplicate")
    cluster = page.text[page.text.index(f'id="cluster-{fids[0]}"'):page.text.index(f'id="cluster-{fids[1]}"')]
    assert cluster.count('class="member') == 3
    assert '<del class="diff">passcode</del><ins class="diff">password</ins>' in cluster
    kept = page_client.post(f"/datasets/{ds['id']}/review/near_duplicate/keep", headers={"HX-Request": "true"},
                            data={"keep": ids[0], "cluster_id": f"near:{ids[0]}"})
    assert kept.status_code == 200 and 'id="queue-empty"' in kept.text and "rejected 2 others" in kept.text
    assert [_example(page_client, i)["status"] for i in ids] == ["accepted", "rejected", "rejected"]
    other = page_client.post(f"/datasets/{ds['id']}/review/near_duplicate/keep", data={"keep": 99999, "cluster_id": f"near:{ids[0]}"})
    assert other.status_code == 422


def test_review_actions_need_the_csrf_token(client, seed_pairs, add_findings):
    ds, ids = seed_pairs(4)
    fids = _label_issues(add_findings, ds, ids)
    client.get("/")
    refused = client.post(f"/datasets/{ds['id']}/review/label_issue/act", data={"finding_id": fids[0], "action": "reject"})
    assert refused.status_code == 403
    assert client.get(f"/api/v1/examples/{ids[0]}").json()["status"] == "pending"


def test_a_finding_of_another_dataset_is_refused(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(4)
    fids = _label_issues(add_findings, ds, ids)
    other, _ = seed_pairs(1, name="other")
    response = page_client.post(f"/datasets/{other['id']}/review/label_issue/act",
                                data={"finding_id": fids[0], "action": "reject"})
    assert response.status_code == 422
