"""Tokens, passwords, the session cookie, the first admin, and local single-user mode."""

import pytest
from fastapi.testclient import TestClient

from app.auth.sessions import COOKIE_NAME
from app.main import create_app
from app.db import session_scope
from app.models import ApiToken, User
from app.services import users
from tests.conftest import TEST_PASSWORD, TEST_SETTINGS


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_stored_hashed_shown_once_and_revocable(client, anon_client, make_user):
    someone = make_user("alice", "reviewer")
    assert anon_client.get("/api/v1/me", headers=bearer(someone["token"])).json()["username"] == "alice"

    created = anon_client.post("/api/v1/tokens", json={"name": "ci"}, headers=bearer(someone["token"]))
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["token"].startswith("wnw_") and len(new["token"]) > 40
    listed = anon_client.get("/api/v1/tokens", headers=bearer(someone["token"])).json()
    assert {t["name"] for t in listed} == {"tests", "ci"} and all("token" not in t for t in listed)
    with session_scope() as session:
        stored = {t.token_hash for t in session.query(ApiToken)}
    assert new["token"] not in stored and all(len(h) == 64 for h in stored)

    assert anon_client.get("/api/v1/me", headers=bearer(new["token"])).status_code == 200
    assert anon_client.delete(f"/api/v1/tokens/{new['id']}", headers=bearer(someone["token"])).status_code == 204
    assert anon_client.get("/api/v1/me", headers=bearer(new["token"])).status_code == 401
    assert anon_client.get("/api/v1/me", headers=bearer(someone["token"])).status_code == 200


def test_a_reviewer_cannot_revoke_someone_elses_token_but_an_admin_can(client, reviewer_client, make_user):
    other = make_user("bob", "reviewer")
    token_id = client.get(f"/api/v1/users/{other['id']}/tokens").json()[0]["id"]
    assert reviewer_client.delete(f"/api/v1/tokens/{token_id}").status_code == 404
    assert reviewer_client.get("/api/v1/me", headers=bearer(other["token"])).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert reviewer_client.get("/api/v1/me", headers=bearer(other["token"])).status_code == 401


def test_admin_manages_users_and_a_disabled_user_is_locked_out(client, reviewer_client):
    created = client.post("/api/v1/users", json={"username": "carol", "role": "reviewer",
                                                 "password": TEST_PASSWORD})
    assert created.status_code == 201, created.text
    carol = created.json()
    assert carol["user"]["has_password"] and "password" not in carol["user"] and "password_hash" not in created.text
    assert client.post("/api/v1/users", json={"username": "carol"}).status_code == 409
    assert reviewer_client.post("/api/v1/users", json={"username": "eve", "role": "admin"}).status_code == 403
    assert reviewer_client.get("/api/v1/users").status_code == 403

    assert client.get("/api/v1/me", headers=bearer(carol["token"])).json()["role"] == "reviewer"
    disabled = client.patch(f"/api/v1/users/{carol['user']['id']}", json={"is_active": False})
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=bearer(carol["token"])).status_code == 401


def test_the_last_admin_cannot_be_demoted(client):
    me = client.get("/api/v1/me").json()
    response = client.patch(f"/api/v1/users/{me['id']}", json={"role": "reviewer"})
    assert response.status_code == 409
    assert client.get("/api/v1/me").json()["role"] == "admin"


def test_passwords_are_argon2_hashes(make_user):
    make_user("dave", "reviewer")
    with session_scope() as session:
        user = users.get_user_by_username(session, "dave")
        assert user.password_hash.startswith("$argon2id$") and TEST_PASSWORD not in user.password_hash
        assert users.authenticate(session, "dave", TEST_PASSWORD).id == user.id
        assert users.authenticate(session, "dave", TEST_PASSWORD + "x") is None
        assert users.authenticate(session, "nobody", TEST_PASSWORD) is None


def _login(client: TestClient, username: str, password: str, next_url: str = "/"):
    page = client.get("/login")
    assert page.status_code == 200
    csrf = client.cookies.get("winnow_csrf")
    return client.post("/login", data={"username": username, "password": password, "next": next_url,
                                       "csrf_token": csrf})


def test_browser_login_sets_a_hardened_session_cookie(app, make_user):
    make_user("erin", "reviewer")
    with TestClient(app, follow_redirects=False) as browser:
        wrong = _login(browser, "erin", "not the password")
        assert wrong.status_code == 401 and COOKIE_NAME not in wrong.headers.get("set-cookie", "")
        response = _login(browser, "erin", TEST_PASSWORD, next_url="/datasets")
        assert response.status_code == 303 and response.headers["location"] == "/datasets"
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE_NAME))
        attributes = cookie.lower()
        assert "httponly" in attributes and "samesite=lax" in attributes and "secure" not in attributes
        assert browser.get("/api/v1/me").json()["username"] == "erin"
        assert browser.get("/").status_code == 200

        logout = browser.post("/logout", data={"csrf_token": browser.cookies.get("winnow_csrf")})
        assert logout.status_code == 303
        assert browser.get("/api/v1/me").status_code == 401
        assert browser.get("/").status_code == 303


def test_login_without_the_csrf_token_is_refused(app, make_user):
    make_user("frank", "reviewer")
    with TestClient(app, follow_redirects=False) as browser:
        response = browser.post("/login", data={"username": "frank", "password": TEST_PASSWORD})
        assert response.status_code == 403 and COOKIE_NAME not in response.headers.get("set-cookie", "")


def with_settings(**changes):
    return create_app(TEST_SETTINGS.model_copy(update=changes))


