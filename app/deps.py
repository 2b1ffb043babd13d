"""FastAPI dependencies as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, Query
from sqlmodel import Session

from app.config import Settings, get_settings
from app.db import get_session

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LimitQuery = Annotated[int, Query(ge=1, le=1000, description="page size")]
OffsetQuery = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]
