"""Find similar: an example's nearest neighbours by the stored vectors, as the last analysis found them.

The analysis keeps every example's k nearest neighbours with their cosine similarity (the
neighbour graph under the analysis cache directory); reading one row of it costs a file read, not
a search over every vector.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlmodel import Session

from app.embeddings import neighbour_graph
from app.models import Example
from app.services.examples import get_example
from app.services.review import examples_by_id


@dataclass
class Similar:
    example: Example
    similarity: float


@dataclass
class SimilarExamples:
    items: list[Similar]
    analysed: bool  # False: no analysis has stored neighbours for this example yet


def similar_examples(session: Session, example_id: int, data_dir: Path, k: int = 10) -> SimilarExamples:
    example = get_example(session, example_id)
    graph = neighbour_graph.load(neighbour_graph.analysis_cache_dir(data_dir, example.dataset_id))
    if graph is None:
        return SimilarExamples([], analysed=False)
    rows = np.flatnonzero(graph.ids == example_id)
    if not len(rows):
        return SimilarExamples([], analysed=False)
    neighbours = graph.neighbours[rows[0]][:k]
    similarities = graph.similarities[rows[0]][:k]
    wanted = [(int(i), float(s)) for i, s in zip(neighbours, similarities, strict=True) if i >= 0 and np.isfinite(s)]
    found = examples_by_id(session, {i for i, _ in wanted})
    return SimilarExamples([Similar(found[i], round(s, 3)) for i, s in wanted if i in found], analysed=True)
