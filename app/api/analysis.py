from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth import Admin, Reviewer
from app.deps import CountQuery, CursorQuery, LimitQuery, OffsetQuery, SessionDep
from app.schemas.analysis import DatasetReport, FindingPublic, FindingStatusLiteral, FindingUpdate, JobPublic
from app.schemas.common import CursorPage
from app.services import analysis, findings, jobs, report
from app.services.paging import CountMode

router = APIRouter(tags=["analysis"])


@router.post("/datasets/{dataset_id}/analyze", dependencies=[Admin], status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic,
             responses={409: {"description": "an analysis of this dataset is already queued or running"}})
def analyze_dataset(dataset_id: int, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(analysis.start_analysis(session, dataset_id))


@router.get("/jobs/{job_id}", dependencies=[Reviewer], response_model=JobPublic)
def get_job(job_id: int, session: SessionDep) -> JobPublic:
    return JobPublic.model_validate(jobs.get_job(session, job_id))


@router.post("/jobs/{job_id}/cancel", dependencies=[Admin], status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic,
             responses={409: {"description": "the job has already ended"}})
def cancel_job(job_id: int, session: SessionDep) -> JobPublic:
    """A queued job is `cancelled` at once; a running one stops at its next progress report (poll
    GET /jobs/{id} until its status is `cancelled`). Nothing of a cancelled job's results is applied."""
    return JobPublic.model_validate(jobs.request_cancel(session, job_id))


@router.get("/datasets/{dataset_id}/findings", dependencies=[Reviewer], response_model=CursorPage[FindingPublic])
def list_findings(
    dataset_id: int, session: SessionDep, limit: LimitQuery = 50, offset: OffsetQuery = 0,
    cursor: CursorQuery = None, count: CountQuery = "capped",
    check: Annotated[str | None, Query(max_length=50, description="only this check's findings")] = None,
    status: FindingStatusLiteral | None = None,
) -> CursorPage[FindingPublic]:
    page = findings.page_findings(session, dataset_id, check=check, status=status, limit=limit, offset=offset,
                                  cursor=cursor, count=CountMode(count))
    return CursorPage(items=[FindingPublic.model_validate(f) for f in page.items], total=page.total,
                      total_capped=page.total_capped, next_cursor=page.next_cursor)


@router.patch("/findings/{finding_id}", dependencies=[Reviewer], response_model=FindingPublic)
def update_finding(finding_id: int, data: FindingUpdate, session: SessionDep) -> FindingPublic:
    return FindingPublic.model_validate(findings.update_finding(session, finding_id, data.status))


@router.get("/datasets/{dataset_id}/report", dependencies=[Reviewer], response_model=DatasetReport)
def dataset_report(dataset_id: int, session: SessionDep) -> DatasetReport:
    return report.build_report(session, dataset_id)
