"""Exports: select the pairs, split them without leakage, write the files and the manifest.

Selection order: status filter, then open findings of excluded checks, then dedupe. Duplicate
clusters come from the analysis findings (union of non-dismissed exact/near `duplicate_of` edges);
split groups are those clusters joined with identical normalised inputs, and, after a split, any
held-out example that still near-duplicates a train example is joined to it and the split redone.
"""

import shutil
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import func, select, text
from sqlmodel import Session

from app.checks.clusters import NEAR_DEFAULTS
from app.config import Settings
from app.errors import InvalidInput, NotFound
from app.exports import FORMATS, ExportRow
from app.exports.card import render_card
from app.db import end_read_transaction
from app.embeddings.tokenizer import count_tokens_cached, token_cache_path, training_text
from app.exports.files import EXPORT_FILES, SPLIT_FILES, build_zip, token_stats, write_jsonl, write_text
from app.exports.leakage import check_leakage
from app.exports.splits import (SPLIT_NAMES, UNLABELLED, SplitPlan, assign_splits, connected_groups,
                                groups_sharing_keys, pick_representatives)
from app.models import Dataset, Embedding, Example, Export, Finding, FindingStatus, Job, JobKind, JobStatus
from app.schemas.export import ExportParams, ExportPublic, SplitPreview
from app.services.datasets import get_dataset
from app.services.embeddings_store import load_vectors
from app.services.common import get_or_404

DUPLICATE_CHECKS = ("exact_duplicate", "near_duplicate")
DEFAULT_NEAR_DUPLICATE_THRESHOLD = float(NEAR_DEFAULTS["threshold"])  # the near_duplicate check's own default
MAX_RESPLITS = 5


@dataclass
class Selection:
    rows: list[ExportRow]
    labels: list[str]
    groups: np.ndarray
    excluded: dict
    plan: SplitPlan | None = None
    leakage: dict | None = None
    resplits: int = 0
    split_of: list[str] = field(default_factory=list)


_ROWS_SQL = ("SELECT id, system, input, output, {history}, label, weight, status, input_hash FROM examples "
             "WHERE dataset_id = :dataset_id ORDER BY id")


