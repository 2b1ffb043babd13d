"""length_bias: could a reward be learned from length alone? A dataset-level figure, not a flag per pair.

Over the preference pairs (KTO examples have no second side) it reports the share of pairs whose
chosen answer is longer than the rejected one, and the median of chosen/rejected length, lengths
counted in words. An unbiased set has a share near 0.5 and a median ratio near 1. The figures go to
the analysis result (`notes.length_bias`), the report and the health page; a share at or above
`max_share` (or at or below 1 - max_share) marks the set as length-biased there. It files no finding:
no single pair is wrong.
"""

import statistics

from typing import Annotated

from pydantic import Field

from app.checks.base import AnalysisContext, FindingDraft
from app.checks.settings import CheckSettings
from app.task_types import PREFERENCE_TASK_TYPES


class LengthBiasSettings(CheckSettings):
    max_share: Annotated[float, Field(ge=0.5, le=1, description="share of chosen-is-longer pairs from which "
                                                                "the set counts as length-biased")] = 0.8
    min_pairs: Annotated[int, Field(ge=1, le=1_000_000, description="fewer pairs than this give no verdict")] = 20


def length_bias(pairs: list[tuple[str, str]], max_share: float = 0.8, min_pairs: int = 20) -> dict:
    """The figures for (chosen, rejected) texts."""
    lengths = [(len(chosen.split()), len(rejected.split())) for chosen, rejected in pairs]
    n = len(lengths)
    if not n:
        return {"pairs": 0, "chosen_longer_share": None, "rejected_longer_share": None, "median_length_ratio": None,
                "biased": False}
    longer = sum(c > r for c, r in lengths) / n
    shorter = sum(c < r for c, r in lengths) / n
    # +1 on both sides: an empty side gives a finite ratio (and such a pair is a format finding anyway).
    ratio = statistics.median((c + 1) / (r + 1) for c, r in lengths)
    biased = n >= min_pairs and (longer >= max_share or shorter >= max_share)
    return {"pairs": n, "chosen_longer_share": round(longer, 4), "rejected_longer_share": round(shorter, 4),
            "median_length_ratio": round(ratio, 4), "biased": biased, "max_share": max_share}


class LengthBiasCheck:
    name = "length_bias"
    description = ("Dataset-level: the share of preference pairs whose chosen answer is longer, and the median "
                   "chosen/rejected length ratio; a share of `max_share` or more marks the set length-biased.")
    task_types = PREFERENCE_TASK_TYPES
    needs_embeddings = False
    dataset_level = True
    forms_clusters = False
    blocks_readiness = False
    excluded_from_export = False
    settings_model = LengthBiasSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        settings = ctx.settings_of(self)
        pairs = [(e.output, e.rejected) for e in ctx.examples if e.rejected is not None and e.status != "rejected"]
        ctx.notes[self.name] = length_bias(pairs, settings.max_share, settings.min_pairs)
        return []
