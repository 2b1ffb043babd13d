"""The analysis: start it as a job, and run it (embed what changed, index, checks, findings).

`run_analysis` is the job body. It never holds a transaction while it computes: it reads in one
short transaction, embeds batch by batch (one short transaction each), computes the checks with
no transaction open, and replaces the findings in ONE short transaction at the end.
"""

import time
import numpy as np
from sqlalchemy import select
from sqlmodel import Session

from app.checks.base import AnalysisContext, DatasetInfo, ExampleRow, FindingDraft
from app.checks.registry import effective_settings, enabled_checks, neighbours_needed
from app.config import Settings
from app.db import session_scope
from app.embeddings import get_embedder, neighbour_graph
from app.embeddings.target_tokenizer import cache_path, for_dataset
from app.errors import Conflict
from app.models import Dataset, Example, Job, JobKind
from app.services import embeddings_store, findings, jobs, projection, references
from app.progress import Progress
from app.services.datasets import get_dataset



def start_analysis(session: Session, dataset_id: int, run_by: str | None = None) -> Job:
    """Queue an analysis of the dataset; 409 if one is already queued or running.

    `run_by` (the CLI's runner owner) creates it as already running by that owner instead.

    The dataset row is locked (Postgres `SELECT ... FOR UPDATE`; SQLite transactions begin
    IMMEDIATE, i.e. with the write lock) so the check and the insert are atomic.
    """
    session.execute(select(Dataset.id).where(Dataset.id == dataset_id).with_for_update())
    dataset = get_dataset(session, dataset_id)
    effective_settings(dataset.settings)  # bad thresholds are a 422 now, not a failed job later
    running = jobs.active_job(session, dataset_id, JobKind.analyze)
    if running is not None:
        raise Conflict(f"dataset {dataset_id} is already being analysed (job {running.id}, {running.status})",
                       job_id=running.id)
    job = jobs.create_job(session, JobKind.analyze, dataset_id, params={"embedding_model": get_embedder().name},
                          run_by=run_by)
    if run_by is None:
        jobs.announce_after_commit(session)
    return job


def load_context(session: Session, dataset_id: int) -> AnalysisContext:
    dataset = get_dataset(session, dataset_id)
    rows = session.execute(
        select(Example.id, Example.input, Example.output, Example.label, Example.system, Example.history,
               Example.status, Example.input_hash, Example.version, Example.rejected, Example.kto_label)
        .where(Example.dataset_id == dataset_id).order_by(Example.id)
    ).all()
    return AnalysisContext(
        dataset=DatasetInfo(id=dataset.id, task_type=dataset.task_type, label_set=dataset.label_set,
                            output_schema=dataset.output_schema),
        examples=[ExampleRow(*row) for row in rows],
        settings=effective_settings(dataset.settings),
    )


def attach_vectors(ctx: AnalysisContext, ids: np.ndarray, vectors: np.ndarray) -> None:
    """Align stored vectors with ctx.examples (an example added meanwhile gets a zero row)."""
    if len(ctx.examples) == 0:
        ctx.vectors = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
        return
    position = {int(i): n for n, i in enumerate(ids)}
    dim = vectors.shape[1] if len(vectors) else 1
    aligned = np.zeros((len(ctx.examples), dim), dtype=np.float32)
    for row, example in enumerate(ctx.examples):
        n = position.get(example.id)
        if n is not None:
            aligned[row] = vectors[n]
    ctx.vectors = aligned


def load_comparisons(ctx: AnalysisContext, dataset_id: int, embedder) -> None:
    """What the checks compare this dataset against beyond itself: its reference sets (contamination) and,
    when asked, the other datasets' inputs (exact_duplicate across_datasets)."""
    wants_references = ctx.settings["contamination"]["enabled"] and ctx.settings["contamination"]["reference_datasets"]
    wants_across = ctx.settings["exact_duplicate"]["enabled"] and ctx.settings["exact_duplicate"]["across_datasets"]
    if not (wants_references or wants_across):
        return
    with session_scope() as session:
        if wants_references:
            ctx.references = references.load_references(session, ctx.settings, embedder, checkpoint=session.commit)
        if wants_across:
            ctx.across_datasets = references.across_datasets(session, dataset_id)


