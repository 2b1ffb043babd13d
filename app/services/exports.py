"""Exports: select the pairs, split them without leakage, write the files and the manifest.

Selection order: status filter, then open findings of excluded checks, then dedupe. Duplicate
clusters come from the analysis findings (union of non-dismissed exact/near `duplicate_of` edges);
split groups are those clusters joined with identical normalised inputs, and, after a split, any
held-out example that still near-duplicates a train example is joined to it and the split redone.
"""

import shutil
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import func, select
from sqlmodel import Session

from app.checks.clusters import NEAR_DEFAULTS
from app.config import Settings
from app.db import end_read_transaction
from app.embeddings import neighbour_graph
from app.embeddings.tokenizer import count_tokens_cached, token_cache_path, training_text
from app.errors import InvalidInput, NotFound
from app.exports import FORMATS, ExportRows
from app.exports.base import cyclic_gc_paused, pick, positions_of
from app.exports.card import render_card
from app.exports.files import EXPORT_FILES, build_zip, encode_lines, token_stats, write_jsonl, write_text
from app.exports.leakage import NearSearch, StoredVectors, check_leakage
from app.exports.splits import (
    SPLIT_NAMES,
    UNLABELLED,
    SplitPlan,
    assign_splits,
    connected_groups,
    groups_sharing_keys,
    pick_representatives,
    split_counts,
)
from app.models import Dataset, Export, Finding, FindingStatus, Job, JobKind, JobStatus
from app.schemas.export import ExportParams, ExportPublic, SplitPreview
from app.services.common import get_or_404
from app.services.datasets import get_dataset

DUPLICATE_CHECKS = ("exact_duplicate", "near_duplicate")
DEFAULT_NEAR_DUPLICATE_THRESHOLD = float(NEAR_DEFAULTS["threshold"])  # the near_duplicate check's own default
MAX_RESPLITS = 5


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


# history as text on both databases (JSON null as SQL NULL): psycopg would otherwise run json.loads on
# every row, JSON null included, a quarter of the read on Postgres; the few histories are decoded here.
_PAIRS_SQL = "SELECT id, system, input, output, NULLIF(CAST(history AS TEXT), 'null'), label, weight, status, " \
             "input_hash FROM examples WHERE dataset_id = {param}"


def _load_pairs(session: Session, dataset_id: int) -> ExportRows:
    """Every example of the dataset, in id order, as columns. This read is the largest part of an
    export's time, so it skips what costs without serving: SQLAlchemy's row objects and result
    processing (the driver's own cursor instead), and ORDER BY, which makes SQLite copy every row,
    texts included, into a temporary B-tree (sorting the ids here is cheaper)."""
    connection = session.connection()
    sql = _PAIRS_SQL.format(param="?" if connection.dialect.paramstyle == "qmark" else "%s")
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, (dataset_id,))
        pairs = ExportRows.from_rows(cursor.fetchall())
    finally:
        cursor.close()
    ids = np.asarray(pairs.ids, dtype=np.int64)
    if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
        pairs = pairs.take(np.argsort(ids, kind="stable").tolist())
    if any(pairs.histories):
        pairs.histories = [(orjson.loads(h) or None) if h else None for h in pairs.histories]
    return pairs


def _open_findings(session: Session, dataset_id: int, checks: list[str]) -> dict[int, set[str]]:
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
              "WHERE dataset_id = ? AND \"check\" IN (?, ?) AND status != ? "
              "AND json_type(details, '$.duplicate_of') = 'integer'",
    "postgresql": "SELECT example_id, CAST(details ->> 'duplicate_of' AS BIGINT) FROM findings "
                  "WHERE dataset_id = %s AND \"check\" IN (%s, %s) AND status != %s "
                  "AND json_typeof(details -> 'duplicate_of') = 'number' "
                  "AND (details ->> 'duplicate_of') ~ '^-?[0-9]+$'",
}


def _duplicate_edges(session: Session, dataset_id: int) -> list[tuple[int, int]]:
    """(example id, the id it duplicates) of every exact or near-duplicate finding not dismissed."""
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_EDGES_SQL[connection.dialect.name],
                       (dataset_id, *DUPLICATE_CHECKS, FindingStatus.dismissed.value))
        return cursor.fetchall()
    finally:
        cursor.close()


def latest_analysis_job(session: Session, dataset_id: int) -> Job | None:
    return session.scalars(
        select(Job).where(Job.dataset_id == dataset_id, Job.kind == JobKind.analyze,
                          Job.status == JobStatus.succeeded).order_by(Job.finished_at.desc(), Job.id.desc())
    ).first()


