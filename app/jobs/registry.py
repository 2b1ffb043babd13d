"""Job kinds -> job functions. A job function takes (job_id, report) and returns the job result.

`report(done, total, message)` writes progress in a short transaction of its own. Other parts
register their kinds with `register("export")(fn)`.
"""

from collections.abc import Callable

JobFunction = Callable[..., dict | None]
JOB_FUNCTIONS: dict[str, JobFunction] = {}


def register(kind: str) -> Callable[[JobFunction], JobFunction]:
    def decorate(fn: JobFunction) -> JobFunction:
        JOB_FUNCTIONS[kind] = fn
        return fn

    return decorate


def _analyze(job_id: int, report) -> dict:
    from app.services.analysis import run_analysis

    return run_analysis(job_id, report)


register("analyze")(_analyze)
