"""A job left running by a dead process is marked failed; queued ones are picked up again."""

import socket
from datetime import timedelta

from app.db import session_scope
from app.jobs.runner import JobRunner
from app.models import Job, utcnow
from app.services import jobs


def make_running(owner: str, heartbeat_age: float = 0.0) -> int:
    with session_scope() as session:
        job = jobs.create_job(session, "analyze", None, run_by=owner)
        job.heartbeat_at = utcnow() - timedelta(seconds=heartbeat_age)
        session.add(job)
        session.flush()
        return job.id


def status_of(job_id: int) -> Job:
    with session_scope() as session:
        return jobs.get_job(session, job_id)


def test_jobs_of_dead_or_silent_owners_fail_and_live_ones_do_not(database):
    host = socket.gethostname()
    dead_pid = make_running(f"{host}:999999999:abc")
    silent = make_running("other-host:123:abc", heartbeat_age=3600)
    alive_elsewhere = make_running("other-host:123:def", heartbeat_age=5)
    runner = JobRunner(stale_after=120)
    assert runner.recover() == 2
    for job_id in (dead_pid, silent):
        job = status_of(job_id)
        assert job.status == "failed" and "server stopped while running" in job.message and job.finished_at
    assert status_of(alive_elsewhere).status == "running"


def test_a_restarted_server_fails_the_job_it_was_running(client, make_dataset):
    # The earlier runner of this process stopped (a restart): its running job cannot finish.
    ds = make_dataset()
    job_id = make_running(JobRunner().owner)
    restarted = JobRunner()
    restarted.recover()
    assert status_of(job_id).status == "failed"
    assert client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "failed"
    # ...and the dataset can be analysed again.
    assert client.post(f"/api/v1/datasets/{ds['id']}/analyze").status_code == 202
