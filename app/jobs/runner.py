"""The in-process job runner.

Jobs live in the `jobs` table, so the queue survives restarts and several app processes can share
one Postgres: a runner polls for queued jobs of the kinds it knows and claims one with an UPDATE
that only succeeds while the row is still queued. Work runs on a ThreadPoolExecutor (one worker
by default: the work is CPU-bound and the machine small). While alive, a runner stamps
`heartbeat_at` on its jobs; a running job whose owner process is gone (same host, dead pid) or
whose heartbeat is older than `stale_after` seconds is marked failed ("server stopped while
running"), at start-up and then periodically. Queued jobs are simply picked up again.
"""

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from app.db import session_scope
from app.jobs import analysis  # noqa: F401 (registers its job kind)
from app.jobs.memory import release_freed_memory
from app.jobs.registry import JOB_FUNCTIONS
from app.models import JobStatus, utcnow
from app.progress import Progress
from app.services import jobs as job_service

log = logging.getLogger("winnow.jobs")
_runners: "weakref.WeakSet[JobRunner]" = weakref.WeakSet()


def wake_runners() -> None:
    """Tell the runners of this process that a job was queued (they also poll)."""
    for runner in list(_runners):
        runner.wake()


job_service.on_job_queued(wake_runners)


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProgressReporter:
    """`report(done, total, message)` for a job function; writes at most every `interval` seconds."""

    def __init__(self, job_id: int, interval: float = 0.5) -> None:
        self.job_id = job_id
        self.interval = interval
        self._last = 0.0
        self._pending: dict = {}

    def __call__(self, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        """Raises JobCancelled once the job's cancellation was asked for (checked at each write)."""
        for key, value in (("done", done), ("total", total), ("message", message)):
            if value is not None:
                self._pending[key] = value
        now = time.monotonic()
        final = done is not None and total is not None and done >= total
        if message is not None or final or now - self._last >= self.interval:
            if self.flush():
                raise job_service.JobCancelled()

    def flush(self) -> bool:
        """Write the pending progress; whether the job's cancellation was asked for."""
        with session_scope() as session:
            if self._pending:
                job_service.set_progress(session, self.job_id, **self._pending)
            cancel = job_service.cancel_requested(session, self.job_id)
        self._pending = {}
        self._last = time.monotonic()
        return cancel


class JobRunner:
    def __init__(self, workers: int = 1, poll_interval: float = 1.0, heartbeat_interval: float = 10.0,
                 stale_after: float = 120.0) -> None:
        self.owner = process_owner()
        self.workers = workers
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self._executor: ThreadPoolExecutor | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._free = threading.Semaphore(workers)
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.recover()
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="winnow-job")
        self._threads = [threading.Thread(target=self._dispatch_loop, name="winnow-job-dispatch", daemon=True),
                         threading.Thread(target=self._heartbeat_loop, name="winnow-job-heartbeat", daemon=True)]
        for thread in self._threads:
            thread.start()
        _runners.add(self)

    def stop(self, wait: bool = True) -> None:
        _runners.discard(self)
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._executor:
            self._executor.shutdown(wait=wait, cancel_futures=True)

    def wake(self) -> None:
        self._wake.set()

    # -- recovery --------------------------------------------------------------------------
    def is_orphan(self, job) -> bool:
        if job.owner == self.owner:
            return False
        host, _, rest = (job.owner or "").partition(":")
        pid = rest.partition(":")[0]
        if host == socket.gethostname() and pid.isdigit():
            if int(pid) != os.getpid():
                if not _pid_alive(int(pid)):
                    return True
            elif job.owner not in {r.owner for r in list(_runners)}:
                return True  # an earlier runner of this very process, since stopped
        beat = job.heartbeat_at or job.started_at or job.created_at
        return beat is None or utcnow() - beat > timedelta(seconds=self.stale_after)

    def recover(self) -> int:
        with session_scope() as session:
            count = job_service.fail_orphans(session, self.is_orphan)
        if count:
            log.warning("marked %d job(s) left running by a stopped server as failed", count)
        return count

    # -- loops -----------------------------------------------------------------------------
    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            if self._free.acquire(timeout=self.poll_interval):
                job_id = self._claim()
                if job_id is None:
                    self._free.release()
                    self._wake.wait(self.poll_interval)
                    self._wake.clear()
                    continue
                self._executor.submit(self._run, job_id)

    def run_in_foreground(self, job_id: int, report: Progress | None = None) -> None:
        """Run one job created as running by `self.owner` in this thread, heartbeating meanwhile (the CLI)."""
        _runners.add(self)
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="winnow-job-heartbeat", daemon=True)
        heartbeat.start()
        try:
            run_claimed_job(job_id, report)
        finally:
            self._stop.set()
            heartbeat.join(timeout=5)
            _runners.discard(self)

    def _claim(self) -> int | None:
        try:
            with session_scope() as session:
                return job_service.claim_next(session, sorted(JOB_FUNCTIONS), self.owner)
        except Exception:  # the database may be briefly unavailable: try again on the next tick
            log.exception("could not claim a job")
            return None

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            try:
                with session_scope() as session:
                    job_service.heartbeat(session, self.owner)
                self.recover()
            except Exception:
                log.exception("job heartbeat failed")

    def _run(self, job_id: int) -> None:
        try:
            run_claimed_job(job_id)
        finally:
            self._free.release()
            self._wake.set()


def run_claimed_job(job_id: int, report: Progress | None = None) -> None:
    """Run a job already marked running; record success or failure. Never raises."""
    reporter = ProgressReporter(job_id)

    def report_both(done=None, total=None, message=None):
        reporter(done, total, message)
        if report:
            report(done, total, message)

    try:
        with session_scope() as session:
            kind = job_service.get_job(session, job_id).kind
        result = JOB_FUNCTIONS[kind](job_id, report_both)
        reporter.flush()
        with session_scope() as session:
            job_service.finish(session, job_id, JobStatus.succeeded, message="finished", result=result or {})
    except (job_service.JobCancelled, KeyboardInterrupt) as exc:
        # A job writes its results in one transaction at the end: stopped before it, nothing is applied.
        with session_scope() as session:
            job_service.finish(session, job_id, JobStatus.cancelled,
                               message=f"stopped {'by Ctrl-C' if isinstance(exc, KeyboardInterrupt) else 'on request'}; "
                                       "nothing of it was applied")
        if isinstance(exc, KeyboardInterrupt):
            raise
    except Exception as exc:
        # The traceback (server paths and all) goes to the server log; users get a sentence.
        log.exception("job %s failed", job_id)
        sentence = user_message(exc)
        with session_scope() as session:
            job_service.finish(session, job_id, JobStatus.failed, message=f"failed: {sentence}"[:500],
                               error=sentence)
    finally:
        release_freed_memory()


def user_message(exc: Exception) -> str:
    """What went wrong, as a sentence for users: a domain error's own message, else the kind of error."""
    from app.errors import DomainError

    if isinstance(exc, DomainError):
        return exc.message[:1000]
    if isinstance(exc, OSError):  # its text names server paths
        return f"the job stopped on a file or system error ({type(exc).__name__}); the server log has the details"
    first_line = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"the job stopped on an error ({type(exc).__name__}: {first_line}); the server log has the details"
