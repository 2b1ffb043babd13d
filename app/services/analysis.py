"""The analysis: start it as a job, and run it (embed what changed, index, checks, findings).

`run_analysis` is the job body. It never holds a transaction while it computes: it reads in one
short transaction, embeds batch by batch (one short transaction each), computes the checks with
no transaction open, and replaces the findings in ONE short transaction at the end.
"""

import sys
import time
from collections.abc import Callable

import numpy as np
from sqlalchemy import select
from sqlmodel import Session

from app.checks.base import AnalysisContext, DatasetInfo, ExampleRow, FindingDraft
from app.checks.registry import effective_settings, enabled_checks, neighbours_needed
from app.config import Settings
from app.db import session_scope
from app.embeddings import get_embedder, index, neighbour_graph, neighbour_update, vector_cache
from app.embeddings.target_tokenizer import cache_path, for_dataset
from app.errors import Conflict
from app.models import Dataset, Embedding, Example, Job, JobKind
from app.services import embeddings_store, findings, jobs, projection, references
from app.progress import Progress
from app.services.datasets import get_dataset

MESSAGE_INTERVAL = 1.0  # seconds between two progress messages of one stage (each is a database write)



class StageProgress:
    """Job messages that name the stage, how far it is (n of N) and the time it has left, e.g.
    "embedding: 120,000 of 1,000,000 texts, 3,150/s, about 4:39 left". The estimate is the stage's
    own rate so far (tqdm's interval formatting); messages of one stage come at most once a second."""

    def __init__(self, report: Progress | None) -> None:
        self.report = report
        self._stage = ""
        self._started = 0.0
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int, unit: str = "rows", job_done: int | None = None,
                 job_total: int | None = None) -> None:
        if self.report is None:
            return
        now = time.monotonic()
        if stage != self._stage:
            self._stage, self._started, self._last = stage, now, 0.0
        elif done < total and now - self._last < MESSAGE_INTERVAL:
            return
        self._last = now
        self.report(job_done, job_total, self.message(stage, done, total, unit, now - self._started))

    @staticmethod
    def message(stage: str, done: int, total: int, unit: str, elapsed: float) -> str:
        from tqdm import tqdm

        text = f"{stage}: {done:,} of {total:,} {unit}"
        if done >= total:
            return f"{text}, done in {tqdm.format_interval(elapsed)}"
        if done > 0 and elapsed > 0:
            rate = done / elapsed
            speed = f"{rate:,.0f}/s" if rate >= 1 else f"{1 / rate:,.0f} s each"
            return f"{text}, {speed}, about {tqdm.format_interval((total - done) / rate)} left"
        return text


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


EXAMPLE_BATCH = 10_000


def load_context(session: Session, dataset_id: int) -> AnalysisContext:
    dataset = get_dataset(session, dataset_id)
    # Batch by batch: the driver's rows of one batch are freed before the next, instead of a million of
    # them interleaved in the heap with the strings that are kept (a third more memory, never given back).
    result = session.execute(
        select(Example.id, Example.input, Example.output, Example.label, Example.system, Example.history,
               Example.status, Example.input_hash, Example.version, Example.rejected, Example.kto_label)
        .where(Example.dataset_id == dataset_id).order_by(Example.id)
        .execution_options(yield_per=EXAMPLE_BATCH))
    examples = [_row(*row) for batch in result.partitions() for row in batch]
    return AnalysisContext(
        dataset=DatasetInfo(id=dataset.id, task_type=dataset.task_type, label_set=dataset.label_set,
                            output_schema=dataset.output_schema),
        examples=examples,
        settings=effective_settings(dataset.settings),
    )


def _row(id_, input_, output, label, system, history, status, input_hash, version, rejected,
         kto_label) -> ExampleRow:
    # One string object per distinct label and status instead of one per row (a million rows hold ~60 labels).
    return ExampleRow(id_, input_, output, sys.intern(str(label)) if label else label, system, history,
                      sys.intern(str(status)), input_hash, version, rejected, kto_label)


def attach_vectors(ctx: AnalysisContext, ids: np.ndarray, vectors: np.ndarray) -> None:
    """Align stored vectors with ctx.examples (an example added meanwhile gets a zero row)."""
    ctx.vectors = aligned(ctx.ids, ids, vectors)


