"""HTML pages and htmx fragments at `/`; they call the same services as the JSON API."""

from fastapi import APIRouter, Depends

from app.web import analysis, datasets, examples, exports, preference, review
from app.auth import require_page_user
from app.web.csrf import require_csrf
from app.web.routing import HTMLRoute

# require_page_user: no session -> /login. Each route declares its role (dependencies=[Admin] or [Reviewer]).
router = APIRouter(route_class=HTMLRoute, dependencies=[Depends(require_page_user), Depends(require_csrf)],
                   include_in_schema=False)
for module in (datasets, examples, review, analysis, exports, preference):
    router.include_router(module.router)
