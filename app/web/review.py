"""Review queues per check: keyboard verdicts, bulk actions, duplicate clusters side by side."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.auth import Reviewer
from app.deps import SessionDep
from app.errors import InvalidInput
from app.services import web_review
from app.web.diffing import diff_segments
from app.web.forms import FormDep
from app.web.identity import author_of
from app.web.routing import HTMLRoute
from app.web.templating import render_htmx

router = APIRouter(route_class=HTMLRoute)
OffsetQuery = Annotated[int, Query(ge=0, le=10_000_000)]


def _queue_page(request: Request, queue: web_review.Queue, notice: str | None = None, status_code: int = 200):
    context = {"queue": queue, "dataset": queue.dataset, "notice": notice, "diff": diff_segments,
               "cluster_checks": web_review.CLUSTER_CHECKS}
    return render_htmx(request, "review/queue.html", context, block="queue", status_code=status_code)


def _int(value, field: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field} must be a number", field=field) from exc


@router.get("/datasets/{dataset_id}/review/{check}", dependencies=[Reviewer])
def queue(dataset_id: int, check: str, request: Request, session: SessionDep, offset: OffsetQuery = 0,
          current: int | None = None) -> Response:
    return _queue_page(request, web_review.review_queue(session, dataset_id, check, offset=offset,
                                                        current_id=current))


@router.post("/datasets/{dataset_id}/review/{check}/act", dependencies=[Reviewer])
def act(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    """One keyboard verdict; answers the queue with the item after the judged one as current."""
    finding_id = _int(form.get("finding_id"), "finding_id")
    offset = _int(form.get("offset") or 0, "offset")
    before = web_review.review_queue(session, dataset_id, check, offset=offset)
    ids = [item.finding.id for item in before.items]
    web_review.apply_verdict(session, dataset_id, finding_id, str(form.get("action", "")),
                             form.get("label"), author_of(request))
    # The judged item leaves the open queue; the one after it takes its place.
    following = ids[ids.index(finding_id) + 1:] if finding_id in ids else []
    after = web_review.review_queue(session, dataset_id, check, offset=offset)
    remaining = [item.finding.id for item in after.items]
    after.current_id = next((i for i in following if i in remaining), remaining[-1] if remaining else None)
    return _queue_page(request, after, notice=f"{form.get('action')}: finding {finding_id}")


@router.post("/datasets/{dataset_id}/review/{check}/bulk", dependencies=[Reviewer])
def bulk(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    finding_ids = [_int(v, "finding_ids") for v in form.getlist("finding_ids")]
    action = str(form.get("bulk_action") or "")
    count = web_review.apply_bulk(session, dataset_id, finding_ids, action, form.get("bulk_label"), author_of(request))
    after = web_review.review_queue(session, dataset_id, check, offset=_int(form.get("offset") or 0, "offset"))
    return _queue_page(request, after, notice=f"{action}: {count} item{'s' if count != 1 else ''}")


@router.post("/datasets/{dataset_id}/review/{check}/keep", dependencies=[Reviewer])
def keep(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    """Keep one example of a cluster, reject the rest, in one action."""
    keep_id = _int(form.get("keep"), "keep")
    members = [_int(v, "members") for raw in form.getlist("members") for v in str(raw).split(",") if v.strip()]
    rejected = web_review.keep_one(session, dataset_id, keep_id, members, author_of(request))
    after = web_review.review_queue(session, dataset_id, check, offset=_int(form.get("offset") or 0, "offset"))
    return _queue_page(request, after, notice=f"kept example {keep_id}, rejected {rejected}")