def _load_rows(session: Session, dataset_id: int) -> list[ExportRow]:
    """Every example of the dataset, in one SELECT. Plain SQL, without the column types' result
    processing, because this read is a third of an export's time."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    # SQLite hands the JSON column over as text, JSON null included; psycopg has decoded it already.
    sql = text(_ROWS_SQL.format(history="NULLIF(history, 'null')" if sqlite else "history"))
    rows = [ExportRow._make(r) for r in session.connection().execute(sql, {"dataset_id": dataset_id}).all()]
    for i, row in enumerate(rows):
        if row.history is not None:
            history = orjson.loads(row.history) if isinstance(row.history, (str, bytes)) else row.history
            rows[i] = row._replace(history=history or None)
    return rows


def _open_findings(session: Session, dataset_id: int, checks: list[str]) -> dict[int, set[str]]:
    if not checks:
        return {}
    found: dict[int, set[str]] = defaultdict(set)
    for example_id, check in session.execute(
        select(Finding.example_id, Finding.check).where(
            Finding.dataset_id == dataset_id, Finding.status == FindingStatus.open, Finding.check.in_(checks))):
        found[example_id].add(check)
    return found


def _duplicate_edges(session: Session, dataset_id: int) -> list[tuple[int, int]]:
    edges = []
    for example_id, details in session.execute(
        select(Finding.example_id, Finding.details).where(
            Finding.dataset_id == dataset_id, Finding.check.in_(DUPLICATE_CHECKS),
            Finding.status != FindingStatus.dismissed)):
        other = (details or {}).get("duplicate_of")
        if isinstance(other, int):
            edges.append((example_id, other))
    return edges


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


def _stored_vectors(session: Session, dataset_id: int, ids: list[int]):
    """(model, vectors aligned with ids, mask of ids that have one) from the embeddings table, or Nones."""
    model = session.execute(
        select(Embedding.model).join(Example, Example.id == Embedding.example_id)
        .where(Example.dataset_id == dataset_id).group_by(Embedding.model)
        .order_by(func.count().desc(), Embedding.model)).scalars().first()
    if model is None or not ids:
        return None, None, None
    found_ids, found = load_vectors(session, dataset_id, model)
    if len(found_ids) == 0:
        return None, None, None
    found = np.asarray(found, dtype=np.float32)
    position = {example_id: i for i, example_id in enumerate(np.asarray(found_ids).tolist())}
    vectors = np.zeros((len(ids), found.shape[1]), dtype=np.float32)
    has_vector = np.zeros(len(ids), dtype=bool)
    for i, example_id in enumerate(ids):
        j = position.get(example_id)
        if j is not None:
            vectors[i] = found[j]
            has_vector[i] = True
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return model, vectors, has_vector


def _select(session: Session, dataset: Dataset, params: ExportParams) -> Selection:
    rows = _load_rows(session, dataset.id)
    by_status = Counter(r.status for r in rows if r.status not in params.include_status)
    rows_in = [r for r in rows if r.status in params.include_status]
    flagged = _open_findings(session, dataset.id, params.exclude_checks)
    by_check = Counter(check for r in rows_in for check in flagged.get(r.id, ()))
    dropped_by_check = sum(1 for r in rows_in if r.id in flagged)
    rows_in = [r for r in rows_in if r.id not in flagged]

    # Duplicate clusters over every example, so members stay linked through an excluded representative.
    position = {r.id: i for i, r in enumerate(rows)}
    edges = [(position[a], position[b]) for a, b in _duplicate_edges(session, dataset.id)
             if a in position and b in position]
    cluster_of = connected_groups(len(rows), edges)
    clusters = np.array([cluster_of[position[r.id]] for r in rows_in], dtype=np.int64)
    dropped_by_dedupe = 0
    if params.dedupe == "keep_one" and rows_in:
        keep = pick_representatives(clusters, [r.status == "accepted" for r in rows_in],
                                    [len(r.output) for r in rows_in], [r.id for r in rows_in])
        dropped_by_dedupe = int((~keep).sum())
        rows_in = [r for r, k in zip(rows_in, keep.tolist()) if k]
        clusters = clusters[keep]

    # Split groups: duplicate clusters joined with identical normalised inputs.
    groups = groups_sharing_keys(clusters, [r.input_hash for r in rows_in])
    excluded = {"total": sum(by_status.values()) + dropped_by_check + dropped_by_dedupe,
                "by_status": dict(sorted(by_status.items())), "by_check": dict(sorted(by_check.items())),
                "by_check_examples": dropped_by_check, "dedupe": dropped_by_dedupe}
    labels = [r.label if r.label is not None else UNLABELLED for r in rows_in]
    return Selection(rows=rows_in, labels=labels, groups=groups, excluded=excluded)


def _split(selection: Selection, params: ExportParams) -> None:
    selection.plan = assign_splits(selection.labels, selection.groups, params.splits, params.seed)
    selection.split_of = selection.plan.assignment


def _split_without_leakage(session: Session, dataset: Dataset, selection: Selection, params: ExportParams) -> None:
    """Split, verify, and while a held-out input still repeats a train input, join the two and split again."""
    ids = [r.id for r in selection.rows]
    hashes = [r.input_hash for r in selection.rows]
    model, vectors, has_vector = _stored_vectors(session, dataset.id, ids)
    threshold = near_duplicate_threshold(dataset)
    extra_edges: list[tuple[int, int]] = []
    for attempt in range(MAX_RESPLITS + 1):
        _split(selection, params)
        report, leaks = check_leakage(selection.split_of, ids, hashes, vectors, has_vector, threshold, model)
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


def _counts(selection: Selection) -> dict:
    per_split = {s: Counter() for s in SPLIT_NAMES}
    for label, split in zip(selection.labels, selection.split_of):
        per_split[split][label] += 1
    totals = Counter(selection.labels)
    order = sorted(totals, key=lambda lab: (-totals[lab], lab))
    return {
        "total": len(selection.rows),
        "splits": {s: {"total": sum(per_split[s].values()),
                       "labels": {lab: per_split[s][lab] for lab in order if per_split[s][lab]}}
                   for s in SPLIT_NAMES},
        "labels": {lab: totals[lab] for lab in order},
    }


def preview_split_counts(session: Session, dataset_id: int, params: ExportParams) -> SplitPreview:
    """Counts per split and label for these parameters, without writing files or checking embeddings."""
    dataset = get_dataset(session, dataset_id)
    selection = _select(session, dataset, params)
    _split(selection, params)
    counts = _counts(selection)
    return SplitPreview(total=counts["total"], splits=counts["splits"], excluded=selection.excluded,
                        within_one_of_target=selection.plan.within_one)


def _token_section(selection: Selection, params: ExportParams, settings: Settings) -> dict:
    counts = count_tokens_cached([training_text(r.system, r.history, r.input, r.output) for r in selection.rows],
                                 token_cache_path(settings.data_dir))
    per_split = {s: [] for s in SPLIT_NAMES}
    for n, split in zip(counts, selection.split_of):
        per_split[split].append(n)
    stats = {s: token_stats(per_split[s]) for s in SPLIT_NAMES}
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
    dataset = get_dataset(session, dataset_id)
    selection = _select(session, dataset, params)
    if not selection.rows:
        raise InvalidInput("nothing to export: every example was left out by the filters "
                           f"(left out: {selection.excluded})", field="include_status")
    _split_without_leakage(session, dataset, selection, params)
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
    export_format = FORMATS[params.format]
    encode = export_format.encoder(selection.rows)
    order = np.random.default_rng(params.seed).permutation(len(selection.rows)).tolist()
    rows_of = {s: [] for s in SPLIT_NAMES}
    for i in order:  # a seeded shuffle, so no file is sorted by label or by duplicate group
        rows_of[selection.split_of[i]].append(selection.rows[i])
    files = {name: write_jsonl(folder / name, rows_of[name.removesuffix(".jsonl")], encode)
             for name in SPLIT_FILES}
    return WrittenSplits(files=files, tokens=_token_section(selection, params, settings),
                         example_ids={s: [r.id for r in rows_of[s]] for s in SPLIT_NAMES})


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
        "counts": _counts(selection),
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
