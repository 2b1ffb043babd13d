"""What every check sees (`AnalysisContext`), returns (`FindingDraft`) and declares (`Check`).

A check is a pure function of the context: it reads examples, vectors and neighbours and returns
`FindingDraft`s with a score in [0, 1] and `details.message` in plain words. Shared, expensive
intermediate results (neighbours, duplicate clusters) are computed once, on demand, here.

This module is the analysis's inner ring: it knows nothing of the database, the services or the
configuration (tests/test_layers.py keeps it so).
"""

from collections.abc import Callable, Set
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
from app.checks.clusters import NearCluster, NearDuplicateSettings, exact_clusters, near_clusters
from app.embeddings.thresholds import near_duplicate_threshold
from app.checks.settings import CheckSettings
from app.task_types import TaskType


@dataclass
class FindingDraft:
    """What a check returns: one flag of one example."""

    example_id: int
    check: str
    score: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)  # slots: no per-row __dict__, a tenth less memory at a million rows
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
    task_type: str = TaskType.generation
    label_set: list[str] | None = None
    output_schema: dict[str, Any] | None = None

    @property
    def answer_is_label(self) -> bool:
        """Classification: the label is the answer, and outputs have no meaningful length or wording."""
        return self.task_type == TaskType.classification


@dataclass
class ReferenceSet:
    """A reference dataset (an eval set, a test set, a benchmark) that the contamination check compares
    the training pairs against: its items' texts and their input vectors from the analysis's embedder."""

    dataset_id: int
    name: str
    ids: np.ndarray                 # (m,) int64 example ids
    inputs: list[str]
    outputs: list[str]
    vectors: np.ndarray | None = None  # (m, d) unit input vectors, row i of ids[i]; None: no semantic match


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
    # The token-count cache shared with the exports (None: count without a cache).
    token_cache: Path | None = None
    # The dataset's target tokenizer (app.embeddings.target_tokenizer.TargetTokenizer); None: MiniLM's.
    tokenizer: Any = None
    embedding_model: str = ""
    # Up to this many rows the neighbours are exact; above it they come from an HNSW index.
    exact_search_max_rows: int = 50_000
    # Told (stage, done, total[, unit]) while a long step runs, so the job message can say where it is.
    progress: Callable[..., None] | None = None
    # The reference sets named in settings["contamination"]["reference_datasets"], loaded by the analysis.
    references: list[ReferenceSet] = field(default_factory=list)
    # example id -> (other dataset id, other dataset name, other example id) of the same normalised input in
    # another dataset; filled by the analysis only when settings["exact_duplicate"]["across_datasets"] is on.
    across_datasets: dict[int, tuple[int, str, int]] = field(default_factory=dict)

    def settings_of(self, check: "Check") -> Any:
        """The check's effective settings, as its own typed model."""
        return check.settings_model.model_validate(self.settings.get(check.name, {}))

    @cached_property
    def ids(self) -> np.ndarray:
        return np.array([e.id for e in self.examples], dtype=np.int64)

    @cached_property
    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """k nearest other examples of each example: (similarities, row indices), -1 = none."""
        from app.embeddings.index import knn

        if self.vectors is None:
            raise RuntimeError("this check needs embeddings but none were loaded")
        return knn(self.vectors, self.neighbours_k, self.exact_search_max_rows, progress=self.progress)

    @cached_property
    def exact_clusters(self) -> list[list[int]]:
        return exact_clusters(self.examples)

    @cached_property
    def near_clusters(self) -> list[NearCluster]:
        if len(self.examples) < 2 or self.vectors is None:
            return []
        settings = NearDuplicateSettings.model_validate(self.settings.get("near_duplicate", {}))
        threshold = settings.threshold if settings.threshold is not None else \
            near_duplicate_threshold(self.embedding_model)
        return near_clusters(self.examples, self.neighbours, threshold, settings.k)


class Check(Protocol):
    """What a check declares about itself; the registry derives every list of checks from these."""

    name: ClassVar[str]
    description: ClassVar[str]
    # Task types whose datasets the check runs on.
    task_types: ClassVar[Set[str]]
    needs_embeddings: ClassVar[bool]
    # Findings are about the dataset (e.g. a label), not about the example they are attached to: they do not
    # make an example unclean.
    dataset_level: ClassVar[bool]
    # Findings carry `details.cluster_id` and are reviewed as clusters; where a finding also carries
    # `details.duplicate_of`, exports keep one pair per cluster and keep a cluster inside one split.
    forms_clusters: ClassVar[bool]
    # An open finding makes the readiness verdict "not ready".
    blocks_readiness: ClassVar[bool]
    # Exports leave out examples with an open finding of this check unless told otherwise.
    excluded_from_export: ClassVar[bool]
    # The typed settings (a CheckSettings subclass, every field with a range); a dataset overrides its
    # defaults in `settings[<check name>]`.
    settings_model: ClassVar[type[CheckSettings]]

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
