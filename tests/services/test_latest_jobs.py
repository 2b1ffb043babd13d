"""The one "latest analysis" query that the report, the dataset list and the export's manifest use."""

from app.models import Dataset, JobKind, JobStatus
from app.services import jobs


def test_latest_job_per_dataset_optionally_of_a_status(session):
    first, second = Dataset(name="first"), Dataset(name="second")
    session.add_all([first, second])
    session.flush()
    done = jobs.create_job(session, JobKind.analyze, first.id)
    jobs.finish(session, done.id, JobStatus.succeeded, message="finished", result={})
    failed = jobs.create_job(session, JobKind.analyze, first.id)
    jobs.finish(session, failed.id, JobStatus.failed, message="failed", error="x")
    other = jobs.create_job(session, JobKind.analyze, second.id)
    assert jobs.latest_job(session, first.id, JobKind.analyze).id == failed.id
    assert jobs.latest_job(session, first.id, JobKind.analyze, status=JobStatus.succeeded).id == done.id
    assert {d: j.id for d, j in jobs.latest_jobs(session, [first.id, second.id], JobKind.analyze).items()} == {
        first.id: failed.id, second.id: other.id}
    assert jobs.latest_job(session, second.id, JobKind.analyze, status=JobStatus.succeeded) is None
    assert jobs.latest_jobs(session, [], JobKind.analyze) == {}
