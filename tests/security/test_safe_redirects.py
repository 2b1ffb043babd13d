"""Issue #13.7: one safe-redirect function, tested with one payload list on every link built from user input."""

import pytest
from fastapi.testclient import TestClient

from app.security import safe_local_path
from tests.conftest import TEST_PASSWORD

OFF_SITE = [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "/\\/evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/ /evil.example", "/\x00/evil.example",
    "/\u2028/evil.example", "/\u200b/evil.example", "javascript:alert(1)", "http:/evil.example", " /x",
    "evil.example", "",
]
LOCAL = ["/", "/datasets/1/review/format?offset=10", "/examples/3?back=/datasets/1", "/a%5Cb"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_targets_are_refused(target):
    assert safe_local_path(target) is None


@pytest.mark.parametrize("target", LOCAL)
def test_local_paths_are_kept(target):
    assert safe_local_path(target) == target


def test_login_next_and_example_back_use_it(app, client, make_dataset, make_user):
    make_user("heidi", "reviewer")
    dataset = make_dataset()
    example = client.post(f"/api/v1/datasets/{dataset['id']}/examples", json={"input": "q", "output": "a"}).json()
    admin = make_user("page-admin", "admin")
    with TestClient(app, follow_redirects=False) as browser:
        browser.cookies.set("winnow_session", admin["session_cookie"])
        kept = browser.get(f"/examples/{example['id']}", params={"back": "/datasets/1"})
        assert 'href="/datasets/1"' in kept.text
        for target in OFF_SITE:
            page = browser.get(f"/examples/{example['id']}", params={"back": target})
            assert page.status_code == 200
            assert "Back to the queue" not in page.text, repr(target)
    for target in OFF_SITE:
        with TestClient(app, follow_redirects=False) as browser:
            browser.get("/login")
            response = browser.post("/login", data={"username": "heidi", "password": TEST_PASSWORD, "next": target,
                                                    "csrf_token": browser.cookies.get("winnow_csrf")})
            assert response.headers["location"] == "/", repr(target)
