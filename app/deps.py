"""FastAPI dependencies as Annotated aliases."""

from typing import Annotated, Literal

from fastapi import Depends, Query
from sqlmodel import Session

from app.config import Settings, get_settings
from app.db import get_session

# scope="function": commit (or roll back) when the handler returns, BEFORE the response is sent.
# With the default ("request") the client could get its 200 before the commit, read stale data
# right after, or never learn that the commit failed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LimitQuery = Annotated[int, Query(ge=1, le=1000, description="page size")]
OffsetQuery = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip (slow deep in a large list: "
                                                                    "page with `cursor` instead)")]
CursorQuery = Annotated[str | None, Query(max_length=2000, description="the `next_cursor` of the previous page")]
CountQuery = Annotated[Literal["capped", "exact", "none"], Query(
    description="capped: count matches up to 10,000 (`total_capped` says when there are more); exact: count all; "
                "none: do not count (`total` is null unless the first page holds every match), the fastest page "
                "of a text search")]
