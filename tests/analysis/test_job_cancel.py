"""Issue #13.2: a job can be cancelled (API, progress-bar button, Ctrl-C in the CLI); nothing is half-applied."""

import threading
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.db import session_scope
from app.jobs.registry import JOB_FUNCTIONS, register
from app.jobs.runner import JobRunner, wake_runners
from app.services import jobs
from tests.analysis.helpers import wait_for_job


@pytest.fixture
def slow_kind():
    """A job kind that reports progress until it is cancelled (at most 30 s)."""
    started = threading.Event()

    def slow(job_id, report):
        started.set()
        for step in range(300):
            report(step, 300, f"step {step}" if step % 10 == 0 else None)
            time.sleep(0.1)
        return {"finished": True}

    register("test-slow")(slow)
    yield started
    JOB_FUNCTIONS.pop("test-slow")


def test_cancel_a_running_job_through_the_api(client, slow_kind):
    with session_scope() as session:
        job = jobs.create_job(session, "test-slow", None)
    wake_runners()
    assert slow_kind.wait(10)
    response = client.post(f"/api/v1/jobs/{job.id}/cancel")
    assert response.status_code == 202 and response.json()["cancel_requested_at"]
    finished = wait_for_job(client, job.id, timeout=10)
    assert finished["status"] == "cancelled" and finished["result"] is None
    assert client.post(f"/api/v1/jobs/{job.id}/cancel").status_code == 409


def test_a_queued_job_is_cancelled_at_once(client, reviewer_client):
    with session_scope() as session:
        job = jobs.create_job(session, "test-unclaimed", None)
    assert reviewer_client.post(f"/api/v1/jobs/{job.id}/cancel").status_code == 403
    response = client.post(f"/api/v1/jobs/{job.id}/cancel")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"


def test_a_cancelled_analysis_leaves_the_previous_findings(client, make_dataset, monkeypatch):
    from app.services import analysis

    dataset = make_dataset("cancel-me")
    for i in range(4):
        client.post(f"/api/v1/datasets/{dataset['id']}/examples", json={"input": "same question", "output": f"a{i}"})
    first = wait_for_job(client, client.post(f"/api/v1/datasets/{dataset['id']}/analyze").json()["id"])
    assert first["status"] == "succeeded"
    before = client.get(f"/api/v1/datasets/{dataset['id']}/findings", params={"limit": 1000}).json()
    assert before["total"] > 0

    checks_done, go_on = threading.Event(), threading.Event()
    real_run_checks = analysis.run_checks

    def run_checks_then_wait(*args, **kwargs):
        result = real_run_checks(*args, **kwargs)
        checks_done.set()
        go_on.wait(10)  # the checks have run; the findings are not saved yet
        return result

    monkeypatch.setattr(analysis, "run_checks", run_checks_then_wait)
    second = client.post(f"/api/v1/datasets/{dataset['id']}/analyze").json()
    assert checks_done.wait(30)
    assert client.post(f"/api/v1/jobs/{second['id']}/cancel").status_code == 202
    go_on.set()
    assert wait_for_job(client, second["id"])["status"] == "cancelled"
    after = client.get(f"/api/v1/datasets/{dataset['id']}/findings", params={"limit": 1000}).json()
    assert [f["id"] for f in after["items"]] == [f["id"] for f in before["items"]]


def test_the_progress_bar_has_a_cancel_button(app, make_user, slow_kind):
    admin = make_user("web-admin", "admin")
    with session_scope() as session:
        job = jobs.create_job(session, "test-slow", None)
    with TestClient(app, follow_redirects=False) as browser:
        browser.cookies.set("winnow_session", admin["session_cookie"])
        wake_runners()
        assert slow_kind.wait(10)
        page = browser.get(f"/jobs/{job.id}/progress")
        assert f'id="cancel-job-{job.id}"' in page.text
        token = browser.cookies.get("winnow_csrf")
        cancelled = browser.post(f"/jobs/{job.id}/cancel", data={"csrf_token": token}, headers={"HX-Request": "true"})
        assert cancelled.status_code == 202 and "cancel-job" not in cancelled.text
        deadline = time.monotonic() + 10
        while "cancelled" not in browser.get(f"/jobs/{job.id}/progress").text and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "job-cancelled" in browser.get(f"/jobs/{job.id}/progress").text


def test_ctrl_c_in_the_cli_cancels_the_job(make_dataset, client, monkeypatch):
    from app.cli import cli
    from app.models import Job

    dataset = make_dataset("cli-cancel")
    client.post(f"/api/v1/datasets/{dataset['id']}/examples", json={"input": "q", "output": "a"})
    calls = []

    def interrupted(self, job_id, report=None):
        calls.append(job_id)

        def ctrl_c(*_args):  # the interrupt arrives while the job reports progress
            raise KeyboardInterrupt

        from app.jobs.runner import run_claimed_job

        run_claimed_job(job_id, ctrl_c)

    monkeypatch.setattr(JobRunner, "run_in_foreground", interrupted)
    result = CliRunner().invoke(cli, ["analyze", "--dataset", "cli-cancel"])
    assert result.exit_code == 130, result.output
    assert "cancelled" in result.output
    with session_scope() as session:
        job = session.get(Job, calls[0])
        assert job.status == "cancelled" and "Ctrl-C" in job.message
    assert client.get(f"/api/v1/datasets/{dataset['id']}/findings").json()["total"] == 0
