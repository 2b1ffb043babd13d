"""Start an analysis, poll a job's progress, and the dataset's health report."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import Admin, Reviewer
from app.deps import SessionDep, SettingsDep
from app.services import analysis, health as health_service, jobs, report, web_overview
from app.services.datasets import get_dataset
from app.web.charts import class_distribution, embedding_map, histogram, score_histogram
from app.web.review_queue import check_title
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
    job = jobs.get_job(session, job_id)
    # When an analysis has just ended, the dataset page's queue card is refreshed in the same answer.
    card = (web_overview.dataset_card(session, job.dataset_id)
            if job.kind == "analyze" and job.status == "succeeded" and job.dataset_id else None)
    return render(request, "jobs/_progress.html", {"job": job, "queues_card": card, "check_title": check_title})


@router.post("/jobs/{job_id}/cancel", dependencies=[Admin])
def cancel_job(job_id: int, request: Request, session: SessionDep) -> Response:
    job = jobs.request_cancel(session, job_id)
    if not is_htmx(request) and job.dataset_id:
        return RedirectResponse(f"/datasets/{job.dataset_id}", status_code=303)
    return render(request, "jobs/_progress.html", {"job": job}, status_code=202)


@router.get("/datasets/{dataset_id}/health", dependencies=[Reviewer])
def health(dataset_id: int, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    health_report = report.build_report(session, dataset_id)
    details = health_service.health_details(session, dataset_id, settings.data_dir)
    chart = class_distribution(health_report.labels, health_report.clean_labels, health_report.small_classes)
    context = {
        "dataset": get_dataset(session, dataset_id), "report": health_report, "chart": chart, "details": details,
        "check_title": check_title,
        "score_charts": {c.name: score_histogram(c.score_bins, c.threshold) for c in details.checks if c.total},
        "cluster_chart": histogram(details.cluster_sizes),
        "input_chart": histogram(details.input_tokens) if details.input_tokens else None,
        "output_chart": histogram(details.output_tokens) if details.output_tokens else None,
        "map": embedding_map(details.map) if details.map else None,
    }
    return render(request, "datasets/health.html", context)
