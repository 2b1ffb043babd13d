"""exact_duplicate: inputs identical after NFKC, casefolding and collapsing whitespace."""

from app.checks.base import AnalysisContext, CheckSettings, FindingDraft, member_ids, representative
from app.task_types import ALL_TASK_TYPES


class ExactDuplicateSettings(CheckSettings):
    pass


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
        return drafts
