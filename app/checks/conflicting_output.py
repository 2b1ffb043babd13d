"""conflicting_output: the same or nearly the same input with a different output or label."""

from difflib import SequenceMatcher
from typing import Annotated

from pydantic import Field, StrictBool

from app.checks.base import AnalysisContext, CheckSettings, ExampleRow, FindingDraft, clip01, representative
from app.task_types import SFT_TASK_TYPES
from app.text import normalise

MAX_COMPARED_CHARS = 2000


def _answer(example: ExampleRow, use_labels: bool) -> str:
    if use_labels and example.label is not None:
        return normalise(example.label)
    return normalise(example.output)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ConflictingOutputSettings(CheckSettings):
    include_near: StrictBool = True
    min_output_difference: Annotated[float, Field(ge=0, le=1, description="how different outputs must be")] = 0.5


class ConflictingOutputCheck:
    name = "conflicting_output"
    description = ("Pairs in one exact or near-duplicate group whose outputs (labels, for classification) disagree. "
                   "For free-text outputs, `min_output_difference` (0-1) is how different they must be.")
    # Preference datasets have their own answer checks (identical_sides, contradicting_preference).
    task_types = SFT_TASK_TYPES
    needs_embeddings = True
    dataset_level = False
    forms_clusters = True
    blocks_readiness = True
    excluded_from_export = True
    settings_model = ConflictingOutputSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        settings: ConflictingOutputSettings = ctx.settings_of(self)
        # Classification: the label is the answer. Generation: the output is, even if pairs carry a label.
        use_labels = ctx.dataset.answer_is_label
        groups = [(f"exact:{ctx.examples[representative(ctx, rows)].id}", rows, None) for rows in ctx.exact_clusters]
        if settings.include_near and ctx.vectors is not None:
            groups += [(f"near:{ctx.examples[representative(ctx, c.rows)].id}", c.rows, c.similarity)
                       for c in ctx.near_clusters]
        flagged: dict[int, FindingDraft] = {}
        for cluster_id, rows, similarity in groups:
            answers = {row: _answer(ctx.examples[row], use_labels) for row in rows}
            if len(set(answers.values())) < 2:
                continue
            rep = representative(ctx, rows)
            for row in rows:
                if row == rep:
                    continue
                other = ctx.examples[rep]
                example = ctx.examples[row]
                if answers[row] == answers[rep]:
                    continue
                if use_labels:
                    difference = 1.0
                else:
                    ratio = SequenceMatcher(None, answers[row][:MAX_COMPARED_CHARS],
                                            answers[rep][:MAX_COMPARED_CHARS]).ratio()
                    difference = 1.0 - ratio
                    if difference < settings.min_output_difference:
                        continue
                input_similarity = 1.0 if similarity is None else similarity.get(row, 1.0)
                score = clip01(input_similarity * difference)
                # Both sides are flagged: nothing says which of the two is the wrong one.
                for mine, theirs in ((example, other), (other, example)):
                    draft = self._draft(mine, theirs, cluster_id, score, use_labels, exact=similarity is None)
                    if mine.id not in flagged or flagged[mine.id].score < score:
                        flagged[mine.id] = draft
        return list(flagged.values())

    def _draft(self, example: ExampleRow, other: ExampleRow, cluster_id: str, score: float, use_labels: bool,
               exact: bool) -> FindingDraft:
        what = "label" if use_labels else "output"
        return FindingDraft(example.id, self.name, score, {
            "cluster_id": cluster_id, "other_example_id": other.id,
            "output": _short(example.label if use_labels and example.label else example.output),
            "other_output": _short(other.label if use_labels and other.label else other.output),
            "message": f"Example {other.id} has {'the same' if exact else 'a nearly identical'} input but a "
                       f"different {what}; at most one of them can be right.",
        })
