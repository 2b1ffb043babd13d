"""Review queues: one check's open findings, the reviewer's verdicts, and duplicate clusters.

A verdict composes the example and finding services (status or label of the example, then the
finding resolved or dismissed) in the request's transaction, so it happens whole or not at all.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlmodel import Session

from app.checks.registry import CLUSTER_CHECKS
from app.errors import InvalidInput
from app.models import Dataset, Example, Finding, FindingStatus
from app.schemas.example import ExampleUpdate
from app.services.datasets import get_dataset
from app.services.examples import get_example, update_example
from app.services.findings import get_finding, page_findings, update_finding
from app.services.paging import CountMode
from app.services.preference import swap_sides
from app.services.web_overview import distinct_labels

MAX_LABEL_KEYS = 9
MAX_CLUSTER_SHOWN = 8


class Action(StrEnum):
    accept = "accept"
    reject = "reject"
    dismiss = "dismiss"
    label = "label"
    swap = "swap"  # preference pairs: chosen and rejected trade places


@dataclass
class QueueItem:
    finding: Finding
    example: Example
    label_options: list[str]
    cluster: list[Example] = field(default_factory=list)


@dataclass
class Queue:
    dataset: Dataset
    check: str
    items: list[QueueItem]
    total: int
    offset: int
    limit: int
    current_id: int | None = None

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


def cluster_ids(finding: Finding) -> list[int]:
    """The examples of the finding's duplicate/conflict cluster, its own first."""
    details = finding.details or {}
    ids = [finding.example_id]
    for value in (details.get("members") or []) + [details.get("duplicate_of"), details.get("other_example_id")]:
        if isinstance(value, int) and value not in ids:
            ids.append(value)
    return ids


def _examples_by_id(session: Session, ids: set[int]) -> dict[int, Example]:
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Example).where(Example.id.in_(ids)))}


def label_options(dataset: Dataset, finding: Finding, known: list[str]) -> list[str]:
    """What keys 1-9 apply: the suggested label first, then the dataset's labels."""
    options: dict[str, None] = {}  # ordered set: linear in the number of labels, and stops at the keys' count
    for candidate in [(finding.details or {}).get("suggested_label"), *(dataset.label_set or known)]:
        if len(options) >= MAX_LABEL_KEYS:
            break
        if isinstance(candidate, str) and candidate:
            options.setdefault(candidate)
    return list(options)


def review_queue(session: Session, dataset_id: int, check: str, *, offset: int = 0, limit: int = 10,
                 current_id: int | None = None) -> Queue:
    dataset = get_dataset(session, dataset_id)
    # The findings lists' paging (app/services/paging.py, score then id, an index range). A queue is a
    # worklist that shrinks as it is reviewed, so its pages are by position: the count is exact (one
    # check's open findings, counted on the index), the offset small.
    page = page_findings(session, dataset_id, check=check, status=FindingStatus.open, limit=limit, offset=offset,
                         count=CountMode.exact)
    findings, total = page.items, page.total
    if not findings and offset and total:  # the page emptied under us: show the last page that has items
        offset = max(0, (total - 1) // limit * limit)
        page = page_findings(session, dataset_id, check=check, status=FindingStatus.open, limit=limit,
                             offset=offset, count=CountMode.exact)
        findings, total = page.items, page.total
    wanted = {f.example_id for f in findings}
    if check in CLUSTER_CHECKS:
        wanted |= {i for f in findings for i in cluster_ids(f)[:MAX_CLUSTER_SHOWN]}
    examples = _examples_by_id(session, wanted)
    # Label keys are ordered by the last counts this process made: a verdict changes the dataset, and
    # counting a million examples again before showing the next item would take seconds.
    known = [] if dataset.label_set else distinct_labels(session, dataset_id, limit=MAX_LABEL_KEYS, allow_stale=True)
    items = []
    for finding in findings:
        cluster = []
        if check in CLUSTER_CHECKS:
            cluster = [examples[i] for i in cluster_ids(finding)[:MAX_CLUSTER_SHOWN] if i in examples]
        items.append(QueueItem(finding, examples[finding.example_id], label_options(dataset, finding, known), cluster))
    ids = [item.finding.id for item in items]
    return Queue(dataset, check, items, total, offset, limit, current_id if current_id in ids else None)


def _verdict(session: Session, finding: Finding, action: Action, label: str | None, author: str) -> None:
    if action is Action.dismiss:
        update_finding(session, finding.id, FindingStatus.dismissed)
        return
    if action is Action.swap:
        swap_sides(session, finding.example_id, author)
        update_finding(session, finding.id, FindingStatus.resolved)
        return
    example = get_example(session, finding.example_id)
    if action is Action.label:
        if not label or not label.strip():
            raise InvalidInput("choose a label to apply", field="label")
        changes = {"label": label.strip()}
    else:
        changes = {"status": "accepted" if action is Action.accept else "rejected"}
    update_example(session, example.id, ExampleUpdate(version=example.version, **changes), author=author)
    update_finding(session, finding.id, FindingStatus.resolved)


def apply_verdict(session: Session, dataset_id: int, finding_id: int, action: str, label: str | None,
                  author: str) -> Finding:
    """One reviewer action on one open finding of this dataset. Returns the finding."""
    verdict = _action(action)
    finding = _finding_of(session, dataset_id, finding_id)
    _verdict(session, finding, verdict, label, author)
    return finding


def apply_bulk(session: Session, dataset_id: int, finding_ids: list[int], action: str, label: str | None,
               author: str) -> int:
    """The same action on every selected finding, all or nothing. Returns how many were changed."""
    verdict = _action(action)
    if not finding_ids:
        raise InvalidInput("select at least one item (x or the checkboxes)", field="finding_ids")
    for finding_id in dict.fromkeys(finding_ids):
        _verdict(session, _finding_of(session, dataset_id, finding_id), verdict, label, author)
    return len(set(finding_ids))


def keep_one(session: Session, dataset_id: int, keep_id: int, member_ids: list[int], author: str) -> int:
    """Accept `keep_id`, reject the other members, resolve their open cluster findings. Returns rejected count."""
    members = list(dict.fromkeys([keep_id, *member_ids]))
    examples = _examples_by_id(session, set(members))
    missing = [i for i in members if i not in examples or examples[i].dataset_id != dataset_id]
    if missing:
        raise InvalidInput(f"example(s) {missing} are not in this dataset", field="members")
    for example_id in members:
        example = examples[example_id]
        status = "accepted" if example_id == keep_id else "rejected"
        if example.status != status:
            update_example(session, example_id, ExampleUpdate(version=example.version, status=status), author=author)
        for finding in session.scalars(
            select(Finding).where(Finding.example_id == example_id, Finding.check.in_(CLUSTER_CHECKS),
                                  Finding.status == FindingStatus.open)
        ):
            update_finding(session, finding.id, FindingStatus.resolved)
    return len(members) - 1


def _action(action: str) -> Action:
    try:
        return Action(action)
    except ValueError as exc:
        raise InvalidInput(f"action must be one of {', '.join(a.value for a in Action)}", field="action") from exc


def _finding_of(session: Session, dataset_id: int, finding_id: int) -> Finding:
    finding = get_finding(session, finding_id)
    if finding.dataset_id != dataset_id:
        raise InvalidInput(f"finding {finding_id} is not in dataset {dataset_id}", field="finding_id")
    return finding
