"""What every check sees (`AnalysisContext`) and what it declares (`Check`).

A check is a pure function of the context: it reads examples, vectors and neighbours and returns
`FindingDraft`s with a score in [0, 1] and `details.message` in plain words. Shared, expensive
intermediate results (neighbours, duplicate clusters) are computed once, on demand, here.
"""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.services.findings import FindingDraft


@dataclass(frozen=True)
class ExampleRow:
    id: int
    input: str
    output: str
    label: str | None = None
    system: str | None = None
    history: list[dict[str, Any]] | None = None
    status: str = "pending"
    input_hash: str = ""
    version: int = 1
    rejected: str | None = None  # preference pairs: `output` is the chosen answer
    kto_label: bool | None = None  # unpaired KTO examples


@dataclass
class DatasetInfo:
    id: int
    task_type: str = "generation"
    label_set: list[str] | None = None
    output_schema: dict[str, Any] | None = None


@dataclass
class AnalysisContext:
    dataset: DatasetInfo
    examples: list[ExampleRow]
    # Row i of `vectors` belongs to examples[i]; None when no check needing embeddings runs.
    vectors: np.ndarray | None = None
    # Effective settings per check (defaults merged with the dataset's overrides).
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Facts a check wants in the job result and the report (e.g. classes too small for K folds).
    notes: dict[str, Any] = field(default_factory=dict)
    neighbours_k: int = 10
    # Where a check may keep results between runs of this dataset (None: keep nothing).
    cache_dir: Path | None = None
    embedding_model: str = ""

    def settings_of(self, check: str) -> dict[str, Any]:
        return self.settings.get(check, {})

    @cached_property
    def ids(self) -> np.ndarray:
        return np.array([e.id for e in self.examples], dtype=np.int64)

    @cached_property
    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """k nearest other examples of each example: (similarities, row indices), -1 = none."""
        from app.embeddings.index import knn

        if self.vectors is None:
            raise RuntimeError("this check needs embeddings but none were loaded")
        return knn(self.vectors, self.neighbours_k)

    @cached_property
    def exact_clusters(self) -> list[list[int]]:
        from app.checks.clusters import exact_clusters

        return exact_clusters(self)

    @cached_property
    def near_clusters(self) -> list["NearCluster"]:
        from app.checks.clusters import near_clusters

        return near_clusters(self)


@dataclass
class NearCluster:
    rows: list[int]
    # Per row: best similarity to another member (the edge that put it in the cluster).
    similarity: dict[int, float]


class Check(Protocol):
    name: str
    description: str
    needs_embeddings: bool
    needs_labels: bool
    # Absolute thresholds; a dataset overrides them in `settings[<check name>]`.
    defaults: dict[str, Any]

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]: ...


def representative(ctx: AnalysisContext, rows: list[int]) -> int:
    """The member others duplicate: the accepted one, else the lowest id."""
    accepted = [r for r in rows if ctx.examples[r].status == "accepted"]
    pool = accepted or rows
    return min(pool, key=lambda r: ctx.examples[r].id)


MAX_MEMBERS = 50


def member_ids(ctx: AnalysisContext, rows: list[int]) -> list[int]:
    return sorted(ctx.examples[r].id for r in rows)[:MAX_MEMBERS]


def clip01(value: float) -> float:
    return float(min(1.0, max(0.0, value)))
