"""Analysis job lifecycle, findings and report through the API (runs on SQLite and Postgres)."""

from app.checks import registry
from tests.analysis.helpers import analyse, jsonl, wait_for_job

PAIRS = [
    {"id": "a1", "prompt": "How do I install nginx on Debian?", "completion": "net"},
    {"id": "a2", "prompt": "how do I install NGINX on debian?", "completion": "web"},   # exact copy, other label
    {"id": "a3", "prompt": "   ", "completion": "net"},                                  # empty input
    *({"id": f"x{i}", "prompt": f"Explain topic {i} about compilers and linkers", "completion": "devel"}
      for i in range(12)),
]


def make_analysed(client, make_dataset, import_jsonl, **fields) -> tuple[dict, dict]:
    ds = make_dataset(task_type="classification", **fields)
    assert import_jsonl(ds["id"], jsonl(PAIRS)).status_code == 200
    return ds, analyse(client, ds["id"])


def findings(client, dataset_id, **params) -> dict:
    response = client.get(f"/api/v1/datasets/{dataset_id}/findings", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()


def external_to_id(client, dataset_id) -> dict:
    page = client.get(f"/api/v1/datasets/{dataset_id}/examples", params={"limit": 100}).json()
    return {e["external_id"]: e for e in page["items"]}


def test_analyze_job_reports_progress_and_produces_findings(client, make_dataset, import_jsonl):
    ds, job = make_analysed(client, make_dataset, import_jsonl)
    steps = len(registry.enabled_checks(registry.effective_settings({}), "classification"))  # one per check
    assert job["kind"] == "analyze" and job["done"] == job["total"] == len(PAIRS) + steps
    assert job["result"]["embedded"] == len(PAIRS) and job["finished_at"] and job["started_at"]
    ids = external_to_id(client, ds["id"])
    page = findings(client, ds["id"])
    assert page["total"] == len(page["items"]) > 0
    for item in page["items"]:
        assert {"id", "example_id", "check", "score", "details", "status"} <= set(item)
        assert 0 <= item["score"] <= 1 and item["details"]["message"] and item["status"] == "open"
    exact = findings(client, ds["id"], check="exact_duplicate")["items"]
    assert [(f["example_id"], f["details"]["duplicate_of"]) for f in exact] == [(ids["a2"]["id"], ids["a1"]["id"])]
    conflicts = findings(client, ds["id"], check="conflicting_output")["items"]
    assert {f["example_id"] for f in conflicts} == {ids["a1"]["id"], ids["a2"]["id"]}
    formats = findings(client, ds["id"], check="format")["items"]
    assert [f["example_id"] for f in formats] == [ids["a3"]["id"]]
    first_two = findings(client, ds["id"], limit=2, offset=0)
    next_two = findings(client, ds["id"], limit=2, offset=2)
    assert first_two["total"] == page["total"] and len(first_two["items"]) == 2
    assert {f["id"] for f in first_two["items"]}.isdisjoint({f["id"] for f in next_two["items"]})


def test_dismissed_findings_stay_dismissed_until_the_example_changes(client, make_dataset, import_jsonl):
    ds, _ = make_analysed(client, make_dataset, import_jsonl)
    [exact] = findings(client, ds["id"], check="exact_duplicate")["items"]
    [fmt] = findings(client, ds["id"], check="format")["items"]
    assert client.patch(f"/api/v1/findings/{exact['id']}", json={"status": "dismissed"}).json()["status"] == "dismissed"
    assert client.patch(f"/api/v1/findings/{fmt['id']}", json={"status": "dismissed"}).status_code == 200

    second = analyse(client, ds["id"])
    assert second["result"]["embedded"] == 0 and second["result"]["kept_dismissed"] >= 2
    assert findings(client, ds["id"], check="exact_duplicate", status="open")["total"] == 0
    assert findings(client, ds["id"], check="exact_duplicate", status="dismissed")["total"] == 1

    example = client.get(f"/api/v1/examples/{fmt['example_id']}").json()
    edited = client.patch(f"/api/v1/examples/{example['id']}", json={"version": example["version"], "input": "\t"})
    assert edited.status_code == 200
    third = analyse(client, ds["id"])
    assert third["result"]["embedded"] == 1
    reopened = findings(client, ds["id"], check="format", status="open")["items"]
    assert [f["example_id"] for f in reopened] == [fmt["example_id"]]
    assert reopened[0]["example_version"] == edited.json()["version"]


def test_a_second_analysis_while_one_is_active_is_409(client, make_dataset, import_jsonl):
    from app.db import session_scope
    from app.services import jobs

    ds = make_dataset()
    with session_scope() as session:  # an analysis someone else is running right now
        running = jobs.create_job(session, "analyze", ds["id"], run_by="elsewhere:1:x")
    response = client.post(f"/api/v1/datasets/{ds['id']}/analyze")
    assert response.status_code == 409 and response.json()["job_id"] == running.id
    assert "already being analysed" in response.json()["detail"]


def test_errors_are_4xx_with_a_reason(client, make_dataset):
    assert client.post("/api/v1/datasets/999/analyze").status_code == 404
    assert client.get("/api/v1/jobs/999").status_code == 404
    assert client.get("/api/v1/datasets/999/findings").status_code == 404
    assert client.patch("/api/v1/findings/999", json={"status": "dismissed"}).status_code == 404
    assert client.patch("/api/v1/findings/1", json={"status": "gone"}).status_code == 422
    bad = client.post("/api/v1/datasets", json={"name": "typo", "settings": {"near_duplicate": {"treshold": 0.5}}})
    assert bad.status_code == 422 and "treshold" in bad.json()["detail"]
    ds = make_dataset()
    assert client.get(f"/api/v1/datasets/{ds['id']}/findings", params={"status": "nope"}).status_code == 422


def test_report_counts_and_readiness(client, make_dataset, import_jsonl):
    ds = make_dataset(task_type="classification")
    before = client.get(f"/api/v1/datasets/{ds['id']}/report").json()
    assert before["readiness"]["ready"] is False and "no finished analysis" in before["readiness"]["reasons"][0]
    import_jsonl(ds["id"], jsonl(PAIRS))
    analyse(client, ds["id"])
    report = client.get(f"/api/v1/datasets/{ds['id']}/report").json()
    assert report["examples"] == len(PAIRS)
    assert report["labels"] == {"net": 2, "web": 1, "devel": 12}
    assert report["imbalance_ratio"] == 12.0
    assert report["findings_by_check"]["exact_duplicate"] == {"open": 1}
    assert report["findings_by_status"]["open"] == sum(sum(c.values()) for c in report["findings_by_check"].values())
    # a1, a2 (conflict) and a3 (format) are not clean; class_imbalance flags alone do not count.
    assert report["clean_examples"] <= len(PAIRS) - 3
    reasons = " | ".join(report["readiness"]["reasons"])
    assert report["readiness"]["ready"] is False
    assert "at least 500" in reasons and "exact duplicate" in reasons and "conflicting output" in reasons
    assert "net" in report["small_classes"] and "web" in report["small_classes"]


def test_a_failing_job_is_recorded_as_failed(client, make_dataset):
    from app.db import session_scope
    from app.jobs.registry import JOB_FUNCTIONS, register
    from app.jobs.runner import wake_runners
    from app.services import jobs

    def explode(job_id, report):
        report(1, 2, "half way")
        raise ValueError("the disk is on fire")

    register("test-explode")(explode)
    try:
        with session_scope() as session:
            job = jobs.create_job(session, "test-explode", None)
        wake_runners()
        finished = wait_for_job(client, job.id)
    finally:
        JOB_FUNCTIONS.pop("test-explode")
    assert finished["status"] == "failed" and "the disk is on fire" in finished["message"]
    assert finished["done"] == 1 and finished["total"] == 2 and "ValueError" in finished["error"]


BAD_SETTINGS = [
    ({"outlier": {"k": "ten"}}, "settings.outlier.k", "must be a whole number from 1 to 200"),
    ({"format": {"enabled": "no"}}, "settings.format.enabled", "true or false"),
    ({"label_issue": {"features": "tfidf"}}, "settings.label_issue.features", "must be one of"),
    ({"near_duplicate": 0.9}, "settings.near_duplicate", "must be an object"),
    # Each of these was once accepted, and the job failed afterwards (one tried to allocate 447 GiB).
    ({"near_duplicate": {"k": 1e9}}, "settings.near_duplicate.k", "from 1 to 200"),
    ({"near_duplicate": {"k": 1_000_000_000}}, "settings.near_duplicate.k", "from 1 to 200"),
    ({"label_issue": {"folds": 1}}, "settings.label_issue.folds", "from 2"),
    ({"label_issue": {"folds": 0}}, "settings.label_issue.folds", "from 2"),
    ({"label_issue": {"C": 0}}, "settings.label_issue.C", "above 0"),
    ({"class_imbalance": {"share_factor": 0}}, "settings.class_imbalance.share_factor", "above 0"),
    ({"near_duplicate": {"threshold": 1.5}}, "settings.near_duplicate.threshold", "at most 1"),
]


def test_settings_are_validated_on_create_and_update(client, make_dataset):
    ds = make_dataset()
    for settings, field, words in BAD_SETTINGS:
        created = client.post("/api/v1/datasets", json={"name": "bad", "settings": settings})
        assert created.status_code == 422 and words in created.json()["detail"], (settings, created.text)
        assert created.json()["field"] == field
        patched = client.patch(f"/api/v1/datasets/{ds['id']}", json={"settings": settings})
        assert patched.status_code == 422 and patched.json()["field"] == field, (settings, patched.text)
    assert client.get(f"/api/v1/datasets/{ds['id']}").json()["settings"] == {}
    # Infinity is no JSON, but Python's encoder writes it and some clients do too.
    infinite = client.post("/api/v1/datasets", content=b'{"name": "inf", "settings": {"format": {"max_tokens": '
                                                        b'Infinity}}}', headers={"Content-Type": "application/json"})
    assert infinite.status_code == 422, infinite.text
    good = client.patch(f"/api/v1/datasets/{ds['id']}", json={"settings": {"label_issue": {"folds": 3, "C": 0.5}}})
    assert good.status_code == 200 and good.json()["settings"] == {"label_issue": {"folds": 3, "C": 0.5}}


def test_settings_stored_before_validation_are_refused_when_the_analysis_starts(client, make_dataset):
    from app.db import session_scope
    from app.models import Dataset

    ds = make_dataset()
    with session_scope() as session:
        session.get(Dataset, ds["id"]).settings = {"outlier": {"k": "ten"}}
    response = client.post(f"/api/v1/datasets/{ds['id']}/analyze")
    assert response.status_code == 422 and "settings.outlier.k" in response.json()["detail"], response.text


def test_disabled_checks_do_not_run_and_nothing_is_embedded_without_need(client, make_dataset, import_jsonl):
    off = {name: {"enabled": False} for name in ("near_duplicate", "conflicting_output", "label_issue", "outlier")}
    ds = make_dataset(task_type="classification", settings=off)
    import_jsonl(ds["id"], jsonl(PAIRS))
    job = analyse(client, ds["id"])
    assert job["result"]["embedded"] == 0
    assert set(job["result"]["findings"]) <= {"format", "exact_duplicate", "class_imbalance"}
    assert findings(client, ds["id"], check="exact_duplicate")["total"] == 1
