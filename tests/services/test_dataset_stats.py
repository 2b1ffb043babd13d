"""The cached per-dataset counts follow every change: import, edit, delete, findings, verdicts."""

import json

from sqlmodel import Session, select

from app.services import dataset_stats


def report(client, dataset_id: int) -> dict:
    answer = client.get(f"/api/v1/datasets/{dataset_id}/report")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_report_counts_follow_import_edit_delete_and_findings(client, make_dataset, import_jsonl, database):
    ds = make_dataset("stats", task_type="classification")
    import_jsonl(ds["id"], "\n".join(json.dumps({"prompt": f"p{i}", "completion": "a" if i < 3 else "b"})
                                     for i in range(5)))
    first = report(client, ds["id"])
    assert first["examples"] == 5 and first["labels"] == {"a": 3, "b": 2} and first["clean_examples"] == 5
    assert report(client, ds["id"]) == first  # from the cache

    import_jsonl(ds["id"], json.dumps({"prompt": "late", "completion": "c"}))
    assert report(client, ds["id"])["labels"] == {"a": 3, "b": 2, "c": 1}

    items = client.get(f"/api/v1/datasets/{ds['id']}/examples", params={"limit": 10}).json()["items"]
    client.patch(f"/api/v1/examples/{items[0]['id']}", json={"version": 1, "status": "rejected"})
    after_reject = report(client, ds["id"])
    assert after_reject["labels"] == {"a": 2, "b": 2, "c": 1}
    assert after_reject["examples_by_status"] == {"pending": 5, "rejected": 1}

    client.delete(f"/api/v1/examples/{items[1]['id']}")
    assert report(client, ds["id"])["examples"] == 5

    from app.services.findings import FindingDraft, replace_open_findings
    with Session(database) as session:
        replace_open_findings(session, ds["id"], [FindingDraft(items[2]["id"], "outlier", 0.9)], {}, None)
        session.commit()
    flagged = report(client, ds["id"])
    assert flagged["clean_examples"] == 3 and flagged["clean_labels"] == {"b": 2, "c": 1}
    finding = client.get(f"/api/v1/datasets/{ds['id']}/findings").json()["items"][0]
    client.patch(f"/api/v1/findings/{finding['id']}", json={"status": "dismissed"})
    assert report(client, ds["id"])["clean_examples"] == 4


def test_counts_made_inside_a_transaction_that_changed_the_dataset_are_not_cached(make_dataset, import_jsonl,
                                                                                   database):
    from app.models import Dataset, Example
    from app.services.examples import delete_example

    ds = make_dataset("uncommitted")
    import_jsonl(ds["id"], "\n".join(json.dumps({"prompt": f"p{i}", "completion": "x"}) for i in range(3)))
    with Session(database) as session:
        dataset = session.get(Dataset, ds["id"])
        example_id = session.exec(select(Example.id).where(Example.dataset_id == ds["id"])).first()
        delete_example(session, example_id)
        assert dataset_stats.example_stats(session, dataset).total() == 2
        session.rollback()
    with Session(database) as session:
        assert dataset_stats.example_stats(session, session.get(Dataset, ds["id"])).total() == 3


def test_after_edits_verdicts_and_deletions_the_counts_add_the_logged_deltas_instead_of_counting(
        client, make_dataset, import_jsonl, database, monkeypatch):
    from app.models import Dataset
    from app.services.findings import FindingDraft, replace_open_findings

    ds = make_dataset("deltas", task_type="classification")
    import_jsonl(ds["id"], "\n".join(json.dumps({"prompt": f"p{i}", "completion": "a" if i < 4 else "b"})
                                     for i in range(8)))
    items = client.get(f"/api/v1/datasets/{ds['id']}/examples", params={"limit": 10}).json()["items"]
    with Session(database) as session:
        replace_open_findings(session, ds["id"], [FindingDraft(items[0]["id"], "outlier", 0.9),
                                                  FindingDraft(items[0]["id"], "near_duplicate", 0.9),
                                                  FindingDraft(items[1]["id"], "outlier", 0.8)], {}, None)
        session.commit()
    report(client, ds["id"])  # counted once here

    counted = []
    real_count = dataset_stats._count
    monkeypatch.setattr(dataset_stats, "_count", lambda *args: counted.append(1) or real_count(*args))
    findings = client.get(f"/api/v1/datasets/{ds['id']}/findings").json()["items"]
    first_of_item0 = next(f for f in findings if f["example_id"] == items[0]["id"])
    client.patch(f"/api/v1/findings/{first_of_item0['id']}", json={"status": "dismissed"})  # still unclean
    client.patch(f"/api/v1/examples/{items[2]['id']}", json={"version": 1, "output": "b"})  # a -> b
    client.patch(f"/api/v1/examples/{items[3]['id']}", json={"version": 1, "status": "rejected"})
    client.delete(f"/api/v1/examples/{items[1]['id']}")  # an unclean one
    client.post(f"/api/v1/datasets/{ds['id']}/examples", json={"input": "new", "output": "c"})
    by_deltas = report(client, ds["id"])
    assert counted == []  # no pass over the examples: the deltas were added
    dataset_stats.forget_all()
    assert by_deltas == report(client, ds["id"]) and counted == [1]  # the same as counting afresh
    assert by_deltas["labels"] == {"a": 1, "b": 5, "c": 1} and by_deltas["examples"] == 8

    with Session(database) as session:  # an analysis logs no delta: the next view counts again
        replace_open_findings(session, ds["id"], [], {}, None)
        session.commit()
    assert report(client, ds["id"])["clean_examples"] == 7 and counted == [1, 1]
    with Session(database) as session:
        assert session.get(Dataset, ds["id"]).content_version >= 7


def test_a_re_run_keeps_the_open_findings_it_finds_again_and_replaces_the_others(make_dataset, import_jsonl,
                                                                                 database):
    from app.models import Finding
    from app.services.findings import FindingDraft, replace_open_findings

    ds = make_dataset("findings-diff")
    import_jsonl(ds["id"], "\n".join(json.dumps({"prompt": f"p{i}", "completion": "x"}) for i in range(3)))
    with Session(database) as session:
        from app.models import Example
        ids = session.exec(select(Example.id).where(Example.dataset_id == ds["id"]).order_by(Example.id)).all()
        first = [FindingDraft(ids[0], "outlier", 0.9, {"message": "far", "top": [("a", 0.5)]}),
                 FindingDraft(ids[1], "outlier", 0.8, {"message": "far"})]
        assert replace_open_findings(session, ds["id"], first, {}, None)["open"] == 2
        session.commit()
        before = {f.example_id: f.id for f in session.exec(select(Finding).where(Finding.dataset_id == ds["id"]))}
        again = [FindingDraft(ids[0], "outlier", 0.9, {"message": "far", "top": [("a", 0.5)]}),  # the same
                 FindingDraft(ids[1], "outlier", 0.7, {"message": "far"}),                     # a new score
                 FindingDraft(ids[2], "outlier", 0.6, {"message": "far"})]                     # a new one
        saved = replace_open_findings(session, ds["id"], again, {}, None)
        session.commit()
        after = {f.example_id: (f.id, f.score)
                 for f in session.exec(select(Finding).where(Finding.dataset_id == ds["id"]))}
    assert saved["open"] == 3 and saved["unchanged"] == 1
    assert after[ids[0]] == (before[ids[0]], 0.9)  # kept as it was (its job and time: the first to find it)
    assert after[ids[1]][1] == 0.7  # replaced (SQLite may give the new row the deleted one's id)
    assert after[ids[2]][1] == 0.6 and len(after) == 3
