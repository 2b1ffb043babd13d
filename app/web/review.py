"""Review queues per check: keyboard verdicts, undo, bulk actions, duplicate clusters side by side.

The routes parse the form, call app/services/review.py (the same service as the JSON API) and
render the queue fragment with a notice that can take the action back.
"""

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.auth import Reviewer
from app.deps import SessionDep
from app.errors import InvalidInput
from app.services import review
from app.services import review_rules
from app.web import review_queue
from app.web.diffing import diff_segments
from app.web.forms import FormDep
from app.web.identity import author_of
from app.web.markdown import render_markdown
from app.web.routing import HTMLRoute
from app.web.templating import render_htmx

router = APIRouter(route_class=HTMLRoute)
OffsetQuery = Annotated[int, Query(ge=0, le=10_000_000)]
SearchQuery = Annotated[str | None, Query(max_length=500)]


def _queue_page(request: Request, queue: review_queue.Queue, change: review.Change | None = None,
                confirm: review_queue.Confirmation | None = None) -> Response:
    context = {"queue": queue, "dataset": queue.dataset, "change": change, "diff": diff_segments, "confirm": confirm,
               "undo_token": json.dumps(change.token()) if change and (change.findings or change.examples) else None,
               "guidelines": render_markdown(queue.dataset.description or ""),
               "max_label_keys": review_queue.MAX_LABEL_KEYS}
    return render_htmx(request, "review/queue.html", context, block="queue")


def _int(value, field: str, noun: str | None = None) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{noun or field.replace('_', ' ')} is missing or not a number; reload the page",
                           field=field) from exc


def _fields(position: dict) -> dict:
    return {"offset": position["offset"], "q": position["q"] or ""}


def _position(form) -> dict:
    return {"offset": _int(form.get("offset") or 0, "offset"), "q": str(form.get("q") or "") or None}


@router.get("/datasets/{dataset_id}/review/{check}", dependencies=[Reviewer])
def queue(dataset_id: int, check: str, request: Request, session: SessionDep, offset: OffsetQuery = 0,
          current: int | None = None, q: SearchQuery = None) -> Response:
    return _queue_page(request, review_queue.review_queue(session, dataset_id, check, offset=offset,
                                                          current_id=current, q=q or None))


@router.post("/datasets/{dataset_id}/review/{check}/act", dependencies=[Reviewer])
def act(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    """One keyboard verdict; answers the queue with the item after the judged one as current."""
    finding_id = _int(form.get("finding_id"), "finding_id", "the item")
    position = _position(form)
    ids = review.open_finding_ids(session, dataset_id, check, position["q"], review_queue.PAGE_SIZE,
                                  position["offset"])
    change = review.apply_verdict(session, finding_id, str(form.get("action", "")), form.get("label"),
                                  author_of(request), dataset_id=dataset_id)
    # The judged item leaves the open queue; the one after it takes its place.
    following = ids[ids.index(finding_id) + 1:] if finding_id in ids else []
    after = review_queue.review_queue(session, dataset_id, check, **position)
    remaining = [item.finding.id for item in after.items]
    after.current_id = next((i for i in following if i in remaining), remaining[-1] if remaining else None)
    return _queue_page(request, after, change)


@router.post("/datasets/{dataset_id}/review/{check}/bulk", dependencies=[Reviewer])
def bulk(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    """The toolbar: the ticked items, or with `scope=all` every open finding matching the queue's search."""
    action = str(form.get("bulk_action") or "")
    position = _position(form)
    if form.get("scope") == "all":
        selection = review_rules.Selection(check=check, q=position["q"])
        label = str(form.get("bulk_label") or "") or None
        if not form.get("expected"):  # first the count, in words; nothing changes until it is confirmed
            review.parse_verdict(action)
            count = len(review_rules.selected_ids(session, dataset_id, selection))
            queue = review_queue.review_queue(session, dataset_id, check, **position)
            fields = {"scope": "all", "bulk_action": action, "bulk_label": label or "", **_fields(position)}
            return _queue_page(request, queue, confirm=review_queue.bulk_confirmation(queue, action, label, count,
                                                                                      fields))
        change = review_rules.apply_to_selection(session, dataset_id, selection, action, label, author_of(request),
                                                 expected=_int(form.get("expected"), "expected", "the count"))
    else:
        finding_ids = [_int(v, "finding_ids", "a selected item") for v in form.getlist("finding_ids")]
        change = review.apply_to_findings(session, dataset_id, finding_ids, action, form.get("bulk_label"),
                                          author_of(request))
    return _queue_page(request, review_queue.review_queue(session, dataset_id, check, **position), change)


@router.post("/datasets/{dataset_id}/review/{check}/keep", dependencies=[Reviewer])
def keep(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    """Keep one example of a cluster, reject every other member, in one action."""
    keep_id = _int(form.get("keep"), "keep", "the example to keep")
    cluster_id = str(form.get("cluster_id") or "")
    change = review.keep_one(session, dataset_id, cluster_id, keep_id, author_of(request))
    return _queue_page(request, review_queue.review_queue(session, dataset_id, check, **_position(form)), change)


@router.post("/datasets/{dataset_id}/review/{check}/label-all", dependencies=[Reviewer])
def label_all(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    """A conflict settled for one answer: every member of the cluster gets this label."""
    change = review.label_cluster(session, dataset_id, str(form.get("cluster_id") or ""), str(form.get("label") or ""),
                                  author_of(request))
    return _queue_page(request, review_queue.review_queue(session, dataset_id, check, **_position(form)), change)


@router.post("/datasets/{dataset_id}/review/{check}/rule", dependencies=[Reviewer])
def rule(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    """A rule over the whole queue: settle every cluster whose answers agree by keeping one member."""
    position = _position(form)
    if not form.get("expected"):
        clusters = review_rules.agreeing_clusters(session, dataset_id, check)
        queue = review_queue.review_queue(session, dataset_id, check, **position)
        return _queue_page(request, queue, confirm=review_queue.rule_confirmation(queue, clusters, _fields(position)))
    change = review_rules.keep_one_where_agreeing(session, dataset_id, check, author_of(request),
                                                  expected=_int(form.get("expected"), "expected", "the count"))
    return _queue_page(request, review_queue.review_queue(session, dataset_id, check, **_position(form)), change)


@router.post("/datasets/{dataset_id}/review/{check}/undo", dependencies=[Reviewer])
def undo(dataset_id: int, check: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    try:
        token = json.loads(str(form.get("undo") or ""))
    except ValueError as exc:
        raise InvalidInput("there is nothing to undo; reload the page", field="undo") from exc
    change = review.undo(session, dataset_id, token if isinstance(token, dict) else {}, author_of(request))
    after = review_queue.review_queue(session, dataset_id, check, **_position(form))
    reopened = [int(i) for i in token.get("findings", {})] if isinstance(token, dict) else []
    after.current_id = next((item.finding.id for item in after.items if item.finding.id in reopened), None)
    change.findings.clear()
    change.examples.clear()
    return _queue_page(request, after, change)
