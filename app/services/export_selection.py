"""What an export reads: the pairs, the findings that exclude or link them, and the stored vectors.

Selection order: status filter, then open findings of excluded checks, then dedupe. Duplicate
clusters come from the analysis findings (union of non-dismissed exact/near `duplicate_of` edges);
split groups are those clusters joined with identical normalised inputs. The near-duplicate leakage
check's search (`near_search`) reads each example's embeddings-row identity, and vectors only where
the analysis's neighbour graph cannot answer (`app/exports/leakage.py`).
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import orjson
from sqlalchemy import select
from sqlmodel import Session

from app.checks.registry import CLUSTER_CHECKS
from app.config import Settings
from app.db import driver_param, fetch_all_raw
from app.embeddings import neighbour_graph, thresholds
from app.embeddings.neighbour_graph import NO_VECTOR
from app.exports import FORMATS, ExportRows
from app.exports.base import pick, positions_of, row_positions
from app.exports.leakage import NearSearch, StoredVectors, VectorsChanged
from app.exports.splits import UNLABELLED, SplitPlan, connected_groups, groups_sharing_keys, pick_representatives
from app.errors import Conflict
from app.models import Dataset, DatasetRole, Example, Finding, FindingStatus
from app.schemas.export import ExportParams
from app.services.embeddings_store import aligned_identities, vector_identities
from app.text import normalise



@dataclass
class Selection:
    rows: ExportRows
    labels: list[str]
    groups: np.ndarray
    excluded: dict
    plan: SplitPlan | None = None
    leakage: dict | None = None
    resplits: int = 0
    split_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # index into SPLIT_NAMES
    budget: dict | None = None  # max_examples: how the pairs were picked and their coverage (app/services/export_budget.py)


# history as text on both databases (JSON null as SQL NULL): psycopg would otherwise run json.loads on
# every row, JSON null included, a quarter of the read on Postgres; the few histories are decoded here.
_PAIRS_SQL = "SELECT id, system, input, output, NULLIF(CAST(history AS TEXT), 'null'), label, weight, status, " \
             "input_hash, rejected, kto_label FROM examples WHERE dataset_id = {param}"


def load_pairs(session: Session, dataset_id: int) -> ExportRows:
    """Every example of the dataset, in id order, as columns. This read is the largest part of an
    export's time, so it skips what costs without serving: SQLAlchemy's row objects and result
    processing (the driver's own cursor instead), and ORDER BY, which makes SQLite copy every row,
    texts included, into a temporary B-tree (sorting the ids here is cheaper)."""
    pairs = ExportRows.from_rows(fetch_all_raw(session, _PAIRS_SQL.format(param=driver_param(session)), (dataset_id,)))
    ids = np.asarray(pairs.ids, dtype=np.int64)
    if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
        pairs = pairs.take(np.argsort(ids, kind="stable").tolist())
    if any(pairs.histories):
        pairs.histories = [(orjson.loads(h) or None) if h else None for h in pairs.histories]
        pairs.tools = _tool_definitions(session, pairs)
    if pairs.kto_labels.count(None) != len(pairs.kto_labels):  # SQLite gives 0/1
        pairs.kto_labels = [None if k is None else bool(k) for k in pairs.kto_labels]
    return pairs


def _tool_definitions(session: Session, pairs: ExportRows) -> dict[int, list]:
    """The `tools` an import kept in the metadata of the few pairs whose earlier turns call tools (read
    only for them: metadata is not otherwise part of an export)."""
    calling = [i for i, h in zip(pairs.ids, pairs.histories) if h and any(m.get("tool_calls") for m in h)]
    found: dict[int, list] = {}
    for start in range(0, len(calling), 500):
        chunk = calling[start:start + 500]
        for example_id, metadata in session.execute(
                select(Example.id, Example.meta).where(Example.id.in_(chunk))):
            tools = (metadata or {}).get("tools")
            if isinstance(tools, list) and tools:
                found[example_id] = tools
    return found


def open_findings(session: Session, dataset_id: int, checks: list[str]) -> dict[int, set[str]]:
    if not checks:
        return {}
    found: dict[int, set[str]] = defaultdict(set)
    for example_id, check in session.execute(
        select(Finding.example_id, Finding.check).where(
            Finding.dataset_id == dataset_id, Finding.status == FindingStatus.open, Finding.check.in_(checks))):
        found[example_id].add(check)
    return found


# Each finding's `duplicate_of` (an integer, else the finding is no edge) taken out by the database: decoding
# every details JSON through SQLAlchemy cost ~0.09 s for the 15,000 duplicate findings of 50,000 pairs.
_EDGES_SQL = {
    "sqlite": "SELECT example_id, json_extract(details, '$.duplicate_of') FROM findings "
              "WHERE dataset_id = ? AND \"check\" IN ({checks}) AND status != ? "
              "AND json_type(details, '$.duplicate_of') = 'integer'",
    "postgresql": "SELECT example_id, CAST(details ->> 'duplicate_of' AS BIGINT) FROM findings "
                  "WHERE dataset_id = %s AND \"check\" IN ({checks}) AND status != %s "
                  "AND json_typeof(details -> 'duplicate_of') = 'number' "
                  "AND (details ->> 'duplicate_of') ~ '^-?[0-9]+$'",
}


def duplicate_edges(session: Session, dataset_id: int) -> list[tuple[int, int]]:
    """(example id, the id it duplicates) of every finding of a cluster-forming check (exact and near
    duplicates; a conflicting_output finding names no `duplicate_of`) not dismissed."""
    sql = _EDGES_SQL[session.connection().dialect.name]
    sql = sql.format(checks=", ".join([driver_param(session)] * len(CLUSTER_CHECKS)))
    return fetch_all_raw(session, sql, (dataset_id, *CLUSTER_CHECKS, FindingStatus.dismissed.value))


def near_duplicate_threshold(dataset: Dataset, model: str | None = None) -> float:
    """The dataset's near-duplicate threshold, wherever the settings keep it, else the embedding model's own."""
    settings = dataset.settings or {}
    candidates = [settings.get("near_duplicate_threshold"), (settings.get("near_duplicate") or {}).get("threshold"),
                  ((settings.get("checks") or {}).get("near_duplicate") or {}).get("threshold")]
    for value in candidates:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1:
            return float(value)
    return thresholds.near_duplicate_threshold(model or "")


def select_pairs(session: Session, dataset: Dataset, params: ExportParams) -> Selection:
    """The pairs the export keeps, their labels and split groups, and what was left out and why."""
    if dataset.role == DatasetRole.reference:
        raise Conflict(f"dataset '{dataset.name}' is a reference set (an eval or test set): it is never exported "
                       "as training data", field="role")
    pairs = load_pairs(session, dataset.id)
    n = len(pairs)
    ids = np.asarray(pairs.ids, dtype=np.int64)  # sorted
    included = np.fromiter(map(set(params.include_status).__contains__, pairs.statuses), dtype=bool, count=n)
    by_status = Counter(pick(pairs.statuses, np.nonzero(~included)[0].tolist()))
    flagged = open_findings(session, dataset.id, params.exclude_checks)
    flagged_positions = positions_of(ids, list(flagged))
    by_check: Counter = Counter()
    dropped_by_check = 0
    for i in flagged_positions.tolist():
        if included[i]:
            by_check.update(flagged[pairs.ids[i]])
            dropped_by_check += 1
    included[flagged_positions] = False
    unpaired = 0
    if FORMATS[params.format].needs_pairs:  # an unpaired KTO example has no rejected side to write
        paired = np.fromiter((r is not None for r in pairs.rejecteds), dtype=bool, count=n)
        unpaired = int((included & ~paired).sum())
        included &= paired

    # Duplicate clusters over every example, so members stay linked through an excluded representative.
    edges = np.array(duplicate_edges(session, dataset.id), dtype=np.int64).reshape(-1, 2)
    edge_positions = np.stack([positions_of(ids, edges[:, 0], keep_missing=True),
                               positions_of(ids, edges[:, 1], keep_missing=True)], axis=1)
    edge_positions = edge_positions[(edge_positions >= 0).all(axis=1)]
    cluster_of = connected_groups(n, edge_positions.tolist())
    selected = np.nonzero(included)[0]
    rows = pairs if len(selected) == n else pairs.take(selected.tolist())
    clusters = cluster_of[selected]
    dropped_by_dedupe = 0
    if params.dedupe == "keep_one" and len(rows):
        accepted = np.fromiter(map("accepted".__eq__, rows.statuses), dtype=bool, count=len(rows))
        # Duplicates of a preference pair are the same answers to a duplicate prompt: one prompt has many pairs.
        same = preference_duplicates(rows, clusters) if rows.is_preference() else clusters
        keep = pick_representatives(same, accepted, rows.outputs, rows.ids)
        dropped_by_dedupe = int((~keep).sum())
        if dropped_by_dedupe:
            rows = rows.take(np.nonzero(keep)[0].tolist())
            clusters = clusters[keep]

    # Split groups: duplicate clusters joined with identical normalised inputs.
    groups = groups_sharing_keys(clusters, rows.input_hashes)
    excluded = {"total": sum(by_status.values()) + dropped_by_check + dropped_by_dedupe + unpaired,
                "by_status": dict(sorted(by_status.items())), "by_check": dict(sorted(by_check.items())),
                "by_check_examples": dropped_by_check, "dedupe": dropped_by_dedupe}
    if unpaired:
        excluded["unpaired"] = unpaired
    labels = [UNLABELLED if label is None else label for label in rows.labels]
    return Selection(rows=rows, labels=labels, groups=groups, excluded=excluded)


def preference_duplicates(rows: ExportRows, clusters: np.ndarray) -> np.ndarray:
    """Cluster codes for deduplicating preference pairs: a duplicate-prompt cluster AND the same normalised
    chosen, rejected and KTO label. Split groups still follow the prompt clusters alone."""
    keys = zip(clusters.tolist(), map(normalise, rows.outputs),
               (None if r is None else normalise(r) for r in rows.rejecteds), rows.kto_labels)
    codes: dict = {}
    return np.fromiter((codes.setdefault(key, len(codes)) for key in keys), dtype=np.int64, count=len(rows))


_MODELS_SQL = "SELECT e.model, COUNT(*) FROM embeddings e JOIN examples x ON x.id = e.example_id " \
              "WHERE x.dataset_id = {param} GROUP BY e.model"
# By the range of the wanted ids, as vector_identities reads (app/services/embeddings_store.py).
_VECTORS_SQL = "SELECT example_id, id, text_hash, vector FROM embeddings WHERE model = {param} " \
               "AND example_id BETWEEN {param} AND {param}"
_VECTORS_OF_SQL = "SELECT example_id, id, text_hash, vector FROM embeddings WHERE model = {param} " \
                  "AND example_id IN ({params})"
FEW_VECTORS = 2000  # up to this many wanted vectors are read by id (IN lists), more by id range
IN_LIST = 500


def _vectors_of(session: Session, model: str, ids: np.ndarray, embedding_ids: np.ndarray,
                text_hashes: np.ndarray) -> np.ndarray:
    """The stored vectors (raw float32) of these ids, each still the row of the given identity; if one
    was replaced (an analysis writing meanwhile), VectorsChanged."""
    param = driver_param(session)
    if len(ids) <= FEW_VECTORS:
        rows = []
        for start in range(0, len(ids), IN_LIST):
            chunk = ids[start:start + IN_LIST].tolist()
            sql = _VECTORS_OF_SQL.format(param=param, params=", ".join([param] * len(chunk)))
            rows += fetch_all_raw(session, sql, (model, *chunk), binary=True)
    else:
        rows = fetch_all_raw(session, _VECTORS_SQL.format(param=param), (model, int(ids.min()), int(ids.max())),
                          binary=True)
    found = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    at = row_positions(found, ids)
    if (at < 0).any():
        raise VectorsChanged(f"{int((at < 0).sum())} vectors were removed")
    picked = [rows[r] for r in at.tolist()]
    now_ids, now_hashes = aligned_identities(picked, ids)
    if not ((now_ids == embedding_ids) & (now_hashes == text_hashes)).all():
        raise VectorsChanged("vectors were replaced")
    blobs = [row[3] for row in picked]
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), len(blobs[0]) // 4)


def _model_with_most_vectors(session: Session, dataset_id: int) -> str | None:
    counts = fetch_all_raw(session, _MODELS_SQL.format(param=driver_param(session)), (dataset_id,))
    return min(counts, key=lambda row: (-row[1], row[0]))[0] if counts else None


def near_search(session: Session, dataset: Dataset, ids: Sequence[int], settings: Settings,
                read_vectors_at_once: bool = False) -> NearSearch | None:
    """The near-duplicate search over the stored vectors of the model most examples have, with the last
    analysis's neighbour graph; None without stored vectors. With a graph of that model it reads each
    item's row identity now and vectors only when a search needs them (the read transaction stays open
    meanwhile); without one, or with `read_vectors_at_once`, the vectors and identities in one statement."""
    model = _model_with_most_vectors(session, dataset.id)
    ids = np.asarray(ids, dtype=np.int64)
    if model is None or not len(ids):
        return None
    threshold = near_duplicate_threshold(dataset, model)
    graph = neighbour_graph.load(neighbour_graph.analysis_cache_dir(settings.data_dir, dataset.id))
    if graph is None or graph.model != model or read_vectors_at_once:
        param = driver_param(session)
        rows = fetch_all_raw(session, _VECTORS_SQL.format(param=param), (model, int(ids.min()), int(ids.max())),
                          binary=True)
        embedding_ids, text_hashes = aligned_identities(rows, ids)
        if (embedding_ids == NO_VECTOR).all():
            return None
        row_of = row_positions(np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)), ids)
        vectors = _LazyBlobs([row[3] for row in rows], row_of)
        return NearSearch(ids, model, StoredVectors(embedding_ids, text_hashes, vectors.take), threshold, graph)
    embedding_ids, text_hashes = vector_identities(session, model, ids)
    if (embedding_ids == NO_VECTOR).all():
        return None

    def load(positions: np.ndarray) -> np.ndarray:
        return _vectors_of(session, model, ids[positions], embedding_ids[positions], text_hashes[positions])

    return NearSearch(ids, model, StoredVectors(embedding_ids, text_hashes, load), threshold, graph)


class _LazyBlobs:
    """Vectors as the database returned them (one bytes object each), joined into arrays only for the
    positions asked: joining 50,000 of them into one matrix costs more than the graph-based check."""

    def __init__(self, blobs: list[bytes], row_of: np.ndarray) -> None:
        self.blobs, self.row_of = blobs, row_of

    def take(self, positions: np.ndarray) -> np.ndarray:
        rows = self.row_of[positions].tolist()
        return np.frombuffer(b"".join([self.blobs[r] for r in rows]), dtype=np.float32).reshape(
            len(rows), len(self.blobs[rows[0]]) // 4)
