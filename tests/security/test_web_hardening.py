"""Security headers, no inline scripts, downloads as attachments, and no state change over GET."""

import json
import re
from pathlib import Path

from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select
from sqlmodel import SQLModel

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def assert_hardened(response) -> None:
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


def test_every_kind_of_response_carries_the_security_headers(client, anon_client, make_dataset):
    ds = make_dataset()
    for response in (client.get("/api/v1/datasets"), client.get(f"/datasets/{ds['id']}"), client.get("/"),
                     anon_client.get("/login"), anon_client.get("/api/v1/datasets"), anon_client.get("/"),
                     client.get("/api/v1/examples/999999"), client.get("/static/app.js"),
                     client.post(f"/api/v1/datasets/{ds['id']}/examples", content=b"x" * (17 * 1024 * 1024),
                                 headers={"content-type": "application/json"})):
        assert_hardened(response)
    assert client.get("/api/v1/datasets").headers["cache-control"] == "no-store"


def test_templates_have_no_inline_scripts_or_event_handlers():
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        source = template.read_text()
        for match in re.finditer(r"<script\b[^>]*>", source):
            if "src=" not in match.group(0):
                offenders.append(f"{template.name}: inline <script>")
        for match in re.finditer(r"\son[a-z]+\s*=", source):
            offenders.append(f"{template.name}: inline event handler {match.group(0).strip()}")
        if "javascript:" in source:
            offenders.append(f"{template.name}: javascript: URL")
    assert not offenders, "the CSP blocks these:\n" + "\n".join(offenders)


def test_user_text_is_escaped_in_pages(client, make_dataset):
    ds = make_dataset(name="<b>bold</b>")
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    created = client.post(f"/api/v1/datasets/{ds['id']}/examples", json={"input": payload, "output": payload})
    page = client.get(f"/examples/{created.json()['id']}")
    assert page.status_code == 200
    assert payload not in page.text and "&lt;script&gt;" in page.text
    assert "<b>bold</b>" not in client.get("/").text


def test_export_downloads_are_attachments(client, make_dataset, import_jsonl):
    ds = make_dataset()
    lines = "\n".join(json.dumps({"prompt": f"question number {i}", "completion": f"answer {i}"}) for i in range(30))
    assert import_jsonl(ds["id"], lines).status_code == 200
    export = client.post(f"/api/v1/datasets/{ds['id']}/exports", json={})
    assert export.status_code == 201, export.text
    for name in ("train.jsonl", "manifest.json", "README.md"):
        response = client.get(f"/api/v1/exports/{export.json()['id']}/files/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-disposition"].startswith("attachment"), name
        assert response.headers["x-content-type-options"] == "nosniff"


def _snapshot(engine) -> dict[str, list]:
    import app.models  # noqa: F401

    state = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) != ("api_tokens", "last_used_at")]
            rows = connection.execute(select(*columns).order_by(columns[0])).all()
            state[table.name] = [tuple(map(str, row)) for row in rows]
    return state


def test_no_get_request_changes_the_database(app, client, make_dataset, import_jsonl, database):
    ds = make_dataset(task_type="classification")
    lines = "\n".join(json.dumps({"prompt": f"text {i % 7}", "completion": "ab"[i % 2]}) for i in range(40))
    assert import_jsonl(ds["id"], lines).status_code == 200
    example_id = client.get(f"/api/v1/datasets/{ds['id']}/examples").json()["items"][0]["id"]
    export = client.post(f"/api/v1/datasets/{ds['id']}/exports", json={}).json()
    ids = {"dataset_id": ds["id"], "example_id": example_id, "export_id": export["id"], "job_id": 999999,
           "finding_id": 999999, "user_id": client.get("/api/v1/me").json()["id"], "token_id": 1,
           "check": "exact_duplicate", "name": "train.jsonl"}
    client.get("/")  # the first page view sets the CSRF cookie (a cookie, not the database)
    before = _snapshot(database)
    visited = 0
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or "GET" not in context.methods:
            continue
        path = re.sub(r"\{([^}:]+)(:[^}]+)?\}", lambda m: str(ids.get(m.group(1), 1)), context.path)
        response = client.get(path)
        assert response.status_code < 500, f"GET {path} -> {response.status_code}"
        visited += 1
    assert visited >= 15
    assert _snapshot(database) == before


def test_every_state_changing_page_route_needs_the_csrf_token(app, make_user):
    from fastapi.testclient import TestClient

    admin = make_user("csrf-admin", "admin")
    unprotected = []
    with TestClient(app, follow_redirects=False) as browser:
        browser.cookies.set("winnow_session", admin["session_cookie"])
        browser.get("/")  # the browser now holds a CSRF cookie, but sends no token below
        for context in iter_route_contexts(app.routes):
            if not isinstance(context.original_route, APIRoute) or context.path.startswith("/api/"):
                continue
            for method in set(context.methods) - {"GET", "HEAD", "OPTIONS"}:
                path = re.sub(r"\{[^}]+\}", "999999", context.path)
                for body in ({}, {"csrf_token": "forged"}):
                    response = browser.request(method, path, data=body)
                    if not (response.status_code == 403 and "CSRF" in response.text):
                        unprotected.append(f"{method} {context.path} {body} -> {response.status_code}")
    assert not unprotected, "state-changing pages without CSRF protection:\n" + "\n".join(unprotected)
