"""The review queue as the HTML page shows it: one check's open findings, a page at a time, with
clusters grouped for reading, label shortcuts and the queue's progress. Keyboard and paging
constants live here (they are about the page, not the domain)."""

from dataclasses import dataclass, field

from sqlmodel import Session

from app.checks.registry import CHECKS
from app.errors import NotFound
from app.models import Dataset, Example, Finding
from app.services.datasets import get_dataset
from app.services.review import CLUSTER_CHECKS, Cluster, cluster_of, examples_by_id, open_findings, queue_progress
from app.services.web_overview import distinct_labels

MAX_LABEL_KEYS = 9  # digits 1-9 reach the first nine label options; the label field reaches all
MAX_LABEL_OPTIONS = 1000
PAGE_SIZE = 10
CHECK_TITLES = {
    "exact_duplicate": "Exact duplicates", "near_duplicate": "Near duplicates",
    "conflicting_output": "Conflicting answers", "label_issue": "Label issues", "format": "Format problems",
    "outlier": "Outliers", "class_imbalance": "Small classes",
}
SCORE_MEANINGS = {
    "exact_duplicate": "Score 1.00: the inputs are identical after normalising case, Unicode and spaces.",
    "near_duplicate": "Score: cosine similarity of the two inputs' embeddings (1.00 = same meaning).",
    "conflicting_output": "Score: how similar the inputs are times how different the answers are.",
    "label_issue": "Score: 1 − label quality; high means the given label is probably wrong.",
    "format": "Score: how severe the format problem is (1.00 = empty or broken).",
    "outlier": "Score: how far the input lies from its nearest neighbours, relative to the rest.",
    "class_imbalance": "Score: how far the label is below the minimum share.",
}


def check_title(check: str) -> str:
    return CHECK_TITLES.get(check, check.replace("_", " ").capitalize())


@dataclass
class MemberGroup:
    """Members of a cluster with the same input and output, shown as one card."""

    example: Example
    ids: list[int]

    @property
    def copies(self) -> int:
        return len(self.ids)


@dataclass
class QueueItem:
    finding: Finding
    example: Example
    label_options: list[str]
    cluster: Cluster | None = None
    groups: list[MemberGroup] = field(default_factory=list)

    @property
    def member_count(self) -> int:
        return len(self.cluster.member_ids) if self.cluster else 0

    @property
    def member_labels(self) -> list[str]:
        """The distinct labels in the cluster, for "apply this label to all members"."""
        return list(dict.fromkeys(g.example.label for g in self.groups if g.example.label))


@dataclass
class Progress:
    reviewed: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.reviewed / self.total) if self.total else 100


@dataclass
class Queue:
    dataset: Dataset
    check: str
    items: list[QueueItem]
    total: int
    offset: int
    limit: int
    progress: Progress
    q: str | None = None
    current_id: int | None = None

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def title(self) -> str:
        return check_title(self.check)

    @property
    def description(self) -> str:
        return getattr(CHECKS.get(self.check), "description", "")

    @property
    def score_meaning(self) -> str:
        return SCORE_MEANINGS.get(self.check, "")

    @property
    def is_cluster_queue(self) -> bool:
        return self.check in CLUSTER_CHECKS


@dataclass
class Confirmation:
    """A question stating how many findings an action will change, and the form that confirms it."""

    question: str
    button: str
    url: str
    count: int
    fields: dict


def bulk_confirmation(queue: Queue, action: str, label: str | None, count: int, fields: dict) -> Confirmation:
    verb = f"label “{label}”" if action == "label" else action
    where = f" matching “{queue.q}”" if queue.q else ""
    if not count:
        return Confirmation(f"No open finding{where} to {verb}.", "", _url(queue, "bulk"), 0, fields)
    noun = f"finding{'s' if count != 1 else ''}"
    return Confirmation(f"{verb.capitalize()} all {count:,} open {noun} of {queue.title.lower()}{where}?",
                        f"Yes, {verb} {count:,} {noun}", _url(queue, "bulk"), count, fields)


