"""Request and response bodies of the review verbs (/api/v1/findings/{id}/verdict and friends)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

VerdictLiteral = Literal["accept", "reject", "dismiss", "label", "swap"]


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: VerdictLiteral = Field(description="accept/reject the example (resolves the finding), dismiss the "
                                                "finding, or label: give the example `label`")
    label: str | None = Field(default=None, max_length=500, description="the label to apply (verdict=label)")


class KeepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    example_id: int = Field(ge=1, description="the member to keep; every other member is rejected")


class ClusterLabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=500)


class BulkFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: str = Field(max_length=50, description="the queue: open findings of this check")
    q: str | None = Field(default=None, max_length=500, description="text in the example's input, output or label")
    min_score: float | None = Field(default=None, ge=0, le=1)
    max_score: float | None = Field(default=None, ge=0, le=1)


class BulkIn(BaseModel):
    """One action on the listed findings or on every open finding matching `filter`.

    `keep_one_agreeing` needs a filter on a cluster check: every cluster whose members all give the
    same answer keeps its oldest member and rejects the rest. `expected` (optional) is the count the
    caller confirmed: if a different number matches now, nothing changes and the answer is a 409.
    """

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "reject", "dismiss", "label", "swap", "keep_one_agreeing"]
    label: str | None = Field(default=None, max_length=500)
    finding_ids: list[int] | None = Field(default=None, max_length=20_000)
    filter: BulkFilter | None = None
    expected: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def one_selection(self) -> "BulkIn":
        if (self.finding_ids is None) == (self.filter is None):
            raise ValueError("give either finding_ids or filter")
        if self.action == "keep_one_agreeing" and self.filter is None:
            raise ValueError("keep_one_agreeing works on a filter (the cluster check's queue)")
        return self


class ReviewOutcome(BaseModel):
    summary: str = Field(description="what was done, in words")
    findings_changed: int
    examples_changed: int
    finding_ids: list[int]
    undo: dict[str, Any] = Field(description="POST this to /api/v1/datasets/{id}/review/undo to take it back")

    @classmethod
    def of(cls, change) -> "ReviewOutcome":
        return cls(summary=change.summary, findings_changed=len(change.findings),
                   examples_changed=len({e.example_id for e in change.examples}),
                   finding_ids=sorted(change.findings), undo=change.token())
