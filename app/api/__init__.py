from fastapi import APIRouter

from app.api import datasets, examples

router = APIRouter(prefix="/api/v1")
router.include_router(datasets.router)
router.include_router(examples.router)
