"""The review verbs: a verdict on a finding, a cluster kept to one member, bulk actions, undo.

The same service as the HTML queue (app/services/review.py), so a pipeline or a notebook can apply
the rules a reviewer would.
"""

from typing import Any

from fastapi import APIRouter, Body

from app.auth import CurrentUserDep, Reviewer
from app.deps import SessionDep
from app.schemas.review import BulkIn, ClusterLabelIn, KeepIn, ReviewOutcome, VerdictIn
from app.services import review, review_rules

router = APIRouter(tags=["review"])


@router.post("/findings/{finding_id}/verdict", dependencies=[Reviewer], response_model=ReviewOutcome)
def verdict(finding_id: int, data: VerdictIn, session: SessionDep, user: CurrentUserDep) -> ReviewOutcome:
    return ReviewOutcome.of(review.apply_verdict(session, finding_id, data.verdict, data.label, user.username))


@router.post("/datasets/{dataset_id}/clusters/{cluster_id}/keep", dependencies=[Reviewer],
             response_model=ReviewOutcome)
def keep(dataset_id: int, cluster_id: str, data: KeepIn, session: SessionDep, user: CurrentUserDep) -> ReviewOutcome:
    """Keep one member: every other member is rejected and the cluster's findings resolved, in one transaction."""
    return ReviewOutcome.of(review.keep_one(session, dataset_id, cluster_id, data.example_id, user.username))


@router.post("/datasets/{dataset_id}/clusters/{cluster_id}/label", dependencies=[Reviewer],
             response_model=ReviewOutcome)
def label_cluster(dataset_id: int, cluster_id: str, data: ClusterLabelIn, session: SessionDep,
                  user: CurrentUserDep) -> ReviewOutcome:
    """Every member gets this label and the cluster's findings are resolved."""
    return ReviewOutcome.of(review.label_cluster(session, dataset_id, cluster_id, data.label, user.username))


@router.post("/datasets/{dataset_id}/review/bulk", dependencies=[Reviewer], response_model=ReviewOutcome,
             responses={409: {"description": "`expected` differs from the number of findings matching now"}})
def bulk(dataset_id: int, data: BulkIn, session: SessionDep, user: CurrentUserDep) -> ReviewOutcome:
    if data.filter is None:
        change = review.apply_to_findings(session, dataset_id, data.finding_ids or [], data.action, data.label,
                                          user.username)
    elif data.action == "keep_one_agreeing":
        change = review_rules.keep_one_where_agreeing(session, dataset_id, data.filter.check, user.username,
                                                      expected=data.expected)
    else:
        selection = review_rules.Selection(data.filter.check, data.filter.q, data.filter.min_score,
                                           data.filter.max_score)
        change = review_rules.apply_to_selection(session, dataset_id, selection, data.action, data.label,
                                                 user.username, expected=data.expected)
    return ReviewOutcome.of(change)


@router.post("/datasets/{dataset_id}/review/undo", dependencies=[Reviewer], response_model=ReviewOutcome,
             responses={409: {"description": "an example was edited after the action"}})
def undo(dataset_id: int, session: SessionDep, user: CurrentUserDep,
         token: dict[str, Any] = Body(description="the `undo` object of a review answer")) -> ReviewOutcome:
    return ReviewOutcome.of(review.undo(session, dataset_id, token, user.username))
