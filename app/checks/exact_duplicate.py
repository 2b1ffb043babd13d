"""exact_duplicate: inputs identical after NFKC, casefolding and collapsing whitespace."""

from pydantic import StrictBool

from app.checks.base import AnalysisContext, CheckSettings, FindingDraft, member_ids, representative
from app.task_types import ALL_TASK_TYPES


class ExactDuplicateSettings(CheckSettings):
    # Also flag inputs that another dataset already holds (a weekly batch that repeats last week's).
    across_datasets: StrictBool = False


class ExactDuplicateCheck:
    name = "exact_duplicate"
    description = "Pairs whose input is identical to another's after normalisation (case, Unicode form, spaces)."
    task_types = ALL_TASK_TYPES
    needs_embeddings = False
    dataset_level = False
    forms_clusters = True
    blocks_readiness = True
    excluded_from_export = False  # exports dedupe clusters instead (keep_one)
    settings_model = ExactDuplicateSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        drafts = []
        for rows in ctx.exact_clusters:
            rep = representative(ctx, rows)
            rep_id = ctx.examples[rep].id
            members = member_ids(ctx, rows)
            for row in rows:
                if row == rep:
                    continue
                drafts.append(FindingDraft(ctx.examples[row].id, self.name, 1.0, {
                    "cluster_id": f"exact:{rep_id}", "duplicate_of": rep_id, "members": members,
                    "message": f"The input is the same as example {rep_id}'s "
                               f"({len(rows)} copies in all, ignoring case and spacing).",
                }))
        for row, example in enumerate(ctx.examples):
            other = ctx.across_datasets.get(example.id)
            if other is None:
                continue
            other_dataset_id, other_name, other_id = other
            drafts.append(FindingDraft(example.id, self.name, 1.0, {
                "cluster_id": f"across:{example.id}", "members": [example.id], "across_datasets": True,
                "other_dataset_id": other_dataset_id, "other_dataset": other_name, "other_example_id": other_id,
                "message": f"The input is already in dataset '{other_name}' (example {other_id}), "
                           f"ignoring case and spacing.",
            }))
        return drafts
