import json
import time


def wait_for_job(client, job_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s: {job}")


def jsonl(records: list[dict]) -> str:
    return "\n".join(json.dumps(r) for r in records)


def analyse(client, dataset_id: int, timeout: float = 120.0) -> dict:
    started = client.post(f"/api/v1/datasets/{dataset_id}/analyze")
    assert started.status_code == 202, started.text
    job = wait_for_job(client, started.json()["id"], timeout)
    assert job["status"] == "succeeded", job
    return job
