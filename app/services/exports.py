"""Exports: select the pairs, split them without leakage, write the files and the manifest.

What an export reads (pairs, findings, stored vectors) and how it selects is in
`app/services/export_selection.py`. After a split, any held-out example that still duplicates or
near-duplicates a train example is joined to it and the split redone.
"""

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import func, select
from sqlmodel import Session

from app.config import Settings
from app.db import end_read_transaction
from app.embeddings.tokenizer import training_text
from app.errors import InvalidInput, NotFound
from app.exports import FORMATS
from app.exports.base import cyclic_gc_paused, pick
from app.exports.card import render_card
from app.exports.files import EXPORT_FILES, build_zip, encode_lines, token_stats, write_jsonl, write_text
from app.exports.leakage import NearSearch, VectorsChanged, check_leakage
from app.exports.splits import SPLIT_NAMES, assign_splits, connected_groups, split_counts
from app.models import Dataset, Export, Job, JobKind, JobStatus
from app.schemas.export import ExportParams, ExportPublic, SplitPreview
from app.services import jobs
from app.services.common import get_or_not_found
from app.services.datasets import get_dataset
from app.embeddings.target_tokenizer import (
    TargetTokenizer,
    TokenizerUnavailable,
    cache_path,
    count_cached,
    for_dataset,
)
from app.services.export_budget import apply_budget
from app.services.export_selection import (
    Selection,
    near_duplicate_threshold,
    near_search,
    select_pairs,
)

MAX_RESPLITS = 5


def _split(selection: Selection, params: ExportParams) -> None:
    selection.plan = assign_splits(selection.labels, selection.groups, params.splits, params.seed)
    selection.split_codes = selection.plan.codes


def _split_without_leakage(session: Session, dataset: Dataset, selection: Selection, params: ExportParams,
                           settings: Settings) -> None:
    """Split, verify, and while a held-out input still repeats a train input, join the two and split again."""
    groups = selection.groups
    try:
        near = near_search(session, dataset, selection.rows.ids, settings)
        _split_and_check(selection, params, near, near.threshold if near else near_duplicate_threshold(dataset))
    except VectorsChanged:  # an analysis replaced vectors between two reads: again, reading them in one statement
        selection.groups, selection.resplits = groups, 0
        near = near_search(session, dataset, selection.rows.ids, settings, read_vectors_at_once=True)
        _split_and_check(selection, params, near, near.threshold if near else near_duplicate_threshold(dataset))


def _split_and_check(selection: Selection, params: ExportParams, near: NearSearch | None, threshold: float) -> None:
    ids = selection.rows.ids
    hashes = selection.rows.input_hashes
    for attempt in range(MAX_RESPLITS + 1):
        _split(selection, params)
        report, leaks = check_leakage(selection.split_codes, ids, hashes, near, threshold)
        if not leaks or attempt == MAX_RESPLITS:
            break
        # The leaks join whole groups: components over the groups. Groups are numbered in the order of
        # their first item, and so are the components, as if computed over the items (without walking them).
        leaking = selection.groups[np.asarray(leaks, dtype=np.int64).reshape(-1, 2)]
        joined = connected_groups(int(selection.groups.max()) + 1, leaking.tolist())
        selection.groups = joined[selection.groups]
        selection.resplits = attempt + 1
    report["resplits"] = selection.resplits
    selection.leakage = report


def preview_split_counts(session: Session, dataset_id: int, params: ExportParams) -> SplitPreview:
    """Counts per split and label for these parameters, without writing files or checking embeddings."""
    dataset = get_dataset(session, dataset_id)
    check_format_fits(dataset, params.format)
    with cyclic_gc_paused():
        selection = select_pairs(session, dataset, params)
        apply_budget(session, dataset, selection, params, compare=True)
        _split(selection, params)
        counts = split_counts(selection.labels, selection.split_codes)
    return SplitPreview(total=counts["total"], splits=counts["splits"], excluded=selection.excluded,
                        within_one_of_target=selection.plan.within_one, budget=selection.budget)


def _token_section(selection: Selection, params: ExportParams, settings: Settings,
                   tokenizer: TargetTokenizer) -> tuple[dict, np.ndarray]:
    rows = selection.rows
    texts = list(map(training_text, rows.systems, rows.histories, rows.inputs, rows.outputs))
    counts = np.asarray(count_cached(tokenizer, texts, cache_path(settings.data_dir, tokenizer)), dtype=np.int64)
    stats = {s: token_stats(counts[selection.split_codes == k]) for k, s in enumerate(SPLIT_NAMES)}
    return {"tokenizer": tokenizer.label, "tokenizer_name": tokenizer.name,
            "splits": stats, "epochs": params.epochs,
            "estimated_training_tokens": stats["train"]["total"] * params.epochs}, counts


