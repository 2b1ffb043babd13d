"""Issue #13.8: a failed job tells users a sentence; the traceback (with server paths) stays in the server log."""

import logging

from app.db import session_scope
from app.jobs.registry import JOB_FUNCTIONS, register
from app.jobs.runner import run_claimed_job
from app.models import Job
from app.services import jobs


def _run(kind, fn, caplog) -> Job:
    register(kind)(fn)
    try:
        with session_scope() as session:
            job = jobs.create_job(session, kind, None, run_by="test-owner")
        with caplog.at_level(logging.ERROR, logger="winnow.jobs"):
            run_claimed_job(job.id)
    finally:
        JOB_FUNCTIONS.pop(kind)
    with session_scope() as session:
        return session.get(Job, job.id)


def test_an_unexpected_error_is_a_sentence_for_users_and_a_traceback_in_the_log(caplog):
    def broken(job_id, report):
        open("/nonexistent/winnow/secret/path.bin").read()

    job = _run("test-oserror", broken, caplog)
    assert job.status == "failed"
    for text in (job.error, job.message):
        assert "Traceback" not in text and "/nonexistent" not in text and 'File "' not in text
        assert "server log" in text
    assert "Traceback" in caplog.text and "/nonexistent/winnow/secret/path.bin" in caplog.text


def test_a_domain_error_keeps_its_own_message(caplog):
    from app.errors import InvalidInput

    def refused(job_id, report):
        raise InvalidInput("the output schema uses a lookahead; save it again without one")

    job = _run("test-domain", refused, caplog)
    assert job.error == "the output schema uses a lookahead; save it again without one"
