"""The dataset's health report: counts, imbalance, clean examples, readiness verdict."""

from collections import Counter

from sqlalchemy import func, select
from sqlmodel import Session

from app.checks.registry import BLOCKING_CHECKS, DATASET_LEVEL_CHECKS, effective_settings
from app.models import Example, ExampleStatus, Finding, FindingStatus, JobKind
from app.schemas.analysis import DatasetReport, JobPublic, Readiness, ReadinessReason
from app.services import references
from app.services.datasets import get_dataset
from app.services.jobs import latest_job

MIN_CLEAN_EXAMPLES = 500
# Label noise blocks an export above this share of the examples: a few suspicious labels are normal.
MAX_LABEL_ISSUE_SHARE = 0.02


def unclean_example_ids():
    """Examples with an open finding of a check about the example itself (not class_imbalance)."""
    return select(Finding.example_id).where(Finding.status == FindingStatus.open,
                                            Finding.check.not_in(DATASET_LEVEL_CHECKS))


def _label_counts(session: Session, *conditions) -> dict[str | None, int]:
    return dict(session.execute(select(Example.label, func.count()).where(*conditions)
                                .group_by(Example.label)).all())


def _few_label_counts(session: Session, *conditions) -> dict[str | None, int]:
    """Label counts of a small part of the dataset (rejected or flagged rows), counted here: with a GROUP BY,
    SQLite walks the whole (dataset_id, label) index and reads every row to test the condition."""
    return dict(Counter(session.scalars(select(Example.label).where(*conditions))))


def _subtract(counts: dict, minus: dict) -> dict:
    return {label: n - minus.get(label, 0) for label, n in counts.items() if n - minus.get(label, 0) > 0}


def build_report(session: Session, dataset_id: int) -> DatasetReport:
    dataset = get_dataset(session, dataset_id)
    settings = effective_settings(dataset.settings)
    in_dataset = Example.dataset_id == dataset_id
    # Every count comes from a covering index ((dataset_id, status) or (dataset_id, label)) or from the
    # few flagged or rejected rows: at 100k examples no query reads every row's text.
    by_status = dict(session.execute(select(Example.status, func.count()).where(in_dataset)
                                     .group_by(Example.status)).all())
    total = sum(by_status.values())
    every_label = _label_counts(session, in_dataset)
    rejected = _few_label_counts(session, in_dataset, Example.status == ExampleStatus.rejected)
    labels = _subtract(every_label, rejected)
    # Driven by the flagged ids (primary-key lookups), not by a scan of the dataset's rows.
    unclean = Counter(label for label, status in session.execute(select(Example.label, Example.status).where(
        Example.id.in_(unclean_example_ids().where(Finding.dataset_id == dataset_id))))
        if status != ExampleStatus.rejected)
    clean_total = total - by_status.get(ExampleStatus.rejected, 0) - sum(unclean.values())
    clean_labels = {label: n for label, n in _subtract(labels, unclean).items() if label is not None}
    labels.pop(None, None)
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
    )