def test_the_session_cookie_is_secure_over_https_or_when_configured(app, make_user):
    make_user("grace", "reviewer")
    with TestClient(app, base_url="https://winnow.example", follow_redirects=False) as browser:
        response = _login(browser, "grace", TEST_PASSWORD)
        assert "secure" in response.headers["set-cookie"].lower()
        assert "strict-transport-security" in response.headers
    with TestClient(with_settings(secure_cookies=True), follow_redirects=False) as browser:
        response = _login(browser, "grace", TEST_PASSWORD)
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE_NAME))
        assert "secure" in cookie.lower()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_login_never_redirects_off_site(app, make_user, target):
    make_user("heidi", "reviewer")
    with TestClient(app, follow_redirects=False) as browser:
        assert _login(browser, "heidi", TEST_PASSWORD, next_url=target).headers["location"] == "/"


def test_changing_the_password_ends_existing_sessions(app, client, make_user):
    ivan = make_user("ivan", "reviewer")
    with TestClient(app, follow_redirects=False) as browser:
        browser.cookies.set(COOKIE_NAME, ivan["session_cookie"])
        assert browser.get("/api/v1/me").status_code == 200
        client.patch(f"/api/v1/users/{ivan['id']}", json={"password": "another long password"})
        assert browser.get("/api/v1/me").status_code == 401
        browser.cookies.set(COOKIE_NAME, ivan["session_cookie"][:-2] + "xx")  # forged signature
        assert browser.get("/api/v1/me").status_code == 401


def test_cookie_authenticated_api_writes_must_come_from_this_site(app, make_user):
    judy = make_user("judy", "admin")
    with TestClient(app, follow_redirects=False) as browser:
        browser.cookies.set(COOKIE_NAME, judy["session_cookie"])
        cross = browser.post("/api/v1/datasets", json={"name": "x"}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        silent = browser.post("/api/v1/datasets", json={"name": "x"})
        assert silent.status_code == 403
        same = browser.post("/api/v1/datasets", json={"name": "x"}, headers={"Origin": "http://testserver"})
        assert same.status_code == 201, same.text


def test_admin_token_from_the_settings_creates_and_rotates_the_admin():
    with TestClient(with_settings(admin_token="first-secret-token-0123456789")) as c:
        assert c.get("/api/v1/me", headers=bearer("first-secret-token-0123456789")).json()["role"] == "admin"
    with TestClient(with_settings(admin_token="second-secret-token-0123456789")) as c:
        assert c.get("/api/v1/me", headers=bearer("second-secret-token-0123456789")).status_code == 200
        assert c.get("/api/v1/me", headers=bearer("first-secret-token-0123456789")).status_code == 401
    with session_scope() as session:
        admins = session.query(User).filter(User.username == "admin").all()
        assert len(admins) == 1 and admins[0].password_hash is None  # no default password


def test_every_setting_keeps_its_environment_variable(monkeypatch):
    from app.config import Settings

    for name, value in {"WINNOW_AUTH": "off", "WINNOW_ADMIN_TOKEN": "x" * 20, "WINNOW_SECURE_COOKIES": "true",
                        "WINNOW_SESSION_HOURS": "2", "WINNOW_SECRET_KEY": "s3cret", "WINNOW_IMPORT_WORKERS": "3"}.items():
        monkeypatch.setenv(name, value)
    read = Settings()
    assert (read.auth_enabled, read.admin_token, read.secure_cookies, read.session_hours, read.import_workers) == (
        False, "x" * 20, True, 2.0, 3)
    from app.auth.keys import secret_key

    assert secret_key(read) == "s3cret"


def test_auth_off_serves_only_loopback_and_says_so(caplog):
    app = with_settings(auth="off")
    with TestClient(app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 5555)) as local:
        me = local.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["role"] == "admin"
        assert local.post("/api/v1/datasets", json={"name": "mine"},
                          headers={"Origin": "http://127.0.0.1:8000"}).status_code == 201
        page = local.get("/")
        assert page.status_code == 200 and "WINNOW_AUTH=off" in page.text
    with TestClient(app, base_url="http://10.0.0.5:8000", client=("10.0.0.9", 5555)) as remote:
        assert remote.get("/api/v1/me").status_code == 403
        assert remote.get("/api/v1/datasets").status_code == 403
    with TestClient(app, base_url="http://127.0.0.1:8000", client=("10.0.0.9", 5555)) as proxied:
        assert proxied.get("/api/v1/datasets").status_code == 403


def test_auth_off_start_up_warns_loudly(caplog):
    with caplog.at_level("WARNING", logger="winnow.auth"), TestClient(with_settings(auth="off")):
        pass
    assert "AUTHENTICATION IS DISABLED" in caplog.text


def test_revisions_record_who_edited(client, reviewer_client, make_dataset):
    ds = make_dataset()
    example = client.post(f"/api/v1/datasets/{ds['id']}/examples", json={"input": "q", "output": "a"}).json()
    edited = reviewer_client.patch(f"/api/v1/examples/{example['id']}", json={"version": 1, "output": "b"})
    assert edited.status_code == 200
    assert [r["author"] for r in client.get(f"/api/v1/examples/{example['id']}/revisions").json()] == ["reviewer"]


def test_password_guessing_is_throttled(app, make_user):
    from app.config import get_settings

    MAX_FAILURES_PER_USERNAME = get_settings().login_max_attempts_per_username
    make_user("kate", "reviewer")
    with TestClient(app, follow_redirects=False) as browser:
        for _ in range(MAX_FAILURES_PER_USERNAME):
            assert _login(browser, "kate", "wrong guess").status_code == 401
        blocked = _login(browser, "kate", TEST_PASSWORD)  # even the right password, for now
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert COOKIE_NAME not in blocked.headers.get("set-cookie", "")
        make_user("liam", "reviewer")
        assert _login(browser, "liam", TEST_PASSWORD).status_code == 303  # other accounts are unaffected
