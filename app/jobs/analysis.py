"""The analysis job (kind "analyze"): app/services/analysis.py queues it and computes it."""

from app.config import get_settings
from app.jobs.registry import register
from app.progress import Progress
from app.services.analysis import run_analysis


@register("analyze")
def analyze(job_id: int, report: Progress) -> dict:
    return run_analysis(job_id, get_settings(), report)
