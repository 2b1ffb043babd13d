"""identical_sides: a preference pair whose chosen and rejected answers are the same, or nearly.

"Nearly" is measured on the text, not on embeddings: the normalised Indel similarity of the two
answers after NFKC, casefolding and collapsing whitespace (rapidfuzz's `fuzz.ratio`, 1 = same text).
A pair whose rejected answer is a truncation of the chosen one (or the other way round) is a
legitimate pair, however similar: it teaches the model to finish, and embeddings put it at cosine
~0.98, which is why cosine alone cannot be the measure.
"""

from typing import Annotated

from pydantic import Field
from rapidfuzz import fuzz

from app.checks.base import AnalysisContext, FindingDraft
from app.checks.settings import CheckSettings
from app.task_types import PREFERENCE_TASK_TYPES
from app.text import normalise


class IdenticalSidesSettings(CheckSettings):
    threshold: Annotated[float, Field(gt=0, le=1, description="text similarity at or above which the two "
                                                              "answers count as nearly identical")] = 0.9


def is_truncation(a: str, b: str) -> bool:
    """One normalised answer is the beginning of the other (and they differ)."""
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return len(shorter) < len(longer) and longer.startswith(shorter)


def side_similarity(a: str, b: str, cutoff: float = 0.0) -> float:
    """Normalised Indel similarity of two normalised texts in [0, 1] (0 below `cutoff`)."""
    return fuzz.ratio(a, b, score_cutoff=cutoff * 100) / 100


class IdenticalSidesCheck:
    name = "identical_sides"
    description = ("Preference pairs whose chosen and rejected answers are identical after normalisation, or "
                   "nearly (text similarity at or above `threshold`); a truncation of the other side is not flagged.")
    task_types = PREFERENCE_TASK_TYPES
    needs_embeddings = False
    dataset_level = False
    forms_clusters = False
    blocks_readiness = True
    excluded_from_export = True
    settings_model = IdenticalSidesSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        threshold = ctx.settings_of(self).threshold
        drafts = []
        for example in ctx.examples:
            if example.rejected is None:
                continue
            chosen, rejected = normalise(example.output), normalise(example.rejected)
            if chosen == rejected:
                drafts.append(FindingDraft(example.id, self.name, 1.0, {
                    "kind": "identical", "similarity": 1.0,
                    "message": "The chosen and the rejected answers are the same (ignoring case and spacing): "
                               "the pair teaches no preference."}))
                continue
            if is_truncation(chosen, rejected):
                continue
            similarity = side_similarity(chosen, rejected, threshold)
            if similarity >= threshold:
                drafts.append(FindingDraft(example.id, self.name, similarity, {
                    "kind": "nearly_identical", "similarity": round(similarity, 4),
                    "message": f"The chosen and the rejected answers are {similarity:.0%} the same text: "
                               "the pair teaches little or a preference for a detail."}))
        return drafts
