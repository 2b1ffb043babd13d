from fastapi import APIRouter, Depends

from app.api import datasets, examples
from app.api import users
from app.api import exports
from app.api import analysis
from app.api import review
from app.auth import require_api_user

# Every route under /api/v1 needs a signed-in user; each route declares its role (dependencies=[Admin] or [Reviewer]).
router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_user)])
router.include_router(datasets.router)
router.include_router(examples.router)
router.include_router(exports.router)
router.include_router(analysis.router)
router.include_router(users.router)
router.include_router(review.router)
