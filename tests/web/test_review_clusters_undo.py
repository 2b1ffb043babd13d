"""Clusters larger than a page of cards, undo, rule-based and "all matching" bulk actions, queue context."""

import json
import re

from tests.web.test_review_pages import _example, _queue_ids


def _big_cluster(seed_pairs, add_findings, n=12, capped=8, labels=None, task_type="generation"):
    rows = [{"id": f"d{i}", "prompt": "how do I reset my password" + ("" if i % 3 else " please"),
             "completion": (labels[i] if labels else "Use the reset link.")} for i in range(n)]
    ds, ids = seed_pairs(rows=rows, task_type=task_type)
    details = {"cluster_id": f"exact:{ids[0]}", "duplicate_of": ids[0], "members": ids[:capped],
               "message": "same input"}
    fids = add_findings(ds["id"], [{"example_id": i, "check": "exact_duplicate", "score": 1.0, "details": details}
                                   for i in ids[1:]])
    return ds, ids, fids


def test_every_member_of_a_cluster_larger_than_eight_is_shown_and_keep_one_settles_all(
        page_client, seed_pairs, add_findings):
    ds, ids, fids = _big_cluster(seed_pairs, add_findings)
    page = page_client.get(f"/datasets/{ds['id']}/review/exact_duplicate")
    assert page.status_code == 200
    assert "12 members" in page.text
    first = page.text[page.text.index(f'id="cluster-{fids[0]}"'):page.text.index(f'id="item-{fids[1]}"')]
    shown = {int(i) for i in re.findall(r'href="/examples/(\d+)"', first)}
    assert shown == set(ids)  # the four past the capped `members` list too
    assert "identical copies" in first  # equal members are one card
    kept = page_client.post(f"/datasets/{ds['id']}/review/exact_duplicate/keep", headers={"HX-Request": "true"},
                            data={"keep": ids[0], "cluster_id": f"exact:{ids[0]}"})
    assert kept.status_code == 200 and 'id="queue-empty"' in kept.text, kept.text[:500]
    assert "rejected 11 others" in kept.text
    assert [_example(page_client, i)["status"] for i in ids] == ["accepted"] + ["rejected"] * 11


