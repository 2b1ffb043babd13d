"""Start an analysis, poll a job's progress, and the dataset's health report."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import Admin, Reviewer
from app.deps import SessionDep
from app.services import analysis, jobs, report
from app.services.datasets import get_dataset
from app.web.charts import class_distribution
from app.web.routing import HTMLRoute
from app.web.templating import is_htmx, render

router = APIRouter(route_class=HTMLRoute)


@router.post("/datasets/{dataset_id}/analyze", dependencies=[Admin])
def analyze(dataset_id: int, request: Request, session: SessionDep) -> Response:
    job = analysis.start_analysis(session, dataset_id)
    if not is_htmx(request):  # a plain form post: back to the dataset page, which shows the progress
        return RedirectResponse(f"/datasets/{dataset_id}", status_code=303)
    return render(request, "jobs/_progress.html", {"job": job}, status_code=202)


@router.get("/jobs/{job_id}/progress", dependencies=[Reviewer])
def job_progress(job_id: int, request: Request, session: SessionDep) -> Response:
    return render(request, "jobs/_progress.html", {"job": jobs.get_job(session, job_id)})


@router.post("/jobs/{job_id}/cancel", dependencies=[Admin])
def cancel_job(job_id: int, request: Request, session: SessionDep) -> Response:
    job = jobs.request_cancel(session, job_id)
    if not is_htmx(request) and job.dataset_id:
        return RedirectResponse(f"/datasets/{job.dataset_id}", status_code=303)
    return render(request, "jobs/_progress.html", {"job": job}, status_code=202)


@router.get("/datasets/{dataset_id}/health", dependencies=[Reviewer])
def health(dataset_id: int, request: Request, session: SessionDep) -> Response:
    health_report = report.build_report(session, dataset_id)
    chart = class_distribution(health_report.labels, health_report.clean_labels, health_report.small_classes)
    return render(request, "datasets/health.html", {"dataset": get_dataset(session, dataset_id),
                                                    "report": health_report, "chart": chart})
