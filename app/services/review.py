"""Review: a reviewer's verdicts on findings, duplicate clusters settled whole, and undo.

The JSON API (app/api/review.py) and the HTML queue (app/web/review.py) both call these functions.
A verdict composes the example and finding services in the caller's transaction, so it happens
whole or not at all; each returns a `Change` that records what it did, so the same verdict can be
taken back (`undo`) as long as nobody edited the example since.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from app.checks.registry import CLUSTER_CHECKS
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Example, Finding, FindingStatus
from app.schemas.example import ExampleUpdate
from app.services.examples import get_example, update_example
from app.services.findings import get_finding, update_finding
from app.services.preference import swap_sides
from app.services.text_search import contains

# Fields a verdict may change on an example, and so the fields an undo restores.
VERDICT_FIELDS = ("status", "label", "output", "rejected")


class Verdict(StrEnum):
    accept = "accept"
    reject = "reject"
    dismiss = "dismiss"
    label = "label"
    swap = "swap"  # preference pairs: chosen and rejected trade places


VERDICT_WORDS = {Verdict.accept: "accepted", Verdict.reject: "rejected", Verdict.dismiss: "dismissed",
                 Verdict.label: "relabelled", Verdict.swap: "swapped (chosen and rejected)"}


@dataclass
class ExampleChange:
    """One example a verdict changed: its version afterwards and the values before."""

    example_id: int
    version: int
    before: dict[str, Any]


@dataclass
class Change:
    """What one reviewer action did, in words and in enough detail to undo it."""

    summary: str
    findings: dict[int, str] = field(default_factory=dict)  # finding id -> status before
    examples: list[ExampleChange] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.findings)

    def merge(self, other: "Change") -> None:
        for finding_id, status in other.findings.items():
            self.findings.setdefault(finding_id, status)
        self.examples.extend(other.examples)

    def token(self) -> dict[str, Any]:
        """A JSON-able record for `undo`: it only ever restores values the reviewer could set anyway."""
        return {"findings": {str(k): v for k, v in self.findings.items()},
                "examples": [{"id": e.example_id, "version": e.version, "before": e.before} for e in self.examples]}


def parse_verdict(value: str) -> Verdict:
    try:
        return Verdict(value)
    except ValueError as exc:
        raise InvalidInput(f"the verdict must be one of {', '.join(v.value for v in Verdict)} (got '{value}')",
                           field="verdict") from exc


def finding_of(session: Session, finding_id: int, dataset_id: int | None = None) -> Finding:
    finding = get_finding(session, finding_id)
    if dataset_id is not None and finding.dataset_id != dataset_id:
        raise InvalidInput(f"finding {finding_id} belongs to another dataset", field="finding_id")
    return finding


def _change_example(session: Session, example: Example, changes: dict[str, Any], author: str) -> ExampleChange | None:
    before = {name: getattr(example, name) for name in VERDICT_FIELDS}
    if all(before.get(k) == v for k, v in changes.items()):
        return None
    update_example(session, example.id, ExampleUpdate(version=example.version, **changes), author=author)
    # Only what really changed (a classification label also moves the output) goes into the undo record.
    changed = {name: value for name, value in before.items() if getattr(example, name) != value}
    return ExampleChange(example.id, example.version, changed)


def _set_finding(session: Session, finding: Finding, status: FindingStatus, change: Change) -> None:
    if finding.status == status:
        return
    change.findings.setdefault(finding.id, finding.status)
    update_finding(session, finding.id, status)


def apply_verdict(session: Session, finding_id: int, verdict: str, label: str | None, author: str,
                  dataset_id: int | None = None) -> Change:
    """One reviewer verdict on one finding: the example accepted, rejected or relabelled and the finding
    resolved, or the finding dismissed (the example left as it is)."""
    action = parse_verdict(verdict)
    finding = finding_of(session, finding_id, dataset_id)
    change = Change(f"Example #{finding.example_id} {VERDICT_WORDS[action]}")
    if action is Verdict.dismiss:
        change.summary = f"Finding on example #{finding.example_id} dismissed"
        _set_finding(session, finding, FindingStatus.dismissed, change)
        return change
    example = get_example(session, finding.example_id)
    if action is Verdict.swap:
        before = {"output": example.output, "rejected": example.rejected}
        swap_sides(session, example.id, author)
        change.examples.append(ExampleChange(example.id, example.version, before))
        _set_finding(session, finding, FindingStatus.resolved, change)
        return change
    if action is Verdict.label:
        if not label or not label.strip():
            raise InvalidInput("choose a label to apply", field="label")
        changes: dict[str, Any] = {"label": label.strip()}
        change.summary = f"Example #{example.id} labelled “{label.strip()}”"
    else:
        changes = {"status": "accepted" if action is Verdict.accept else "rejected"}
    edited = _change_example(session, example, changes, author)
    if edited:
        change.examples.append(edited)
    _set_finding(session, finding, FindingStatus.resolved, change)
    return change


def apply_to_findings(session: Session, dataset_id: int, finding_ids: list[int], verdict: str, label: str | None,
                      author: str) -> Change:
    """The same verdict on every listed finding of the dataset, all or nothing."""
    parse_verdict(verdict)
    if not finding_ids:
        raise InvalidInput("select at least one item first (press x or tick the boxes)", field="finding_ids")
    total = Change("")
    for finding_id in dict.fromkeys(finding_ids):
        total.merge(apply_verdict(session, finding_id, verdict, label, author, dataset_id=dataset_id))
    n = len(total.findings)
    total.summary = f"{n} item{'s' if n != 1 else ''} {VERDICT_WORDS[Verdict(verdict)]}"
    return total


# ---- the queue ----------------------------------------------------------------------------------

def _open_query(session: Session, dataset_id: int, check: str, q: str | None, columns=(Finding,)):
    query = select(*columns).where(Finding.dataset_id == dataset_id, Finding.check == check,
                                   Finding.status == FindingStatus.open)
    if q:  # the example lists' "contains": the user's % and _ are plain characters
        matches = contains(session.get_bind().dialect.name, q, Example.input, Example.output, Example.label)
        query = query.where(Finding.example_id.in_(select(Example.id).where(Example.dataset_id == dataset_id, matches)))
    return query


def open_finding_ids(session: Session, dataset_id: int, check: str, q: str | None, limit: int,
                     offset: int) -> list[int]:
    """The ids of one page of the queue (what `open_findings` would list), without counting or loading rows."""
    query = _open_query(session, dataset_id, check, q, (Finding.id,))
    return list(session.scalars(query.order_by(Finding.score.desc(), Finding.id).limit(limit).offset(offset)))


def open_findings(session: Session, dataset_id: int, check: str, q: str | None, limit: int,
                  offset: int) -> tuple[list[Finding], int]:
    """One page of a check's open findings, highest score first; `q` keeps those whose example's input,
    output or label contains it."""
    query = _open_query(session, dataset_id, check, q)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    findings = list(session.scalars(query.order_by(Finding.score.desc(), Finding.id).limit(limit).offset(offset)))
    return findings, total


def queue_progress(session: Session, dataset_id: int, check: str) -> tuple[int, int]:
    """(findings of this check already reviewed, all findings of this check)."""
    counts = dict(session.execute(select(Finding.status, func.count()).where(
        Finding.dataset_id == dataset_id, Finding.check == check).group_by(Finding.status)).all())
    total = sum(counts.values())
    return total - counts.get(FindingStatus.open, 0), total


def examples_by_id(session: Session, ids: set[int]) -> dict[int, Example]:
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Example).where(Example.id.in_(ids)))}


# ---- clusters -----------------------------------------------------------------------------------

@dataclass
class Cluster:
    cluster_id: str
    member_ids: list[int]  # every member, the representative first
    findings: list[Finding]  # every open finding that carries this cluster id


def _ids_in(details: dict[str, Any]) -> list[int]:
    ids = list(details.get("members") or [])
    ids += [details.get("duplicate_of"), details.get("other_example_id")]
    return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]


def cluster_of(session: Session, dataset_id: int, cluster_id: str) -> Cluster:
    """Every member of a cluster, whatever a check's `members` list was capped at: the union of the
    examples of every finding with this cluster id and of the ids those findings name."""
    findings = list(session.scalars(
        select(Finding).where(Finding.dataset_id == dataset_id, Finding.check.in_(CLUSTER_CHECKS),
                              Finding.details["cluster_id"].as_string() == cluster_id)
        .order_by(Finding.id)
    ))
    if not findings:
        raise NotFound(f"cluster {cluster_id} has no findings in this dataset")
    representative = next((f.details.get("duplicate_of") for f in findings
                           if isinstance(f.details.get("duplicate_of"), int)), None)
    ids: dict[int, None] = {representative: None} if representative is not None else {}
    for finding in findings:
        ids[finding.example_id] = None
        ids.update(dict.fromkeys(_ids_in(finding.details or {})))
    open_findings = [f for f in findings if f.status == FindingStatus.open]
    return Cluster(cluster_id, list(ids), open_findings)


def keep_one(session: Session, dataset_id: int, cluster_id: str, keep_id: int, author: str) -> Change:
    """Accept `keep_id`, reject every other member of the cluster and resolve the cluster's findings
    (and the other duplicate findings of the rejected members), in the caller's one transaction."""
    cluster = cluster_of(session, dataset_id, cluster_id)
    if keep_id not in cluster.member_ids:
        raise InvalidInput(f"example #{keep_id} is not a member of this cluster", field="example_id")
    examples = {e.id: e for e in session.scalars(select(Example).where(Example.id.in_(cluster.member_ids)))}
    change = Change("")
    rejected = 0
    for example_id in cluster.member_ids:
        example = examples.get(example_id)
        if example is None or example.dataset_id != dataset_id:
            continue  # deleted since the analysis
        status = "accepted" if example_id == keep_id else "rejected"
        edited = _change_example(session, example, {"status": status}, author)
        if edited:
            change.examples.append(edited)
        rejected += status == "rejected"
    for finding in cluster.findings:
        _set_finding(session, finding, FindingStatus.resolved, change)
    others = [i for i in cluster.member_ids if i != keep_id]
    for finding in session.scalars(select(Finding).where(
            Finding.example_id.in_(others), Finding.check.in_(CLUSTER_CHECKS), Finding.status == FindingStatus.open)):
        _set_finding(session, finding, FindingStatus.resolved, change)
    change.summary = f"Kept example #{keep_id}, rejected {rejected} other{'s' if rejected != 1 else ''}"
    return change


