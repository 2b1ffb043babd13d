"""class_imbalance: labels with too few examples to learn from, or far below their fair share.

A label is flagged when it has fewer than `min_count` examples or a share under
1 / (`share_factor` x number of labels). Every (not rejected) example of such a label gets a
finding so reviewers see what to add more of; these findings do not make an example unclean.
"""

from collections import Counter
from typing import Annotated

from pydantic import Field

from app.checks.base import AnalysisContext, CheckSettings, FindingDraft, clip01
from app.task_types import SFT_TASK_TYPES


class ClassImbalanceSettings(CheckSettings):
    min_count: Annotated[int, Field(ge=0, le=100_000_000, description="fewer examples: the label is too small")] = 10
    share_factor: Annotated[float, Field(gt=0, le=1_000_000, description="share under 1/(share_factor x labels)")] = 5


class ClassImbalanceCheck:
    name = "class_imbalance"
    description = ("Labels with fewer than `min_count` examples or a share under 1/(`share_factor` x number of "
                   "labels).")
    # Preference datasets have their own answer checks (identical_sides, contradicting_preference).
    task_types = SFT_TASK_TYPES
    needs_embeddings = False
    # The flag is about the label, not the pair: it does not count against an example being clean.
    dataset_level = True
    forms_clusters = False
    blocks_readiness = False
    excluded_from_export = False
    settings_model = ClassImbalanceSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        settings: ClassImbalanceSettings = ctx.settings_of(self)
        rows = [i for i, e in enumerate(ctx.examples) if e.label and e.status != "rejected"]
        counts = Counter(ctx.examples[i].label for i in rows)
        if len(counts) < 2:
            return []
        total = sum(counts.values())
        min_share = 1.0 / (float(settings.share_factor) * len(counts))
        min_count = settings.min_count
        needed = max(min_count, int(min_share * total) + 1)
        small = {label: n for label, n in counts.items() if n < min_count or n / total < min_share}
        ctx.notes["small_classes"] = sorted(small)
        drafts = []
        for i in rows:
            example = ctx.examples[i]
            if example.label not in small:
                continue
            n = small[example.label]
            drafts.append(FindingDraft(example.id, self.name, clip01(1.0 - n / needed), {
                "label": example.label, "count": n, "share": round(n / total, 5), "min_count": min_count,
                "min_share": round(min_share, 5),
                "message": f"Only {n} example(s) carry the label '{example.label}' ({n / total:.1%} of "
                           f"{total}); aim for at least {needed}.",
            }))
        return drafts
