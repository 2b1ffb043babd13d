"""near_duplicate: inputs that say nearly the same thing, by cosine similarity of embeddings.

Neighbours come from the faiss index (k per example, never an n x n matrix); edges at or above
`threshold` are joined into clusters (connected components = union-find).
"""

from app.checks.base import AnalysisContext, FindingDraft, clip01, member_ids, representative
from app.checks.clusters import NearDuplicateSettings
from app.task_types import ALL_TASK_TYPES


class NearDuplicateCheck:
    name = "near_duplicate"
    description = ("Pairs whose input says nearly the same as another's (cosine similarity of input embeddings "
                   "at or above `threshold` among the `k` nearest neighbours).")
    task_types = ALL_TASK_TYPES
    needs_embeddings = True
    dataset_level = False
    forms_clusters = True
    blocks_readiness = True
    excluded_from_export = False  # exports dedupe clusters instead (keep_one)
    settings_model = NearDuplicateSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        drafts = []
        for cluster in ctx.near_clusters:
            rows = cluster.rows
            hashes = {ctx.examples[r].input_hash for r in rows}
            if len(hashes) == 1:  # all identical: exact_duplicate says it already
                continue
            rep = representative(ctx, rows)
            rep_example = ctx.examples[rep]
            members = member_ids(ctx, rows)
            for row in rows:
                example = ctx.examples[row]
                if row == rep or example.input_hash == rep_example.input_hash:
                    continue
                similarity = round(clip01(cluster.similarity[row]), 4)
                drafts.append(FindingDraft(example.id, self.name, similarity, {
                    "cluster_id": f"near:{rep_example.id}", "duplicate_of": rep_example.id, "members": members,
                    "similarity": similarity,
                    "message": f"The input says nearly the same as example {rep_example.id}'s "
                               f"(similarity {similarity:.2f}; {len(rows)} similar inputs in this group).",
                }))
        return drafts