def label_cluster(session: Session, dataset_id: int, cluster_id: str, label: str, author: str) -> Change:
    """Give every member of a cluster the same label (a conflict settled in favour of one answer)."""
    if not label or not label.strip():
        raise InvalidInput("choose a label to apply", field="label")
    cluster = cluster_of(session, dataset_id, cluster_id)
    change = Change(f"Labelled {len(cluster.member_ids)} members “{label.strip()}”")
    for example in session.scalars(select(Example).where(Example.id.in_(cluster.member_ids),
                                                         Example.dataset_id == dataset_id)):
        edited = _change_example(session, example, {"label": label.strip()}, author)
        if edited:
            change.examples.append(edited)
    for finding in cluster.findings:
        _set_finding(session, finding, FindingStatus.resolved, change)
    return change


# ---- undo ---------------------------------------------------------------------------------------

def undo(session: Session, dataset_id: int, token: dict[str, Any], author: str) -> Change:
    """Take back a `Change`: the examples get their values back, the findings their status.

    An example edited after the verdict is a Conflict (its page shows the history to revert from).
    """
    try:
        findings = {int(k): FindingStatus(v) for k, v in (token.get("findings") or {}).items()}
        examples = [(int(e["id"]), int(e["version"]), dict(e["before"])) for e in token.get("examples") or []]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("this undo is not valid any more; reload the page", field="undo") from exc
    change = Change("Undone")
    for example_id, version, before in examples:
        example = get_example(session, example_id)
        if example.dataset_id != dataset_id:
            raise InvalidInput(f"example {example_id} belongs to another dataset", field="undo")
        if example.version != version:
            raise Conflict(f"example #{example_id} was changed after this verdict, so it cannot be undone here; "
                           "revert it from its revision history")
        restore = {k: v for k, v in before.items() if k in VERDICT_FIELDS and getattr(example, k) != v}
        edited = _change_example(session, example, restore, author)
        if edited:
            change.examples.append(edited)
    for finding_id, status in findings.items():
        _set_finding(session, finding_of(session, finding_id, dataset_id), status, change)
    n = len(findings)
    change.summary = f"Undone: {n} finding{'s' if n != 1 else ''} back in the queue"
    return change
