"""The dataset's health report: counts, imbalance, clean examples, readiness verdict."""

from sqlalchemy import func, select
from sqlmodel import Session

from app.checks.registry import BLOCKING_CHECKS, effective_settings
from app.models import Finding, FindingStatus, JobKind
from app.schemas.analysis import DatasetReport, JobPublic, Readiness, ReadinessReason
from app.services import references
from app.services.dataset_stats import example_stats
from app.services.datasets import get_dataset
from app.services.jobs import latest_job

MIN_CLEAN_EXAMPLES = 500
# Label noise blocks an export above this share of the examples: a few suspicious labels are normal.
MAX_LABEL_ISSUE_SHARE = 0.02


def build_report(session: Session, dataset_id: int) -> DatasetReport:
    dataset = get_dataset(session, dataset_id)
    settings = effective_settings(dataset.settings)
    # Counted once per change of the dataset (a million rows take seconds), then from the cache.
    stats = example_stats(session, dataset)
    by_status = stats.by_status()
    total = stats.total()
    labels = stats.labels()
    clean_total = stats.clean_total()
    clean_labels = stats.labels(clean_only=True)
    by_check: dict[str, dict[str, int]] = {}
    by_finding_status: dict[str, int] = {}
    for check, status, n in session.execute(
        select(Finding.check, Finding.status, func.count()).where(Finding.dataset_id == dataset_id)
        .group_by(Finding.check, Finding.status)
    ).all():
        by_check.setdefault(check, {})[status] = n
        by_finding_status[status] = by_finding_status.get(status, 0) + n
    imbalance = max(labels.values()) / min(labels.values()) if len(labels) >= 2 else None

    min_count = int(settings["class_imbalance"]["min_count"])
    small = sorted(label for label in labels if clean_labels.get(label, 0) < min_count)
    job = latest_job(session, dataset_id, JobKind.analyze)
    reasons: list[ReadinessReason] = []
    if job is None or job.status != "succeeded":
        reasons.append(ReadinessReason(message="no finished analysis yet: run one"))
    if clean_total < MIN_CLEAN_EXAMPLES:
        reasons.append(ReadinessReason(
            message=f"only {clean_total} clean examples; at least {MIN_CLEAN_EXAMPLES} are needed"))
    if small:
        shown = ", ".join(small[:10]) + (" and more" if len(small) > 10 else "")
        reasons.append(ReadinessReason(message=f"{len(small)} label(s) have fewer than {min_count} clean examples: "
                                               f"{shown}", check="class_imbalance"))
    for check in BLOCKING_CHECKS:
        n = by_check.get(check, {}).get(FindingStatus.open, 0)
        if n:
            reasons.append(ReadinessReason(message=f"{n} open {check.replace('_', ' ')} finding(s) to review",
                                           check=check))
    label_issues = by_check.get("label_issue", {}).get(FindingStatus.open, 0)
    if total and label_issues / total > MAX_LABEL_ISSUE_SHARE:
        reasons.append(ReadinessReason(
            message=f"{label_issues} open label issue(s): {label_issues / total:.1%} of the examples, above the "
                    f"{MAX_LABEL_ISSUE_SHARE:.0%} that a dataset may keep", check="label_issue"))
    return DatasetReport(
        dataset_id=dataset_id, examples=total, clean_examples=clean_total, labels=labels, clean_labels=clean_labels,
        imbalance_ratio=round(imbalance, 3) if imbalance else None, findings_by_check=by_check,
        findings_by_status=by_finding_status, examples_by_status=by_status, small_classes=small,
        last_analysis=JobPublic.model_validate(job) if job else None,
        contamination=references.contamination_rates(session, dataset_id, dataset.settings),
        readiness=Readiness(ready=not reasons, reasons=[r.message for r in reasons], items=reasons),
        length_bias=((job.result or {}).get("notes") or {}).get("length_bias") if job else None,
    )
