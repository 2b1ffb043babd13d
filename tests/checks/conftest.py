"""Build an AnalysisContext from hand-made pairs, embedded with the deterministic hashing embedder."""

import pytest

from app.checks.base import AnalysisContext, DatasetInfo, ExampleRow
from app.checks.registry import effective_settings
from app.embeddings.hashing import HashingEmbedder
from app.text import input_hash


@pytest.fixture
def make_ctx():
    def make(pairs: list[dict], *, task_type: str = "generation", label_set=None, output_schema=None,
             settings: dict | None = None, embed: bool = True) -> AnalysisContext:
        rows = []
        for i, pair in enumerate(pairs, start=1):
            label = pair.get("label", pair["output"].strip() if task_type == "classification" else None)
            rows.append(ExampleRow(id=pair.get("id", i), input=pair["input"], output=pair.get("output", ""),
                                   label=label, system=pair.get("system"), history=pair.get("history"),
                                   status=pair.get("status", "pending"), input_hash=input_hash(pair["input"]),
                                   rejected=pair.get("rejected"), kto_label=pair.get("kto_label")))
        ctx = AnalysisContext(
            dataset=DatasetInfo(id=1, task_type=task_type, label_set=label_set, output_schema=output_schema),
            examples=rows, settings=effective_settings(settings or {}),
        )
        if embed:
            ctx.vectors = HashingEmbedder().encode([r.input for r in rows])
        return ctx

    return make


def by_example(drafts) -> dict:
    return {d.example_id: d for d in drafts}