def test_undo_restores_the_example_and_reopens_the_finding(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(3, task_type="classification", label_set=["a", "b"])
    fids = add_findings(ds["id"], [{"example_id": ids[i], "check": "label_issue", "score": 0.9 - i / 10,
                                    "details": {"given_label": "c0", "suggested_label": "b"}} for i in range(2)])
    act = f"/datasets/{ds['id']}/review/label_issue/act"
    hx = {"HX-Request": "true"}
    labelled = page_client.post(act, data={"finding_id": fids[0], "action": "label", "label": "b"}, headers=hx)
    assert f"Example #{ids[0]} labelled “b”" in labelled.text
    assert not re.search(r"finding \d", labelled.text)  # no internal ids in the notice
    assert _queue_ids(labelled.text) == [fids[1]]
    undo_button = labelled.text[labelled.text.index('id="undo-button"'):]
    token = json.loads(re.search(r"hx-vals='([^']+)'", undo_button).group(1))
    undone = page_client.post(f"/datasets/{ds['id']}/review/label_issue/undo", headers=hx,
                              data={"undo": token["undo"], "offset": 0})
    assert undone.status_code == 200 and "Undone: 1 finding back in the queue" in undone.text
    assert _queue_ids(undone.text) == fids
    assert re.search(rf'class="queue-item current"\s+data-queue-item data-finding-id="{fids[0]}"', undone.text)
    example = _example(page_client, ids[0])
    assert (example["label"], example["output"]) == ("c0", "c0") and example["version"] == 3
    again = page_client.post(f"/datasets/{ds['id']}/review/label_issue/undo", headers=hx,
                             data={"undo": token["undo"], "offset": 0})
    assert again.status_code == 409 and "changed after this verdict" in again.text


def test_all_matching_asks_for_the_count_first_then_applies(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(6)
    add_findings(ds["id"], [{"example_id": i, "check": "outlier", "score": 0.5, "details": {}} for i in ids])
    bulk = f"/datasets/{ds['id']}/review/outlier/bulk"
    hx = {"HX-Request": "true"}
    asked = page_client.post(bulk, data={"scope": "all", "bulk_action": "reject", "q": "p"}, headers=hx)
    assert asked.status_code == 200 and "Reject all 6 open findings of outliers matching “p”?" in asked.text
    assert {_example(page_client, i)["status"] for i in ids} == {"pending"}  # nothing changed yet
    stale = page_client.post(bulk, data={"scope": "all", "bulk_action": "reject", "q": "p", "expected": 5},
                             headers=hx)
    assert stale.status_code == 409 and "6 findings match now, not the 5" in stale.text
    done = page_client.post(bulk, data={"scope": "all", "bulk_action": "reject", "q": "p", "expected": 6},
                            headers=hx)
    assert done.status_code == 200 and "6 items rejected" in done.text and 'id="queue-empty"' in done.text
    assert {_example(page_client, i)["status"] for i in ids} == {"rejected"}


def test_rule_keeps_one_of_every_agreeing_cluster(page_client, seed_pairs, add_findings):
    rows = [{"id": f"r{i}", "prompt": f"q{i // 2}", "completion": "same" if i < 4 else f"answer {i}"} for i in range(6)]
    ds, ids = seed_pairs(rows=rows)
    findings = [{"example_id": ids[i + 1], "check": "exact_duplicate", "score": 1.0,
                 "details": {"cluster_id": f"exact:{ids[i]}", "duplicate_of": ids[i], "members": [ids[i], ids[i + 1]]}}
                for i in (0, 2, 4)]
    add_findings(ds["id"], findings)
    rule = f"/datasets/{ds['id']}/review/exact_duplicate/rule"
    asked = page_client.post(rule, data={"offset": 0}, headers={"HX-Request": "true"})
    assert "2 clusters have members that all give the same answer" in asked.text and "resolve 2 findings" in asked.text
    done = page_client.post(rule, data={"offset": 0, "expected": 2}, headers={"HX-Request": "true"})
    assert done.status_code == 200 and "Settled 2 clusters" in done.text
    statuses = [_example(page_client, i)["status"] for i in ids]
    assert statuses == ["accepted", "rejected", "accepted", "rejected", "pending", "pending"]
    assert "1 open finding" in done.text  # the disagreeing cluster stays for a person


def test_conflict_label_applies_to_every_member(page_client, seed_pairs, add_findings):
    ds, ids, fids = _big_cluster(seed_pairs, add_findings, n=3, labels=["x", "y", "y"], task_type="classification")
    page = page_client.get(f"/datasets/{ds['id']}/review/exact_duplicate")
    assert "“x” for all" in page.text and "“y” for all" in page.text
    done = page_client.post(f"/datasets/{ds['id']}/review/exact_duplicate/label-all", headers={"HX-Request": "true"},
                            data={"label": "y", "cluster_id": f"exact:{ids[0]}"})
    assert done.status_code == 200 and 'id="queue-empty"' in done.text
    assert [_example(page_client, i)["label"] for i in ids] == ["y", "y", "y"]


def test_queue_context_search_and_unknown_queue(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(4, description="# Guidelines\n\nLabel **billing** only for invoices. <script>x()</script>")
    fids = add_findings(ds["id"], [{"example_id": i, "check": "near_duplicate", "score": 0.9, "details": {}}
                                   for i in ids])
    page_client.post(f"/datasets/{ds['id']}/review/near_duplicate/act", data={"finding_id": fids[0],
                                                                             "action": "dismiss"})
    page = page_client.get(f"/datasets/{ds['id']}/review/near_duplicate")
    assert "Review: Near duplicates" in page.text and "cosine similarity" in page.text
    assert "<strong>1</strong> of 4 reviewed (25%)" in page.text
    assert "<strong>billing</strong>" in page.text and "<script>x()" not in page.text
    found = page_client.get(f"/datasets/{ds['id']}/review/near_duplicate", params={"q": "p2"})
    assert _queue_ids(found.text) == [fids[2]] and "matching “p2”" in found.text
    missing = page_client.get(f"/datasets/{ds['id']}/review/no_such_check")
    assert missing.status_code == 404 and "no check called" in missing.text


def test_queue_search_takes_percent_and_underscore_literally_and_folds_ascii_case(page_client, seed_pairs, add_findings):
    rows = [{"id": "a", "prompt": "discount of 50% today", "completion": "c"},
            {"id": "b", "prompt": "discount of 50 dollars", "completion": "c"},
            {"id": "c", "prompt": "snake_case name", "completion": "c"},
            {"id": "d", "prompt": "snakeXcase name", "completion": "SHOUTED label"},
            {"id": "e", "prompt": "a school", "completion": "c", "label": "École"}]
    ds, ids = seed_pairs(rows=rows)
    fids = add_findings(ds["id"], [{"example_id": i, "check": "near_duplicate", "score": 0.9, "details": {}}
                                   for i in ids])
    queue = f"/datasets/{ds['id']}/review/near_duplicate"
    assert _queue_ids(page_client.get(queue, params={"q": "50%"}).text) == [fids[0]]
    assert _queue_ids(page_client.get(queue, params={"q": "snake_case"}).text) == [fids[2]]
    assert _queue_ids(page_client.get(queue, params={"q": "shouted"}).text) == [fids[3]]
    # ASCII letters fold, others do not, as in the example search, on both databases (the label too).
    assert _queue_ids(page_client.get(queue, params={"q": "éCOLE"}).text) == []
    assert _queue_ids(page_client.get(queue, params={"q": "ÉCOLE"}).text) == [fids[4]]
