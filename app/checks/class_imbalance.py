"""class_imbalance: labels with too few examples to learn from, or far below their fair share.

A label is flagged when it has fewer than `min_count` examples or a share under
1 / (`share_factor` x number of labels). Every (not rejected) example of such a label gets a
finding so reviewers see what to add more of; these findings do not make an example unclean.
"""

from collections import Counter

from app.checks.base import AnalysisContext, clip01
from app.services.findings import FindingDraft


class ClassImbalanceCheck:
    name = "class_imbalance"
    # Preference datasets have their own answer checks (identical_sides, contradicting_preference).
    task_types = frozenset({"generation", "classification"})
    description = ("Labels with fewer than `min_count` examples or a share under 1/(`share_factor` x number of "
                   "labels).")
    needs_embeddings = False
    needs_labels = True
    defaults = {"min_count": 10, "share_factor": 5}
    # The flag is about the label, not the pair: it does not count against an example being clean.
    dataset_level = True

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        settings = {**self.defaults, **ctx.settings_of(self.name)}
        rows = [i for i, e in enumerate(ctx.examples) if e.label and e.status != "rejected"]
        counts = Counter(ctx.examples[i].label for i in rows)
        if len(counts) < 2:
            return []
        total = sum(counts.values())
        min_share = 1.0 / (float(settings["share_factor"]) * len(counts))
        min_count = int(settings["min_count"])
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
