"""Review by rule: a verdict on every open finding matching a filter, and clusters settled by a rule.

Each takes the count the reviewer confirmed (`expected`): when the data changed between the
confirmation and the click, nothing is applied and the reviewer sees the new count.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from app.errors import Conflict, InvalidInput
from app.models import Example, Finding, FindingStatus, TaskType
from app.schemas.example import ExampleUpdate
from app.services.datasets import get_dataset
from app.services.examples import update_example
from app.services.example_query import example_conditions
from app.services.review import (CLUSTER_CHECKS, Change, ExampleChange, apply_to_findings, keep_one, open_findings,
                                 parse_verdict)

MAX_BULK = 20_000


@dataclass
class Selection:
    """Open findings of one check, optionally narrowed by a text search and a score range."""

    check: str
    q: str | None = None
    min_score: float | None = None
    max_score: float | None = None


def selected_ids(session: Session, dataset_id: int, selection: Selection) -> list[int]:
    findings, total = open_findings(session, dataset_id, selection.check, selection.q, MAX_BULK + 1, 0)
    if total > MAX_BULK:
        raise InvalidInput(f"{total:,} findings match; a bulk action takes at most {MAX_BULK:,} at a time — "
                           "narrow the filter", field="filter")
    return [f.id for f in findings
            if (selection.min_score is None or f.score >= selection.min_score)
            and (selection.max_score is None or f.score <= selection.max_score)]


def _confirm(expected: int | None, actual: int, what: str) -> None:
    if expected is not None and expected != actual:
        raise Conflict(f"{actual:,} {what} match now, not the {expected:,} you confirmed; nothing was changed — "
                       "look again and confirm the new count", current_count=actual)


def apply_to_selection(session: Session, dataset_id: int, selection: Selection, verdict: str, label: str | None,
                       author: str, expected: int | None = None) -> Change:
    parse_verdict(verdict)
    ids = selected_ids(session, dataset_id, selection)
    _confirm(expected, len(ids), "findings")
    if not ids:
        raise InvalidInput("no open finding matches this filter", field="filter")
    return apply_to_findings(session, dataset_id, ids, verdict, label, author)


EXAMPLE_ACTIONS = {"accept": {"status": "accepted"}, "reject": {"status": "rejected"},
                   "pending": {"status": "pending"}}


def matching_example_ids(session: Session, dataset_id: int, filters) -> list[int]:
    """Every example the example list's filters match (at most MAX_BULK), for a bulk action on them."""
    # The list's own filter builder, so that the count confirmed is the count the list shows.
    conditions = example_conditions(session, dataset_id, filters)
    ids = list(session.scalars(select(Example.id).where(*conditions)
                               .order_by(Example.id).limit(MAX_BULK + 1)))
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"more than {MAX_BULK:,} examples match; a bulk action takes at most {MAX_BULK:,} at a "
                           "time — narrow the filter", field="filter")
    return ids


def apply_to_examples(session: Session, dataset_id: int, filters, action: str, label: str | None, author: str,
                      expected: int | None = None) -> Change:
    """Accept, reject, set back to pending or label every example matching the list's filters, all or nothing."""
    if action not in (*EXAMPLE_ACTIONS, "label"):
        raise InvalidInput("the action must be accept, reject, pending or label", field="action")
    if action == "label" and not (label or "").strip():
        raise InvalidInput("choose a label to apply", field="label")
    changes = EXAMPLE_ACTIONS.get(action) or {"label": (label or "").strip()}
    ids = matching_example_ids(session, dataset_id, filters)
    _confirm(expected, len(ids), "examples")
    if not ids:
        raise InvalidInput("no example matches these filters", field="filter")
    change = Change("")
    for example in session.scalars(select(Example).where(Example.id.in_(ids))):
        before = {name: getattr(example, name) for name in ("status", "label", "output")}
        if all(before.get(k) == v for k, v in changes.items()):
            continue
        update_example(session, example.id, ExampleUpdate(version=example.version, **changes), author=author)
        change.examples.append(ExampleChange(example.id, example.version,
                                             {k: v for k, v in before.items() if getattr(example, k) != v}))
    n = len(change.examples)
    done = f"labelled “{changes['label']}”" if action == "label" else f"set to {changes['status']}"
    change.summary = f"{n:,} example{'s' if n != 1 else ''} {done}"
    return change


@dataclass
class AgreeingCluster:
    cluster_id: str
    keep_id: int
    findings: int


def agreeing_clusters(session: Session, dataset_id: int, check: str) -> list[AgreeingCluster]:
    """Clusters of `check` with an open finding whose members all give the same answer (the label for
    classification, the output otherwise): keeping one of them and rejecting the copies loses nothing."""
    if check not in CLUSTER_CHECKS:
        raise InvalidInput(f"{check} findings do not form clusters", field="check")
    dataset = get_dataset(session, dataset_id)
    rows = session.execute(select(Finding.example_id, Finding.details).where(
        Finding.dataset_id == dataset_id, Finding.check == check, Finding.status == FindingStatus.open)).all()
    members: dict[str, set[int]] = {}
    counts: dict[str, int] = {}
    for example_id, details in rows:
        cluster_id = (details or {}).get("cluster_id")
        if not isinstance(cluster_id, str):
            continue
        ids = members.setdefault(cluster_id, set())
        ids.add(example_id)
        ids.update(i for i in (details.get("members") or []) + [details.get("duplicate_of")] if isinstance(i, int))
        counts[cluster_id] = counts.get(cluster_id, 0) + 1
    everyone = {i for ids in members.values() for i in ids}
    use_labels = dataset.task_type == TaskType.classification
    answers: dict[int, str] = {}
    for start in range(0, len(everyone), 5000):
        chunk = sorted(everyone)[start:start + 5000]
        for example_id, label, output in session.execute(
                select(Example.id, Example.label, Example.output).where(Example.id.in_(chunk))).all():
            answers[example_id] = (label or "") if use_labels else output.strip()
    agreeing = []
    for cluster_id, ids in sorted(members.items()):
        present = [i for i in sorted(ids) if i in answers]
        if len(present) > 1 and len({answers[i] for i in present}) == 1:
            agreeing.append(AgreeingCluster(cluster_id, present[0], counts[cluster_id]))
    return agreeing


def keep_one_where_agreeing(session: Session, dataset_id: int, check: str, author: str,
                            expected: int | None = None) -> Change:
    """Keep the oldest member of every agreeing cluster, reject the rest, resolve their findings."""
    clusters = agreeing_clusters(session, dataset_id, check)
    _confirm(expected, sum(c.findings for c in clusters), "findings in agreeing clusters")
    if not clusters:
        raise InvalidInput("no cluster in this queue has members that all agree", field="check")
    total = Change("")
    for cluster in clusters:
        total.merge(keep_one(session, dataset_id, cluster.cluster_id, cluster.keep_id, author))
    n = len(total.findings)
    total.summary = f"Settled {len(clusters)} cluster{'s' if len(clusters) != 1 else ''}: kept one of each, " \
                    f"{n} finding{'s' if n != 1 else ''} resolved"
    return total
