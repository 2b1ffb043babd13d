"""Job kinds -> job functions. A job function takes (job_id, report) and returns the job result.

`report(done, total, message)` writes progress in a short transaction of its own. A job module
registers its kind with `@register("<kind>")`; app/jobs/runner.py imports the job modules.
"""

from collections.abc import Callable

from app.progress import Progress

JobFunction = Callable[[int, Progress], dict | None]
JOB_FUNCTIONS: dict[str, JobFunction] = {}


def register(kind: str) -> Callable[[JobFunction], JobFunction]:
    def decorate(fn: JobFunction) -> JobFunction:
        JOB_FUNCTIONS[kind] = fn
        return fn

    return decorate
