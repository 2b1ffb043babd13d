"""Jobs: the rows that say what runs, how far it got, and how it ended."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, func, select, update
from sqlmodel import Session

from app.errors import Conflict
from app.models import Job, JobStatus, utcnow
from app.models.job import ACTIVE_JOB_STATUSES
from app.services.common import get_or_not_found


class JobCancelled(Exception):
    """Raised inside a running job (at a progress report) once its cancellation was asked for."""


# Told after the commit that queued a job; the job runners (app/jobs/runner.py) listen, so that a queued job
# starts at once rather than at their next poll. Services know no runner.
_queued_listeners: list[Callable[[], None]] = []


def on_job_queued(listener: Callable[[], None]) -> None:
    if listener not in _queued_listeners:
        _queued_listeners.append(listener)


def announce_after_commit(session: Session) -> None:
    """Tell the listeners once this session's transaction, which queued a job, has committed."""
    event.listen(session, "after_commit", lambda _session: [listener() for listener in _queued_listeners], once=True)


def get_job(session: Session, job_id: int) -> Job:
    return get_or_not_found(session, Job, job_id, "job")


def latest_jobs(session: Session, dataset_ids: list[int], kind: str, status: str | None = None) -> dict[int, Job]:
    """Per dataset, its job of `kind` (with `status`, if given) created last. A dataset runs one job of a kind
    at a time, so the one created last is also the one that finished last."""
    if not dataset_ids:
        return {}
    latest = select(func.max(Job.id)).where(Job.dataset_id.in_(dataset_ids), Job.kind == kind)
    if status is not None:
        latest = latest.where(Job.status == status)
    return {job.dataset_id: job for job in session.scalars(
        select(Job).where(Job.id.in_(latest.group_by(Job.dataset_id))))}


def latest_job(session: Session, dataset_id: int, kind: str, status: str | None = None) -> Job | None:
    return latest_jobs(session, [dataset_id], kind, status).get(dataset_id)


def active_job(session: Session, dataset_id: int, kind: str) -> Job | None:
    return session.scalars(
        select(Job).where(Job.dataset_id == dataset_id, Job.kind == kind, Job.status.in_(ACTIVE_JOB_STATUSES))
        .order_by(Job.id).limit(1)
    ).first()


def create_job(session: Session, kind: str, dataset_id: int | None, params: dict[str, Any] | None = None,
               run_by: str | None = None) -> Job:
    """A queued job, or with `run_by` one already running by that owner (so no runner claims it)."""
    job = Job(kind=kind, dataset_id=dataset_id, params=params or {}, status=JobStatus.queued, message="queued")
    if run_by:
        now = utcnow()
        job.status, job.owner, job.started_at, job.heartbeat_at, job.message = (
            JobStatus.running, run_by, now, now, "started")
    session.add(job)
    session.flush()
    return job


def set_progress(session: Session, job_id: int, *, done: int | None = None, total: int | None = None,
                 message: str | None = None) -> None:
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if done is not None:
        values["done"] = done
    if total is not None:
        values["total"] = total
    if message is not None:
        values["message"] = message[:2000]
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def cancel_requested(session: Session, job_id: int) -> bool:
    return session.scalar(select(Job.cancel_requested_at).where(Job.id == job_id)) is not None


def request_cancel(session: Session, job_id: int) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop (it does at its next progress
    report, between stages, and leaves nothing half-applied). 409 for a job that has already ended."""
    job = get_job(session, job_id)
    now = utcnow()
    dequeued = session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.queued)
        .values(status=JobStatus.cancelled, cancel_requested_at=now, finished_at=now, message="cancelled before it started")
    ).rowcount
    if not dequeued:
        stopping = session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.running, Job.cancel_requested_at.is_(None))
            .values(cancel_requested_at=now, message="cancelling…")
        ).rowcount
        session.refresh(job)
        if not stopping and job.status != JobStatus.running:
            raise Conflict(f"job {job_id} has already ended ({job.status})", job_id=job_id, status=job.status)
    session.refresh(job)
    return job


def claim_next(session: Session, kinds: list[str], owner: str, job_id: int | None = None) -> int | None:
    """Mark the oldest queued job of these kinds as running by `owner`; None if there is none.

    The UPDATE only succeeds while the row is still queued, so two runners never claim one job.
    """
    query = select(Job.id).where(Job.status == JobStatus.queued, Job.kind.in_(kinds))
    if job_id is not None:
        query = query.where(Job.id == job_id)
    candidate = session.scalars(query.order_by(Job.id).limit(1)).first()
    if candidate is None:
        return None
    now = utcnow()
    claimed = session.execute(
        update(Job).where(Job.id == candidate, Job.status == JobStatus.queued)
        .values(status=JobStatus.running, owner=owner, started_at=now, heartbeat_at=now, message="started")
    ).rowcount
    return candidate if claimed == 1 else None


def finish(session: Session, job_id: int, status: str, *, message: str, result: dict | None = None,
           error: str | None = None) -> None:
    values: dict[str, Any] = {"status": status, "message": message[:2000], "finished_at": utcnow(),
                              "heartbeat_at": utcnow(), "error": error}
    if result is not None:
        values["result"] = result
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def heartbeat(session: Session, owner: str) -> None:
    session.execute(update(Job).where(Job.owner == owner, Job.status.in_(ACTIVE_JOB_STATUSES))
                    .values(heartbeat_at=utcnow()))


def fail_orphans(session: Session, is_orphan) -> int:
    """Mark running jobs whose owner is gone as failed; `is_orphan(job) -> bool` decides."""
    count = 0
    for job in session.scalars(select(Job).where(Job.status == JobStatus.running)):
        if is_orphan(job):
            job.status = JobStatus.failed
            job.message = "server stopped while running; start the job again"
            job.error = "server stopped while running"
            job.finished_at = utcnow()
            session.add(job)
            count += 1
    session.flush()
    return count
