import re

import pytest

from app.web.csrf import COOKIE_NAME


@pytest.fixture
def page_client(client):
    """The test client with the CSRF cookie set (by a first page view) and its token at hand."""
    response = client.get("/")
    assert response.status_code == 200, response.text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', response.text)
    assert match and client.cookies.get(COOKIE_NAME) == match.group(1)
    client.csrf = match.group(1)
    client.headers["X-CSRF-Token"] = client.csrf
    return client


@pytest.fixture
def add_findings(database):
    """Insert findings as an analysis would (committed, so the app's sessions see them)."""
    from app.db import session_scope
    from app.models import Finding

    def add(dataset_id: int, rows: list[dict]) -> list[int]:
        with session_scope() as session:
            findings = [Finding(dataset_id=dataset_id, **row) for row in rows]
            session.add_all(findings)
            session.flush()
            return [f.id for f in findings]

    return add


@pytest.fixture
def seed_pairs(make_dataset, import_jsonl):
    """A dataset with `n` pairs (prompt `p{i}`, completion `c{i}`); returns (dataset, example ids)."""
    import json

    def seed(n: int = 5, name: str = "ds", rows: list[dict] | None = None, **fields):
        ds = make_dataset(name, **fields)
        rows = rows or [{"id": f"e{i}", "prompt": f"p{i}", "completion": f"c{i}"} for i in range(n)]
        response = import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in rows))
        assert response.status_code == 200, response.text
        from app.db import session_scope
        from app.models import Example
        from sqlalchemy import select

        with session_scope() as session:
            ids = list(session.scalars(select(Example.id).where(Example.dataset_id == ds["id"]).order_by(Example.id)))
        return ds, ids

    return seed
