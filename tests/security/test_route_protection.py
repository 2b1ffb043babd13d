"""Every route of the app refuses anonymous requests, and reviewers cannot do admin actions.

The routes are enumerated from `app.routes` at test time, so a route someone adds later is
checked without anyone touching this file.
"""

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from app.auth import declared_roles

# Public on purpose: the sign-in pages, and the API schema/docs (the same for every installation,
# no data in them). Everything else needs a user.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}
PUBLIC_DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
STATIC_MOUNTS = {"/static"}
# Admin actions named in the issue; each route must declare the admin role.
KNOWN_ADMIN_ACTIONS = [
    ("POST", "/api/v1/datasets"), ("PATCH", "/api/v1/datasets/{dataset_id}"),
    ("DELETE", "/api/v1/datasets/{dataset_id}"), ("DELETE", "/api/v1/examples/{example_id}"),
    ("POST", "/api/v1/datasets/{dataset_id}/import"), ("POST", "/api/v1/datasets/{dataset_id}/exports"),
    ("GET", "/api/v1/exports/{export_id}/files/{name}"), ("POST", "/api/v1/datasets/{dataset_id}/analyze"),
    ("GET", "/api/v1/users"), ("POST", "/api/v1/users"), ("PATCH", "/api/v1/users/{user_id}"),
    ("POST", "/datasets"), ("POST", "/datasets/{dataset_id}/upload"),
    # Reviewers review and edit pairs; adding pairs is an admin's, like importing them.
    ("POST", "/api/v1/datasets/{dataset_id}/examples"), ("POST", "/api/v1/jobs/{job_id}/cancel"),
]
KNOWN_REVIEWER_ACTIONS = [
    ("GET", "/api/v1/datasets"), ("GET", "/api/v1/datasets/{dataset_id}/examples"),
    ("PATCH", "/api/v1/examples/{example_id}"), ("PATCH", "/api/v1/findings/{finding_id}"),
    ("GET", "/api/v1/datasets/{dataset_id}/report"), ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"), ("GET", "/datasets/{dataset_id}"),
]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)  # an id nobody has: probes must not touch real rows


def role_table(app) -> dict[tuple[str, str], set[str]]:
    """(method, full path) -> the roles the route declares."""
    return {(method, context.path): declared_roles(context.original_route)
            for context in iter_route_contexts(app.routes) if isinstance(context.original_route, APIRoute)
            for method in context.methods}


def needs_admin(app, method: str, path: str) -> bool:
    return role_table(app)[(method, path)] == {"admin"}


def all_endpoints(app) -> list[tuple[str, str, bool]]:
    """(method, full path template, is_api) for every method of every route, included routers flattened."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            assert context.path in STATIC_MOUNTS, f"unexpected mounted app at {context.path}: protect it or list it"
            continue
        if isinstance(route, APIRoute):
            for method in sorted(context.methods):
                found.append((method, context.path, context.path.startswith("/api/")))
        elif isinstance(route, Route):
            assert context.path in PUBLIC_DOCS, f"plain Starlette route {context.path} bypasses router dependencies"
        else:
            raise AssertionError(f"unknown route type {type(route)} at {context.path}")
    return found


def test_the_enumeration_sees_the_api_and_the_pages(app):
    endpoints = all_endpoints(app)
    assert sum(api for _, _, api in endpoints) >= 10
    assert any(not api for _, _, api in endpoints), "no HTML page found"


def test_every_route_refuses_an_anonymous_request(app, anon_client):
    failures = []
    for method, path, is_api in all_endpoints(app):
        if (method, path) in PUBLIC:
            continue
        response = anon_client.request(method, concrete(path))
        if is_api:
            ok = response.status_code == 401 and response.headers.get("www-authenticate") == "Bearer"
        else:
            ok = (response.status_code in (302, 303, 307) and response.headers["location"].startswith("/login")) or (
                response.status_code == 401)
        if not ok:
            failures.append(f"{method} {path} -> {response.status_code}")
    assert not failures, "anonymous requests got through:\n" + "\n".join(failures)


def test_anonymous_page_request_redirects_to_login_and_comes_back(anon_client):
    response = anon_client.get("/datasets/1?tab=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/datasets/1%3Ftab%3Dx"
    htmx = anon_client.get("/datasets/1", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login")


def test_a_bad_or_revoked_token_is_refused_everywhere(app, client):
    bad = {"Authorization": "Bearer wnw_not-a-real-token"}
    wrong_scheme = {"Authorization": "Basic YWRtaW46YWRtaW4="}
    for method, path, is_api in all_endpoints(app):
        if not is_api:
            continue
        for headers in (bad, wrong_scheme):
            response = client.request(method, concrete(path), headers=headers)
            assert response.status_code == 401, f"{method} {path} with {headers} -> {response.status_code}"


def test_every_route_declares_exactly_one_role(app):
    """Issue #13: permissions are declared on each route (Admin / Reviewer / Public), never inferred."""
    table = role_table(app)
    undeclared = [f"{m} {p}" for (m, p), roles in table.items() if len(roles) != 1]
    assert not undeclared, "routes that declare no role (or several):\n" + "\n".join(sorted(undeclared))
    assert {key for key, roles in table.items() if roles == {"public"}} == PUBLIC


def test_a_new_route_without_a_declaration_is_caught(app):
    from fastapi import APIRouter

    extra = APIRouter()

    @extra.post("/api/v1/frobnicate")
    def frobnicate() -> None: ...

    app.include_router(extra)
    assert role_table(app)[("POST", "/api/v1/frobnicate")] == set()


@pytest.mark.parametrize("method,path", KNOWN_ADMIN_ACTIONS)
def test_the_known_admin_actions_are_admin_only(app, method, path):
    assert needs_admin(app, method, path)


@pytest.mark.parametrize("method,path", KNOWN_REVIEWER_ACTIONS)
def test_reviewers_may_read_and_review(app, method, path):
    assert role_table(app)[(method, path)] == {"reviewer"}


def test_reviewers_get_403_on_every_admin_action_and_no_403_elsewhere(app, reviewer_client):
    refused, wrongly_refused = [], []
    reviewer_client.get("/")  # a CSRF token, so that page writes get as far as the role check
    csrf = {"x-csrf-token": reviewer_client.cookies.get("winnow_csrf")}
    for method, path, is_api in all_endpoints(app):
        if (method, path) in PUBLIC:
            continue
        response = reviewer_client.request(method, concrete(path), headers=csrf)
        role_refusal = response.status_code == 403 and "admin role" in response.text
        if needs_admin(app, method, path):
            if not role_refusal:
                refused.append(f"{method} {path} -> {response.status_code}")
        elif role_refusal:
            wrongly_refused.append(f"{method} {path}")
    assert not refused, "reviewers could reach admin actions:\n" + "\n".join(refused)
    assert not wrongly_refused, "reviewers refused on reviewer actions:\n" + "\n".join(wrongly_refused)


def test_admins_pass_the_role_check_everywhere(app, make_user):
    from fastapi.testclient import TestClient

    admin = make_user("root", "admin")
    probe = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin['token']}"})
    for method, path, _ in all_endpoints(app):
        if (method, path) in PUBLIC:
            continue
        response = probe.request(method, concrete(path))
        assert response.status_code not in (401,) and "admin role" not in response.text, f"{method} {path}"