def rule_confirmation(queue: Queue, clusters: list, fields: dict) -> Confirmation:
    findings = sum(c.findings for c in clusters)
    if not clusters:
        return Confirmation("No cluster in this queue has members that all give the same answer.", "",
                            _url(queue, "rule"), 0, fields)
    return Confirmation(
        f"{len(clusters):,} cluster{'s' if len(clusters) != 1 else ''} have members that all give the same answer. "
        f"Keep the oldest member of each, reject the other copies and resolve {findings:,} finding"
        f"{'s' if findings != 1 else ''} of this queue (and the other duplicate findings of the rejected copies)?", f"Yes, settle {findings:,} findings", _url(queue, "rule"), findings, fields)


def _url(queue: Queue, action: str) -> str:
    return f"/datasets/{queue.dataset.id}/review/{queue.check}/{action}"


def label_options(dataset: Dataset, finding: Finding, known: list[str]) -> list[str]:
    """Every label one may apply: the suggested ones first, then the dataset's labels by frequency."""
    details = finding.details or {}
    suggested = [label for label, _ in details.get("top_labels") or []]
    # A dict keeps the first-seen order with O(1) membership: a list's `in` made a 10,000-label set quadratic.
    options: dict[str, None] = {}
    for candidate in [details.get("suggested_label"), *suggested, *(dataset.label_set or []), *known]:
        if isinstance(candidate, str) and candidate:
            options.setdefault(candidate)
    return list(options)


def _groups(cluster: Cluster, examples: dict[int, Example], first: int) -> list[MemberGroup]:
    groups: dict[str, MemberGroup] = {}
    for member_id in sorted(cluster.member_ids, key=lambda i: (i != first, i)):
        example = examples.get(member_id)
        if example is None:
            continue
        key = example.content_hash + "\x00" + (example.label or "")
        if key in groups:
            groups[key].ids.append(member_id)
        else:
            groups[key] = MemberGroup(example, [member_id])
    return list(groups.values())


def review_queue(session: Session, dataset_id: int, check: str, *, offset: int = 0, limit: int = PAGE_SIZE,
                 current_id: int | None = None, q: str | None = None) -> Queue:
    dataset = get_dataset(session, dataset_id)
    if check not in CHECKS:
        raise NotFound(f"there is no check called “{check}”; the queues are: {', '.join(CHECKS)}")
    findings, total = open_findings(session, dataset_id, check, q, limit, offset)
    if not findings and offset and total:  # the page emptied under us: show the last page that has items
        offset = max(0, (total - 1) // limit * limit)
        findings, total = open_findings(session, dataset_id, check, q, limit, offset)
    clusters: dict[str, Cluster] = {}
    if check in CLUSTER_CHECKS:
        for cluster_id in {(f.details or {}).get("cluster_id") for f in findings} - {None}:
            clusters[cluster_id] = cluster_of(session, dataset_id, str(cluster_id))
    wanted = {f.example_id for f in findings} | {i for c in clusters.values() for i in c.member_ids}
    examples = examples_by_id(session, wanted)
    # A label set names every label; without one, the labels in use (a grouped read of an index).
    # Label options ordered by the last counts this process made (app/services/dataset_stats.py): a verdict
    # changes the dataset, and counting every label again before showing the next item would take seconds.
    known = [] if dataset.label_set else distinct_labels(session, dataset_id, limit=MAX_LABEL_OPTIONS,
                                                          allow_stale=True)
    items = []
    for finding in findings:
        cluster = clusters.get((finding.details or {}).get("cluster_id"))
        groups = _groups(cluster, examples, finding.example_id) if cluster else []
        items.append(QueueItem(finding, examples[finding.example_id], label_options(dataset, finding, known),
                               cluster, groups))
    ids = [item.finding.id for item in items]
    return Queue(dataset, check, items, total, offset, limit, Progress(*queue_progress(session, dataset_id, check)), q,
                 current_id if current_id in ids else None)