def aligned(wanted: np.ndarray, ids: np.ndarray, vectors: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Rows of `vectors` (one per id in `ids`) placed at the position of their id in `wanted` (sorted,
    unique), into `out` (zeros where an id has no vector); ids not wanted are ignored."""
    dim = vectors.shape[1] if vectors.ndim == 2 and len(vectors) else (out.shape[1] if out is not None else 1)
    if out is None:
        out = np.zeros((len(wanted), dim), dtype=np.float32)
    if len(wanted) and len(ids):
        at = np.clip(np.searchsorted(wanted, ids), 0, len(wanted) - 1)
        hit = wanted[at] == ids
        out[at[hit]] = vectors[hit]
    return out


VECTOR_BATCH = 20_000
REWRITE_CACHE_SHARE = 0.05  # the vector cache is written again once more than this share was read from the database


def load_aligned_vectors(session: Session, model: str, wanted: np.ndarray) -> np.ndarray:
    """The stored vectors of `model`, row i for example wanted[i] (sorted ids), streamed in batches into one
    preallocated array: memory is the array, not a Python object per row next to a stacked copy.

    Read by the range of the wanted ids, in the order of the (example id, model) index, rather than
    joined with examples (as vector_identities does): one index range scan whatever the planner's
    statistics say; rows of other datasets' examples in the range are dropped by `aligned`."""
    if not len(wanted):
        return np.zeros((0, 1), dtype=np.float32)
    result = session.execute(
        select(Embedding.example_id, Embedding.vector)
        .where(Embedding.model == model, Embedding.example_id.between(int(wanted[0]), int(wanted[-1])))
        .order_by(Embedding.example_id).execution_options(yield_per=VECTOR_BATCH))
    out = None
    for batch in result.partitions():
        out = _place(wanted, batch, out)
    return out if out is not None else np.zeros((len(wanted), 1), dtype=np.float32)


def _place(wanted: np.ndarray, rows, out: np.ndarray | None) -> np.ndarray:
    """(example id, vector bytes) rows placed into `out` at their ids' positions in `wanted` (made on first use)."""
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
    if out is None:
        out = np.zeros((len(wanted), vectors.shape[1]), dtype=np.float32)
    return aligned(wanted, ids, vectors, out)


def load_vectors(session: Session, model: str, wanted: np.ndarray,
                 identities: tuple[np.ndarray, np.ndarray], cache_dir) -> np.ndarray:
    """The vectors of `wanted` (sorted example ids): those whose embeddings row is unchanged since the last
    analysis from its cache file, the others from the database; the result is kept for the next one."""
    vectors, cached = vector_cache.cached_rows(cache_dir, model, wanted, identities)
    if vectors is None:
        vectors = load_aligned_vectors(session, model, wanted)
    else:
        missing = wanted[~cached & (identities[0] != neighbour_graph.NO_VECTOR)]
        for start in range(0, len(missing), VECTOR_BATCH):
            batch = missing[start:start + VECTOR_BATCH].tolist()
            rows = session.execute(select(Embedding.example_id, Embedding.vector).where(
                Embedding.model == model, Embedding.example_id.in_(batch))).all()
            if rows:
                _place(wanted, rows, vectors)
        if len(missing) <= REWRITE_CACHE_SHARE * len(wanted):  # a few edits: read again next time, not 1 GB written
            return vectors
    vector_cache.keep(cache_dir, model, wanted, identities, vectors)
    return vectors


def find_neighbours(ctx: AnalysisContext, identities: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Every example's k nearest others. Exact below `ctx.exact_search_max_rows`; above, from an HNSW index
    kept in the cache folder, and after a small edit by updating the last analysis's graph with it
    (`neighbour_update`) rather than building and searching again."""
    vectors, k = ctx.vectors, ctx.neighbours_k
    if not index.uses_approximate_index(len(vectors), ctx.exact_search_max_rows) or ctx.cache_dir is None:
        neighbour_update.forget(ctx.cache_dir)
        return index.knn(vectors, k, ctx.exact_search_max_rows, ctx.progress)
    saved = neighbour_update.load(ctx.cache_dir)
    updated = neighbour_update.update(neighbour_graph.load(ctx.cache_dir), saved, ctx.embedding_model, ctx.ids,
                                      vectors, *identities, k, ctx.progress)
    if updated is not None:
        ctx.notes["neighbours_updated"] = True
        return updated
    del saved
    built = index.build_index(vectors, ctx.exact_search_max_rows, ctx.progress)
    found = index.neighbours_in(built, vectors, k, ctx.progress)
    kept = neighbour_update.compact(built, vectors)
    del built
    neighbour_update.save(ctx.cache_dir, neighbour_update.SavedIndex(kept, ctx.ids.copy(), *identities))
    return found


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
    if ctx.progress is None:
        ctx.progress = StageProgress(report)
    for step, check in enumerate(checks):
        if report:
            report(done_before + step, done_before + len(checks),
                   f"check {step + 1} of {len(checks)}: {check.name}")
        started = time.perf_counter()
        drafts += check.run(ctx)
        timings[check.name] = round(time.perf_counter() - started, 3)
    return drafts, timings


def run_analysis(job_id: int, settings: Settings, report: Progress | None = None,
                 batch_size: int | None = None) -> dict:
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
    progress = StageProgress(report)

    def embedding_progress(done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        # Progress counts texts to embed, then one step per check.
        nonlocal embed_total
        embed_total = total or 0
        progress("embedding", done or 0, embed_total, "texts", done, embed_total + steps)

    if report:  # never inside a transaction: the report writes, in its own one
        report(None, None, "loading examples")
    with session_scope() as session:  # every text is read once, here; the embedding step reuses them
        ctx = load_context(session, dataset_id)
        dataset_settings = get_dataset(session, dataset_id).settings
    loading_seconds = time.perf_counter() - started
    if needs_vectors:
        with session_scope() as session:
            step = {"batch_size": batch_size} if batch_size else {}  # else the embedder's own step
            embedded = embeddings_store.embed_missing(
                session, dataset_id, embedder, progress=embedding_progress, checkpoint=session.commit,
                examples=[(e.id, e.input) for e in ctx.examples], **step)
    embed_seconds = time.perf_counter() - started - loading_seconds
    stage_started = time.perf_counter()
    if needs_vectors:
        if report:
            report(None, None, "loading vectors")
        with session_scope() as session:
            identities = embeddings_store.vector_identities(session, embedder.name, ctx.ids)
            ctx.vectors = load_vectors(session, embedder.name, ctx.ids, identities,
                                       neighbour_graph.analysis_cache_dir(settings.data_dir, dataset_id))
    load_comparisons(ctx, dataset_id, embedder if needs_vectors else None)
    ctx.embedding_model = embedder.name
    ctx.cache_dir = neighbour_graph.analysis_cache_dir(settings.data_dir, dataset_id)
    # Token counts (the format check's limit) with the dataset's target tokenizer, in its own cache.
    ctx.tokenizer = for_dataset(dataset_settings, settings)
    ctx.token_cache = cache_path(settings.data_dir, ctx.tokenizer)
    ctx.exact_search_max_rows = index.EXACT_MAX_ROWS
    ctx.neighbours_k = neighbours_needed(ctx.settings)
    stages = {"loading": round(loading_seconds, 3), "embedding": round(embed_seconds, 3),
              "loading vectors": round(time.perf_counter() - stage_started, 3)}
    if needs_vectors:
        stage_started = time.perf_counter()
        ctx.progress = StageProgress(report)
        ctx.neighbours = find_neighbours(ctx, identities)
        stages["neighbours"] = round(time.perf_counter() - stage_started, 3)
    drafts, timings = run_checks(ctx, report, done_before=embed_total)
    stage_started = time.perf_counter()
    if needs_vectors:
        save_neighbour_graph(ctx, identities)
    stages["neighbour graph saved"] = round(time.perf_counter() - stage_started, 3)
    stage_started = time.perf_counter()
    projection.save_health_arrays(ctx, settings.data_dir)  # the health page's map and length histograms
    stages["health arrays"] = round(time.perf_counter() - stage_started, 3)
    if report:
        report(embed_total + steps, embed_total + steps, "saving findings")
    stage_started = time.perf_counter()
    with session_scope() as session:
        saved = findings.replace_open_findings(session, dataset_id, drafts,
                                               {e.id: e.version for e in ctx.examples}, job_id)
    stages["findings saved"] = round(time.perf_counter() - stage_started, 3)
    per_check: dict[str, int] = {}
    for draft in drafts:
        per_check[draft.check] = per_check.get(draft.check, 0) + 1
    return {
        "examples": len(ctx.examples), "embedded": embedded, "embedding_model": embedder.name,
        "findings": per_check, "open_findings": saved["open"], "kept_dismissed": saved["kept_dismissed"],
        "notes": ctx.notes, "seconds": {**stages, **timings,
                                        "total": round(time.perf_counter() - started, 3)},
        "settings": ctx.settings,
    }
