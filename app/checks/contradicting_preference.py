"""contradicting_preference: the same or a near-same prompt where A beats B in one pair and B beats A
in another, or (KTO) the same completion labelled desirable once and undesirable once.

Prompts are "the same" by their normalised input (the exact-duplicate key) and "near-same" when the
near-duplicate clustering of the embeddings joins them. Answers are matched exactly after
normalisation, or nearly by text similarity at or above `threshold` (as in identical_sides).
The contradicting pairs of a prompt group form one cluster, reviewed together.
"""

from collections import defaultdict

from typing import Annotated

from pydantic import Field

from app.checks.base import AnalysisContext, FindingDraft, member_ids
from app.checks.identical_sides import side_similarity
from app.checks.settings import CheckSettings
from app.task_types import PREFERENCE_TASK_TYPES
from app.text import normalise


class ContradictingPreferenceSettings(CheckSettings):
    threshold: Annotated[float, Field(gt=0, le=1, description="text similarity at or above which two answers "
                                                              "count as the same answer")] = 0.95
    # Prompt groups larger than this are compared exactly only (the near comparison is quadratic).
    max_group: Annotated[int, Field(ge=2, le=10_000, description="largest prompt group compared nearly")] = 300


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


class ContradictingPreferenceCheck:
    name = "contradicting_preference"
    description = ("The same or a near-same prompt preferred both ways: A over B in one pair and B over A in "
                   "another, or one KTO completion labelled both desirable and undesirable.")
    task_types = PREFERENCE_TASK_TYPES
    needs_embeddings = True
    dataset_level = False
    forms_clusters = True
    blocks_readiness = True
    excluded_from_export = True
    settings_model = ContradictingPreferenceSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        settings = ctx.settings_of(self)
        threshold, max_group = settings.threshold, settings.max_group
        groups = self._prompt_groups(ctx)
        contradictions: dict[int, dict[int, float]] = defaultdict(dict)  # row -> other row -> score
        for rows in groups:
            for a, b, score in self._contradictions(ctx, rows, threshold, len(rows) <= max_group):
                contradictions[a][b] = contradictions[b][a] = max(score, contradictions[a].get(b, 0.0))
        clusters = _UnionFind()
        for a, others in contradictions.items():
            for b in others:
                clusters.union(a, b)
        members: dict[int, list[int]] = defaultdict(list)
        for row in contradictions:
            members[clusters.find(row)].append(row)
        drafts = []
        for rows in members.values():
            cluster_id = f"contradiction:{min(ctx.examples[r].id for r in rows)}"
            ids = member_ids(ctx, rows)
            for row in rows:
                others = sorted(ctx.examples[o].id for o in contradictions[row])
                score = max(contradictions[row].values())
                kto = ctx.examples[row].kto_label is not None
                message = (f"Example {others[0]} labels the same completion of this prompt the other way."
                           if kto else f"Example {others[0]} prefers the other way round: its chosen answer is "
                                       "this pair's rejected one and its rejected this pair's chosen.")
                if len(others) > 1:
                    message += f" ({len(others)} contradicting examples in all.)"
                drafts.append(FindingDraft(ctx.examples[row].id, self.name, score, {
                    "cluster_id": cluster_id, "contradicts": others[:50], "members": ids, "message": message}))
        return drafts

    @staticmethod
    def _prompt_groups(ctx: AnalysisContext) -> list[list[int]]:
        """Rows joined by an identical normalised prompt or by a near-duplicate cluster of prompts."""
        joined = _UnionFind()
        first_of_hash: dict[str, int] = {}
        for row, example in enumerate(ctx.examples):
            joined.find(row)
            first = first_of_hash.setdefault(example.input_hash or normalise(example.input), row)
            if first != row:
                joined.union(row, first)
        if ctx.vectors is not None and len(ctx.examples) > 1:
            for cluster in ctx.near_clusters:
                for row in cluster.rows[1:]:
                    joined.union(row, cluster.rows[0])
        groups: dict[int, list[int]] = defaultdict(list)
        for row in range(len(ctx.examples)):
            groups[joined.find(row)].append(row)
        return [rows for rows in groups.values() if len(rows) > 1]

    @staticmethod
    def _contradictions(ctx: AnalysisContext, rows: list[int], threshold: float, near: bool):
        """(row, row, score) of each contradicting couple in one prompt group."""
        paired = [(r, normalise(ctx.examples[r].output), normalise(ctx.examples[r].rejected))
                  for r in rows if ctx.examples[r].rejected is not None]
        by_sides = {(chosen, rejected): r for r, chosen, rejected in paired}
        found = set()
        for r, chosen, rejected in paired:
            other = by_sides.get((rejected, chosen))
            if other is not None and chosen != rejected:
                found.add((min(r, other), max(r, other)))
                yield r, other, 1.0
        if near:
            for i, (r, chosen, rejected) in enumerate(paired):
                if chosen == rejected:
                    continue
                for s, other_chosen, other_rejected in paired[i + 1:]:
                    if (min(r, s), max(r, s)) in found:
                        continue
                    forward = side_similarity(chosen, other_rejected, threshold)
                    backward = side_similarity(rejected, other_chosen, threshold) if forward else 0.0
                    if forward >= threshold and backward >= threshold:
                        yield r, s, min(forward, backward)
        unpaired = [(r, normalise(ctx.examples[r].output), ctx.examples[r].kto_label)
                    for r in rows if ctx.examples[r].kto_label is not None]
        for i, (r, completion, label) in enumerate(unpaired):
            for s, other_completion, other_label in unpaired[i + 1:]:
                if label == other_label:
                    continue
                if completion == other_completion:
                    yield r, s, 1.0
                elif near and (score := side_similarity(completion, other_completion, threshold)) >= threshold:
                    yield r, s, score