def check_format_fits(dataset: Dataset, format: str) -> None:
    """A preference format needs a preference dataset (an SFT format may export a preference set's chosen answers)."""
    task_types = FORMATS[format].task_types
    if task_types is not None and dataset.task_type not in task_types:
        raise InvalidInput(f"format {format} exports preference pairs, but dataset '{dataset.name}' is a "
                           f"{dataset.task_type} dataset", field="format")


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
    check_format_fits(dataset, params.format)
    selection = select_pairs(session, dataset, params)
    apply_budget(session, dataset, selection, params)
    if not selection.rows:
        raise InvalidInput("nothing to export: every example was left out by the filters "
                           f"(left out: {selection.excluded})", field="include_status")
    try:
        tokenizer = for_dataset(dataset.settings, settings)
    except TokenizerUnavailable as exc:
        raise InvalidInput(str(exc), field="settings.tokenizer") from None
    _split_without_leakage(session, dataset, selection, params, settings)
    analysis = jobs.latest_job(session, dataset_id, JobKind.analyze, status=JobStatus.succeeded)
    end_read_transaction(session)

    staging = settings.data_dir / "exports" / f".staging-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        written = _write_split_files(staging, selection, params, settings, tokenizer)
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
    format_checks: dict | None = None


def _write_split_files(folder: Path, selection: Selection, params: ExportParams, settings: Settings,
                       tokenizer: TargetTokenizer) -> WrittenSplits:
    rows = selection.rows
    export_format = FORMATS[params.format]
    lines = encode_lines(rows, export_format.encoder(rows))
    # A seeded shuffle, so that no file is sorted by label or by duplicate group.
    order = np.random.default_rng(params.seed).permutation(len(rows))
    positions = {split: order[selection.split_codes[order] == k].tolist() for k, split in enumerate(SPLIT_NAMES)}
    # An empty split gets no file (the card and the manifest leave it out too): `datasets` refuses a
    # data_files entry that matches no data.
    present = [split for split in SPLIT_NAMES if positions[split]]
    # Files are joined, hashed and written in a second thread (hashing and writing release the GIL)
    # while this one counts tokens and checks the lines against the format's rules.
    checks = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        writing = {split: pool.submit(write_jsonl, folder / f"{split}.jsonl", pick(lines, positions[split]))
                   for split in present}
        tokens, counts = _token_section(selection, params, settings, tokenizer)
        if export_format.check_export is not None:
            checks = export_format.check_export({split: pick(lines, positions[split]) for split in present},
                                                {split: list(pick(rows.ids, positions[split])) for split in present},
                                                {split: counts[positions[split]] for split in present},
                                                tokens["tokenizer"])
        files = {f"{split}.jsonl": job.result() for split, job in writing.items()}
    return WrittenSplits(files=files, tokens=tokens,
                         example_ids={split: list(pick(rows.ids, positions[split])) for split in SPLIT_NAMES},
                         format_checks=checks)


# Fewer held-out examples than this measure nothing: the export answer says so.
TINY_SPLIT = 10


def split_warnings(params: ExportParams, counts: dict) -> list[str]:
    """What a user should know about the splits before training: an asked-for split left empty, or one
    too small to measure anything."""
    warnings = []
    for split in SPLIT_NAMES:
        ratio, total = params.splits.get(split, 0.0), counts["splits"][split]["total"]
        if ratio > 0 and total == 0:
            warnings.append(f"the {split} split is empty ({ratio:g} of {counts['total']} example(s) rounds to 0): "
                            f"no {split}.jsonl was written")
        elif 0 < total < TINY_SPLIT:
            warnings.append(f"the {split} split has only {total} example(s): too few to "
                            + ("train on" if split == "train" else "measure anything"))
    return warnings


def _write_manifest(folder: Path, export: Export, dataset: Dataset, selection: Selection, params: ExportParams,
                    analysis: Job | None, written: WrittenSplits) -> dict:
    export_format = FORMATS[params.format]
    plan = selection.plan
    files = dict(written.files)
    counts = split_counts(selection.labels, selection.split_codes)
    manifest = {
        "winnow_export_version": 1,
        "export_id": export.id,
        "created_at": export.created_at.isoformat(),
        "dataset": {"id": dataset.id, "name": dataset.name, "task_type": dataset.task_type},
        "format": {"name": export_format.name,
                   "keys": list(export_format.keys) + (list(export_format.optional_keys) if selection.rows.tools else []),
                   "description": export_format.description,
                   "read_by": list(export_format.read_by),
                   "not_carried": export_format.not_carried(selection.rows) if export_format.not_carried else []},
        "params": params.model_dump(),
        "seed": params.seed,
        "analysis_job_id": analysis.id if analysis else None,
        "analysis_finished_at": analysis.finished_at.isoformat() if analysis and analysis.finished_at else None,
        "counts": counts,
        "warnings": split_warnings(params, counts),
        "format_checks": written.format_checks,
        "stratification": {"max_deviation_from_target": round(plan.max_deviation, 4),
                           "within_one_of_target": plan.within_one, "notes": plan.notes,
                           "targets": {s: {lab: round(t, 3) for lab, t in plan.targets[s].items()}
                                       for s in SPLIT_NAMES}},
        "excluded": selection.excluded,
        "selection": selection.budget,
        "leakage": selection.leakage,
        "tokens": written.tokens,
        "example_ids": written.example_ids,
        "files": files,
    }
    files["README.md"] = write_text(folder / "README.md", render_card(manifest))
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


def get_export(session: Session, export_id: int) -> Export:
    return get_or_not_found(session, Export, export_id, "export")


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
    written = (export.manifest or {}).get("files", {})
    files = [name for name in EXPORT_FILES if name in written or name in ("manifest.json", "all.zip")]
    return ExportPublic(id=export.id, dataset_id=export.dataset_id, status=export.status, format=export.format,
                        params=export.params, manifest=manifest,
                        files=files if export.status == "succeeded" else [],
                        created_at=export.created_at)
