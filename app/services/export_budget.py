"""An export's budget (`max_examples` with `selection`): keep N of the selected clean pairs, chosen to cover
the embedding space (`diverse`) or at random (`random`, the baseline), and record what that buys.

The vectors are the stored input vectors of the model most of the dataset's examples have (the last
analysis's). Pairs without a vector, or a dataset never analysed, make `diverse` fall back to random, and the
manifest says so.
"""

import numpy as np
from sqlmodel import Session

from app.checks.registry import effective_settings
from app.models import Dataset
from app.schemas.export import ExportParams
from app.services import budget, embeddings_store
from app.services.export_selection import Selection, _model_with_most_vectors


def _vectors(session: Session, dataset: Dataset, ids: list[int]) -> np.ndarray | None:
    model = _model_with_most_vectors(session, dataset.id)
    if model is None:
        return None
    found, vectors = embeddings_store.load_vectors(session, dataset.id, model)
    at = embeddings_store.row_positions(found, np.asarray(ids, dtype=np.int64))
    return vectors[at] if len(at) and (at >= 0).all() else None


def apply_budget(session: Session, dataset: Dataset, selection: Selection, params: ExportParams,
                 compare: bool = False) -> None:
    """Cut `selection` down to `params.max_examples` pairs; `selection.budget` records the method, the counts and
    the coverage (with `compare`, also the other method's coverage, for the preview)."""
    limit = params.max_examples
    if limit is None:
        return
    candidates = len(selection.rows)
    record = {"max_examples": limit, "selection": params.selection, "candidates": candidates}
    if candidates <= limit:
        selection.budget = {**record, "selected": candidates, "note": "fewer clean pairs than the budget: all kept"}
        return
    vectors = _vectors(session, dataset, selection.rows.ids)
    min_per_label = int(effective_settings(dataset.settings)["class_imbalance"]["min_count"])
    method = params.selection if vectors is not None else "random"
    positions = budget.select(vectors, selection.labels, limit, method, params.seed, min_per_label)
    if vectors is not None:
        record["coverage"] = budget.coverage(vectors, positions).as_dict()
        if compare:
            other = "random" if params.selection == "diverse" else "diverse"
            other_positions = budget.select(vectors, selection.labels, limit, other, params.seed, min_per_label)
            record["coverage_of_" + other] = budget.coverage(vectors, other_positions).as_dict()
    else:
        record["note"] = "no stored embeddings (run an analysis): picked at random"
    record["selected"] = len(positions)
    record["method_used"] = method
    selection.rows = selection.rows.take(positions.tolist())
    selection.labels = [selection.labels[i] for i in positions.tolist()]
    selection.groups = selection.groups[positions]
    dropped = candidates - len(positions)
    selection.excluded = {**selection.excluded, "total": selection.excluded["total"] + dropped, "budget": dropped}
    selection.budget = record