def near_duplicate_threshold(dataset: Dataset) -> float:
    """The dataset's near-duplicate threshold, wherever the settings keep it, else the default."""
    settings = dataset.settings or {}
    candidates = [settings.get("near_duplicate_threshold"), (settings.get("near_duplicate") or {}).get("threshold"),
                  ((settings.get("checks") or {}).get("near_duplicate") or {}).get("threshold")]
    for value in candidates:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1:
            return float(value)
    return DEFAULT_NEAR_DUPLICATE_THRESHOLD


# Raw driver cursors, as in _load_pairs: 50,000 vectors through SQLAlchemy's rows cost several times the read.
_MODELS_SQL = "SELECT e.model, COUNT(*) FROM embeddings e JOIN examples x ON x.id = e.example_id " \
              "WHERE x.dataset_id = {param} GROUP BY e.model"
# By the range of the selected ids (the unique index's order) rather than a join with examples: a
# fifth faster on SQLite, twice on Postgres; vectors of other examples in the range are ignored.
_VECTORS_SQL = "SELECT example_id, vector FROM embeddings WHERE model = {param} " \
               "AND example_id BETWEEN {param} AND {param}"


def _stored_vectors(session: Session, dataset_id: int, ids: Sequence[int]):
    """(model, vectors as stored, each id's row in them or -1) for the model most examples have, or Nones."""
    connection = session.connection()
    param = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_MODELS_SQL.format(param=param), (dataset_id,))
        counts = cursor.fetchall()
        if not counts or not ids:
            return None, None, None
        model = min(counts, key=lambda row: (-row[1], row[0]))[0]
        # psycopg sends bytea as hex text unless asked for binary: twice the bytes, then decoded (3x the time).
        binary = {} if connection.dialect.name == "sqlite" else {"binary": True}
        cursor.execute(_VECTORS_SQL.format(param=param), (model, min(ids), max(ids)), **binary)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    found_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    order = np.argsort(found_ids, kind="stable")
    at = positions_of(found_ids[order], ids, keep_missing=True)
    if not (at >= 0).any():
        return None, None, None
    vectors = StoredVectors([row[1] for row in rows], dim=len(rows[0][1]) // 4)
    return model, vectors, np.where(at >= 0, order[np.clip(at, 0, None)], -1)


def _near_search(session: Session, dataset: Dataset, ids: Sequence[int], settings: Settings) -> NearSearch | None:
    """The near-duplicate search over the stored vectors, with the last analysis's neighbour graph."""
    model, vectors, row_of = _stored_vectors(session, dataset.id, ids)
    if model is None:
        return None
    graph = neighbour_graph.load(neighbour_graph.analysis_cache_dir(settings.data_dir, dataset.id))
    return NearSearch(ids, model, vectors, row_of, near_duplicate_threshold(dataset), graph)


def _select(session: Session, dataset: Dataset, params: ExportParams) -> Selection:
    pairs = _load_pairs(session, dataset.id)
    n = len(pairs)
    ids = np.asarray(pairs.ids, dtype=np.int64)  # sorted
    included = np.fromiter(map(set(params.include_status).__contains__, pairs.statuses), dtype=bool, count=n)
    by_status = Counter(pick(pairs.statuses, np.nonzero(~included)[0].tolist()))
    flagged = _open_findings(session, dataset.id, params.exclude_checks)
    flagged_positions = positions_of(ids, list(flagged))
    by_check: Counter = Counter()
    dropped_by_check = 0
    for i in flagged_positions.tolist():
        if included[i]:
            by_check.update(flagged[pairs.ids[i]])
            dropped_by_check += 1
    included[flagged_positions] = False

    # Duplicate clusters over every example, so members stay linked through an excluded representative.
    edges = np.array(_duplicate_edges(session, dataset.id), dtype=np.int64).reshape(-1, 2)
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
        keep = pick_representatives(clusters, accepted, rows.outputs, rows.ids)
        dropped_by_dedupe = int((~keep).sum())
        if dropped_by_dedupe:
            rows = rows.take(np.nonzero(keep)[0].tolist())
            clusters = clusters[keep]

    # Split groups: duplicate clusters joined with identical normalised inputs.
    groups = groups_sharing_keys(clusters, rows.input_hashes)
    excluded = {"total": sum(by_status.values()) + dropped_by_check + dropped_by_dedupe,
                "by_status": dict(sorted(by_status.items())), "by_check": dict(sorted(by_check.items())),
                "by_check_examples": dropped_by_check, "dedupe": dropped_by_dedupe}
    labels = [UNLABELLED if label is None else label for label in rows.labels]
    return Selection(rows=rows, labels=labels, groups=groups, excluded=excluded)


def _split(selection: Selection, params: ExportParams) -> None:
    selection.plan = assign_splits(selection.labels, selection.groups, params.splits, params.seed)
    selection.split_codes = selection.plan.codes


def _split_without_leakage(session: Session, dataset: Dataset, selection: Selection, params: ExportParams,
                           settings: Settings) -> None:
    """Split, verify, and while a held-out input still repeats a train input, join the two and split again."""
    ids = selection.rows.ids
    hashes = selection.rows.input_hashes
    near_search = _near_search(session, dataset, ids, settings)
    threshold = near_duplicate_threshold(dataset)
    extra_edges: list[tuple[int, int]] = []
    for attempt in range(MAX_RESPLITS + 1):
        _split(selection, params)
        report, leaks = check_leakage(selection.split_codes, ids, hashes, near_search, threshold)
        if not leaks or attempt == MAX_RESPLITS:
            break
        extra_edges += leaks
        # Existing membership (each item to its group's first item) plus the leak edges.
        first_in_group: dict[int, int] = {}
        edges = [(i, first_in_group.setdefault(g, i)) for i, g in enumerate(selection.groups.tolist())]
        selection.groups = connected_groups(len(ids), edges + extra_edges)
        selection.resplits = attempt + 1
    report["resplits"] = selection.resplits
    selection.leakage = report


def preview_split_counts(session: Session, dataset_id: int, params: ExportParams) -> SplitPreview:
    """Counts per split and label for these parameters, without writing files or checking embeddings."""
    dataset = get_dataset(session, dataset_id)
    with cyclic_gc_paused():
        selection = _select(session, dataset, params)
        _split(selection, params)
        counts = split_counts(selection.labels, selection.split_codes)
    return SplitPreview(total=counts["total"], splits=counts["splits"], excluded=selection.excluded,
                        within_one_of_target=selection.plan.within_one)


def _token_section(selection: Selection, params: ExportParams, settings: Settings) -> dict:
    rows = selection.rows
    texts = list(map(training_text, rows.systems, rows.histories, rows.inputs, rows.outputs))
    counts = np.asarray(count_tokens_cached(texts, token_cache_path(settings.data_dir)), dtype=np.int64)
    stats = {s: token_stats(counts[selection.split_codes == k]) for k, s in enumerate(SPLIT_NAMES)}
    return {"tokenizer": "the embedding model's tokenizer (all-MiniLM-L6-v2 WordPiece, special tokens excluded)",
            "splits": stats, "epochs": params.epochs,
            "estimated_training_tokens": stats["train"]["total"] * params.epochs}


def export_folder(settings: Settings, export: Export) -> Path:
    return settings.data_dir / (export.path or f"exports/{export.id}")


def create_export(session: Session, dataset_id: int, params: ExportParams, settings: Settings) -> Export:
    """Select, split, verify and write an export synchronously; the Export row is flushed, not committed.

    Three steps, so that the database is locked only briefly (on SQLite every transaction holds the
    write lock, and a 50,000-pair export computes for longer than the 30 s busy timeout):
    1. read the selection, the embeddings and the analysis job in the open transaction;
    2. end that read-only transaction, then count tokens and write the split files into a staging
       folder with no transaction open;
    3. in a new short transaction, insert the Export row, write the manifest and the dataset card
       (they name the export's id) and move the staging folder to exports/<id>.
    """
    with cyclic_gc_paused():
        return _create_export(session, dataset_id, params, settings)


def _create_export(session: Session, dataset_id: int, params: ExportParams, settings: Settings) -> Export:
    dataset = get_dataset(session, dataset_id)
    selection = _select(session, dataset, params)
    if not selection.rows:
        raise InvalidInput("nothing to export: every example was left out by the filters "
                           f"(left out: {selection.excluded})", field="include_status")
    _split_without_leakage(session, dataset, selection, params, settings)
    analysis = latest_analysis_job(session, dataset_id)
    end_read_transaction(session)

    staging = settings.data_dir / "exports" / f".staging-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        written = _write_split_files(staging, selection, params, settings)
        # The new transaction; a dataset deleted meanwhile is a 404, not a foreign-key error.
        if session.scalar(select(Dataset.id).where(Dataset.id == dataset_id)) is None:
            raise NotFound(f"dataset {dataset_id} not found")
        export = Export(dataset_id=dataset_id, status="running", format=params.format, params=params.model_dump())
        session.add(export)
        session.flush()
        export.path = f"exports/{export.id}"
        export.manifest = _write_manifest(staging, export, dataset, selection, params, analysis, written)
        folder = export_folder(settings, export)
        if folder.exists():  # an id reused after a rolled-back export (SQLite) left files behind
            shutil.rmtree(folder)
        staging.replace(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    export.status = "succeeded"
    session.add(export)
    session.flush()
    return export


@dataclass
class WrittenSplits:
    files: dict
    tokens: dict
    example_ids: dict


def _write_split_files(folder: Path, selection: Selection, params: ExportParams, settings: Settings) -> WrittenSplits:
    rows = selection.rows
    lines = encode_lines(rows, FORMATS[params.format].encoder(rows))
    # A seeded shuffle, so that no file is sorted by label or by duplicate group.
    order = np.random.default_rng(params.seed).permutation(len(rows))
    positions = {split: order[selection.split_codes[order] == k].tolist() for k, split in enumerate(SPLIT_NAMES)}
    # Files are joined, hashed and written in a second thread while this one counts tokens.
    with ThreadPoolExecutor(max_workers=1) as pool:
        writing = {split: pool.submit(write_jsonl, folder / f"{split}.jsonl", pick(lines, positions[split]))
                   for split in SPLIT_NAMES}
        tokens = _token_section(selection, params, settings)
        files = {f"{split}.jsonl": job.result() for split, job in writing.items()}
    return WrittenSplits(files=files, tokens=tokens,
                         example_ids={split: list(pick(rows.ids, positions[split])) for split in SPLIT_NAMES})


def _write_manifest(folder: Path, export: Export, dataset: Dataset, selection: Selection, params: ExportParams,
                    analysis: Job | None, written: WrittenSplits) -> dict:
    export_format = FORMATS[params.format]
    plan = selection.plan
    files = dict(written.files)
    manifest = {
        "winnow_export_version": 1,
        "export_id": export.id,
        "created_at": export.created_at.isoformat(),
        "dataset": {"id": dataset.id, "name": dataset.name, "task_type": dataset.task_type},
        "format": {"name": export_format.name, "keys": list(export_format.keys),
                   "description": export_format.description},
        "params": params.model_dump(),
        "seed": params.seed,
        "analysis_job_id": analysis.id if analysis else None,
        "analysis_finished_at": analysis.finished_at.isoformat() if analysis and analysis.finished_at else None,
        "counts": split_counts(selection.labels, selection.split_codes),
        "stratification": {"max_deviation_from_target": round(plan.max_deviation, 4),
                           "within_one_of_target": plan.within_one, "notes": plan.notes,
                           "targets": {s: {lab: round(t, 3) for lab, t in plan.targets[s].items()}
                                       for s in SPLIT_NAMES}},
        "excluded": selection.excluded,
        "leakage": selection.leakage,
        "tokens": written.tokens,
        "example_ids": written.example_ids,
        "files": files,
    }
    files["README.md"] = write_text(folder / "README.md", render_card(manifest))
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


def get_export(session: Session, export_id: int) -> Export:
    return get_or_404(session, Export, export_id, "export")


def list_exports(session: Session, dataset_id: int, *, limit: int, offset: int) -> tuple[list[Export], int]:
    get_dataset(session, dataset_id)
    total = session.scalar(select(func.count()).select_from(Export).where(Export.dataset_id == dataset_id)) or 0
    items = session.scalars(select(Export).where(Export.dataset_id == dataset_id)
                            .order_by(Export.id.desc()).limit(limit).offset(offset)).all()
    return list(items), total


def export_file(session: Session, export_id: int, name: str, settings: Settings) -> Path:
    """The path of one of the export's files; any name outside the fixed list is refused (no traversal)."""
    if name not in EXPORT_FILES:
        raise NotFound(f"export files are: {', '.join(EXPORT_FILES)}", field="name")
    export = get_export(session, export_id)
    folder = export_folder(settings, export)
    if export.status != "succeeded" or not folder.is_dir():
        raise NotFound(f"export {export_id} has no files (status {export.status})")
    path = build_zip(folder) if name == "all.zip" else folder / name
    if not path.is_file():
        raise NotFound(f"export {export_id} has no file {name}")
    return path


def to_public(export: Export, *, with_example_ids: bool = True) -> ExportPublic:
    """The export; a listing leaves out the example ids (up to one per example) from each manifest."""
    manifest = export.manifest
    if manifest and not with_example_ids:
        manifest = {k: v for k, v in manifest.items() if k != "example_ids"}
    return ExportPublic(id=export.id, dataset_id=export.dataset_id, status=export.status, format=export.format,
                        params=export.params, manifest=manifest,
                        files=list(EXPORT_FILES) if export.status == "succeeded" else [],
                        created_at=export.created_at)
