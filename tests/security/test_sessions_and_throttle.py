"""Issue #13 points 4-6: the login throttle, sessions that really end, CSRF tokens bound to the session."""

import re
import threading
import time

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.throttle import LoginThrottle, ThrottleLimits
from app.config import get_settings, use_settings
from app.db import session_scope
from app.models import ApiToken, LoginCounter
from app.services import users
from tests.conftest import TEST_PASSWORD, TEST_SETTINGS

PARALLEL_GUESSES = 40


def _login(browser: TestClient, username: str, password: str):
    browser.get("/login")
    return browser.post("/login", data={"username": username, "password": password, "next": "/",
                                        "csrf_token": browser.cookies.get("winnow_csrf")})


# -- 4. throttle ---------------------------------------------------------------------------------

def test_simultaneous_guesses_get_no_more_password_checks_than_the_limit(app, make_user, monkeypatch):
    make_user("target", "reviewer")
    checks, lock = [], threading.Lock()
    real_authenticate = users.authenticate

    def counting(session, username, password):
        with lock:
            checks.append(username)
        time.sleep(0.05)  # widen the window a check-then-record throttle would leave open
        return real_authenticate(session, username, password)

    monkeypatch.setattr(users, "authenticate", counting)
    with TestClient(app, follow_redirects=False) as browser:
        browser.get("/login")
        token = browser.cookies.get("winnow_csrf")
        statuses = []

        def guess(i: int) -> None:
            response = browser.post("/login", data={"username": "target", "password": f"wrong {i}", "csrf_token": token})
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(PARALLEL_GUESSES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    limit = get_settings().login_max_attempts_per_username
    assert len(checks) <= limit, f"{len(checks)} password checks against a limit of {limit}"
    assert sorted(set(statuses)) == [401, 429]


def test_counts_are_shared_by_every_process():
    first, second = LoginThrottle(ThrottleLimits(per_username=3)), LoginThrottle(ThrottleLimits(per_username=3))
    for _ in range(3):
        assert first.reserve("zoe", "10.0.0.1") == 0
    assert second.reserve("zoe", "10.0.0.2") > 0  # a "second server" sees the first one's attempts
    second.succeeded("zoe", "10.0.0.2")
    assert first.reserve("zoe", "10.0.0.1") == 0


def test_a_flood_of_usernames_evicts_the_oldest_never_everything():
    throttle = LoginThrottle(ThrottleLimits(per_username=2, max_keys=50))
    now = time.time()
    for _ in range(3):
        throttle.reserve("victim", "192.0.2.1")
    for i in range(100):
        throttle.reserve(f"made-up-{i}", "192.0.2.2")
    with session_scope() as session:
        session.execute(LoginCounter.__table__.update().where(LoginCounter.key.like("user:made-up-%"))
                        .values(window_start=now - 60))  # the flood is older than the victim's window
    throttle.sweep()
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(LoginCounter)) == 50
    assert throttle.reserve("victim", "192.0.2.1") > 0  # still blocked


def test_serve_trusts_forwarded_headers_only_from_named_proxies(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from app.cli import cli

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    assert CliRunner().invoke(cli, ["serve"]).exit_code == 0
    assert calls[-1]["proxy_headers"] is False
    use_settings(TEST_SETTINGS.model_copy(update={"trusted_proxies": "10.0.0.5, 172.16.0.0/12"}))
    assert CliRunner().invoke(cli, ["serve"]).exit_code == 0
    assert calls[-1]["proxy_headers"] is True and calls[-1]["forwarded_allow_ips"] == ["10.0.0.5", "172.16.0.0/12"]


# -- 5. sessions end -----------------------------------------------------------------------------

def test_logout_ends_the_session_on_the_server(app, make_user):
    make_user("uma", "reviewer")
    with TestClient(app, follow_redirects=False) as browser:
        assert _login(browser, "uma", TEST_PASSWORD).status_code == 303
        old_cookie = browser.cookies.get("winnow_session")
        assert browser.get("/api/v1/me").status_code == 200
        assert browser.post("/logout", data={"csrf_token": browser.cookies.get("winnow_csrf")}).status_code == 303
    with TestClient(app, follow_redirects=False) as thief:
        thief.cookies.set("winnow_session", old_cookie)
        assert thief.get("/api/v1/me").status_code == 401


def test_disabling_ends_cookies_and_tokens_for_good(app, client, make_user):
    victor = make_user("victor", "reviewer")
    with TestClient(app, follow_redirects=False) as browser:
        assert _login(browser, "victor", TEST_PASSWORD).status_code == 303
        cookie = browser.cookies.get("winnow_session")
    assert client.patch(f"/api/v1/users/{victor['id']}", json={"is_active": False}).status_code == 200
    assert client.patch(f"/api/v1/users/{victor['id']}", json={"is_active": True}).status_code == 200
    with TestClient(app, follow_redirects=False) as other:
        other.cookies.set("winnow_session", cookie)
        assert other.get("/api/v1/me").status_code == 401
        assert other.get("/api/v1/me", headers={"Authorization": f"Bearer {victor['token']}"}).status_code == 401
    with session_scope() as session:
        assert all(t.revoked_at is not None for t in session.scalars(select(ApiToken).where(ApiToken.user_id == victor["id"])))


def test_a_password_change_ends_sessions(app, make_user):
    make_user("boss", "admin")
    wendy = make_user("wendy", "reviewer")
    with session_scope() as session:
        users.update_user(session, wendy["id"], password="a brand new passphrase 42")
    with TestClient(app, follow_redirects=False) as browser:
        browser.cookies.set("winnow_session", wendy["session_cookie"])
        assert browser.get("/api/v1/me").status_code == 401


# -- 6. CSRF bound to the session ----------------------------------------------------------------

def test_an_anonymous_csrf_pair_is_refused_with_someone_elses_session(app, make_user):
    admin = make_user("csrf-owner", "admin")
    with TestClient(app, follow_redirects=False) as attacker:
        attacker.get("/login")
        stolen = attacker.cookies.get("winnow_csrf")
    accepted = []
    with TestClient(app, follow_redirects=False) as victim:
        victim.cookies.set("winnow_session", admin["session_cookie"])
        victim.cookies.set("winnow_csrf", stolen)
        for context in iter_route_contexts(app.routes):
            if not isinstance(context.original_route, APIRoute) or context.path.startswith("/api/"):
                continue
            for method in set(context.methods) - {"GET", "HEAD", "OPTIONS"}:
                if context.path in ("/login", "/logout"):
                    continue
                path = re.sub(r"\{[^}]+\}", "999999", context.path)
                response = victim.request(method, path, data={"csrf_token": stolen},
                                          headers={"x-csrf-token": stolen})
                if not (response.status_code == 403 and "CSRF" in response.text):
                    accepted.append(f"{method} {context.path} -> {response.status_code}")
    assert not accepted, "\n".join(accepted)


def test_signing_in_rotates_the_csrf_token(app, make_user):
    make_user("xena", "reviewer")
    with TestClient(app, follow_redirects=False) as browser:
        browser.get("/login")
        anonymous = browser.cookies.get("winnow_csrf")
        assert _login(browser, "xena", TEST_PASSWORD).status_code == 303
        assert browser.cookies.get("winnow_csrf") not in (None, anonymous)
        page = browser.get("/")
        assert browser.cookies.get("winnow_csrf") in page.text
