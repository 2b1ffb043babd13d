"""outlier: inputs far from every other input, and outputs of abnormal length.

Input: mean cosine distance to the k nearest neighbours; flagged above Q3 + `iqr_factor` x IQR
(Tukey's fence; 3 = "far out"). Output length: log character count outside the same fences
(free-text outputs only; labels have no meaningful length).
"""

import math
from typing import Annotated

import numpy as np
from pydantic import Field, StrictBool

from app.checks.base import AnalysisContext, CheckSettings, FindingDraft, clip01
from app.task_types import ALL_TASK_TYPES


class OutlierSettings(CheckSettings):
    k: Annotated[int, Field(ge=1, le=200, description="neighbours whose mean distance is measured")] = 10
    iqr_factor: Annotated[float, Field(ge=0, le=100, description="fence at Q3 + iqr_factor x IQR")] = 3.0
    min_examples: Annotated[int, Field(ge=0, le=100_000_000, description="fewer pairs: no outliers")] = 20
    output_length: StrictBool = True


def fences(values: np.ndarray, factor: float) -> tuple[float, float, float]:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    spread = q3 - q1
    return float(q1 - factor * spread), float(median), float(q3 + factor * spread)


def beyond(value: float, fence: float, median: float) -> float:
    """0.5 just past the fence, 1 at twice the fence's distance from the median."""
    return clip01(0.5 + 0.5 * abs(value - fence) / max(abs(fence - median), 1e-9))


class OutlierCheck:
    name = "outlier"
    description = ("Inputs whose mean distance to their `k` nearest neighbours is above Q3 + `iqr_factor` x IQR, "
                   "and free-text outputs whose length is outside the same kind of fence.")
    task_types = ALL_TASK_TYPES
    needs_embeddings = True
    dataset_level = False
    forms_clusters = False
    blocks_readiness = False
    excluded_from_export = False
    settings_model = OutlierSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        settings: OutlierSettings = ctx.settings_of(self)
        n = len(ctx.examples)
        if n < settings.min_examples:
            return []
        factor = settings.iqr_factor
        found: dict[int, tuple[float, list[str], dict]] = {}

        if ctx.vectors is not None:
            sims, idx = ctx.neighbours
            k = min(settings.k, idx.shape[1])
            valid = idx[:, :k] >= 0
            distance = np.where(valid, 1.0 - sims[:, :k], 0.0).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
            _, median, upper = fences(distance, factor)
            for row in np.flatnonzero(distance > upper):
                found[int(row)] = (beyond(distance[row], upper, median),
                                   [f"the input is far from all others (mean distance {distance[row]:.2f} to its "
                                    f"{k} nearest, typical {median:.2f})"],
                                   {"kind": ["input_distance"], "mean_neighbour_distance": round(float(distance[row]), 4)})

        free_text = not ctx.dataset.answer_is_label and settings.output_length
        if free_text:
            lengths = np.array([len(e.output) for e in ctx.examples], dtype=float)
            nonempty = lengths > 0
            if nonempty.sum() >= settings.min_examples:
                logs = np.log1p(lengths)
                lower, median, upper = fences(logs[nonempty], factor)
                for row in np.flatnonzero(nonempty & ((logs > upper) | (logs < lower))):
                    row = int(row)
                    fence = upper if logs[row] > upper else lower
                    typical = math.expm1(median)
                    words = "long" if logs[row] > upper else "short"
                    score = beyond(logs[row], fence, median)
                    old_score, messages, details = found.get(row, (0.0, [], {"kind": []}))
                    details["kind"].append("output_length")
                    details["output_chars"] = int(lengths[row])
                    found[row] = (max(old_score, score), messages + [
                        f"the output is unusually {words} ({int(lengths[row])} characters, typical {typical:.0f})"],
                        details)
        drafts = []
        for row, (score, messages, details) in sorted(found.items()):
            text = "; ".join(messages)
            details["message"] = text[0].upper() + text[1:] + "."
            drafts.append(FindingDraft(ctx.examples[row].id, self.name, score, details))
        return drafts