def save_neighbour_graph(ctx: AnalysisContext, identities: tuple[np.ndarray, np.ndarray]) -> None:
    """Keep the k-nearest-neighbour graph (computed by the checks, else now) for the exports' leakage check.
    `identities`: (embeddings row id, text hash) of each example's vector (`vector_identities`), read
    BEFORE the vectors, so that a vector replaced in between never matches the graph's identity."""
    sims, rows = ctx.neighbours
    neighbour_graph.save(ctx.cache_dir, neighbour_graph.build(ctx.embedding_model, ctx.ids, ctx.vectors, sims, rows,
                                                              *identities))


def run_checks(ctx: AnalysisContext, report: Progress | None = None,
               done_before: int = 0) -> tuple[list[FindingDraft], dict]:
    """Run every enabled check; progress counts one step per check after `done_before` steps."""
    drafts: list[FindingDraft] = []
    timings: dict[str, float] = {}
    checks = enabled_checks(ctx.settings, ctx.dataset.task_type)
    for step, check in enumerate(checks):
        if report:
            report(done_before + step, done_before + len(checks), f"running check {check.name}")
        started = time.perf_counter()
        drafts += check.run(ctx)
        timings[check.name] = round(time.perf_counter() - started, 3)
    return drafts, timings


def run_analysis(job_id: int, settings: Settings, report: Progress | None = None, batch_size: int = 256) -> dict:
    """The analysis job body; returns the job result."""
    started = time.perf_counter()
    with session_scope() as session:
        job = jobs.get_job(session, job_id)
        dataset_id = job.dataset_id
        model = job.params.get("embedding_model")
    embedder = get_embedder(model)
    with session_scope() as session:
        dataset = get_dataset(session, dataset_id)
        checks = enabled_checks(effective_settings(dataset.settings), dataset.task_type)
    steps = len(checks)
    needs_vectors = any(check.needs_embeddings for check in checks)
    embed_total, embedded = 0, 0

    def embedding_progress(done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        # Progress counts texts to embed, then one step per check.
        nonlocal embed_total
        embed_total = total
        if report:
            report(done, total + steps, f"embedding inputs: {done} of {total}")

    if needs_vectors:
        with session_scope() as session:
            embedded = embeddings_store.embed_missing(session, dataset_id, embedder, progress=embedding_progress,
                                                      batch_size=batch_size, checkpoint=session.commit)
    embed_seconds = time.perf_counter() - started
    with session_scope() as session:
        ctx = load_context(session, dataset_id)
        dataset_settings = get_dataset(session, dataset_id).settings
        if needs_vectors:
            identities = embeddings_store.vector_identities(session, embedder.name, [e.id for e in ctx.examples])
            ids, vectors = embeddings_store.load_vectors(session, dataset_id, embedder.name)
    if needs_vectors:
        attach_vectors(ctx, ids, vectors)
    load_comparisons(ctx, dataset_id, embedder if needs_vectors else None)
    ctx.embedding_model = embedder.name
    ctx.cache_dir = neighbour_graph.analysis_cache_dir(settings.data_dir, dataset_id)
    # Token counts (the format check's limit) with the dataset's target tokenizer, in its own cache.
    ctx.tokenizer = for_dataset(dataset_settings, settings)
    ctx.token_cache = cache_path(settings.data_dir, ctx.tokenizer)
    ctx.neighbours_k = neighbours_needed(ctx.settings)
    drafts, timings = run_checks(ctx, report, done_before=embed_total)
    if needs_vectors:
        save_neighbour_graph(ctx, identities)
    projection.save_health_arrays(ctx, settings.data_dir)  # the health page's map and length histograms
    if report:
        report(embed_total + steps, embed_total + steps, "saving findings")
    with session_scope() as session:
        saved = findings.replace_open_findings(session, dataset_id, drafts,
                                               {e.id: e.version for e in ctx.examples}, job_id)
    per_check: dict[str, int] = {}
    for draft in drafts:
        per_check[draft.check] = per_check.get(draft.check, 0) + 1
    return {
        "examples": len(ctx.examples), "embedded": embedded, "embedding_model": embedder.name,
        "findings": per_check, "open_findings": saved["open"], "kept_dismissed": saved["kept_dismissed"],
        "notes": ctx.notes, "seconds": {"embedding": round(embed_seconds, 3), **timings,
                                        "total": round(time.perf_counter() - started, 3)},
        "settings": ctx.settings,
    }
