"""`winnow users create` prints a working token once; `winnow tokens` lists and revokes."""

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli


def test_users_create_prints_a_token_that_works_and_tokens_revoke_kills_it(app):
    runner = CliRunner()
    created = runner.invoke(cli, ["users", "create", "--username", "ops", "--role", "admin"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/api/v1/me").json() == {**c.get("/api/v1/me").json(), "username": "ops", "role": "admin",
                                              "has_password": False}
        again = runner.invoke(cli, ["users", "create", "--username", "ops"])
        assert again.exit_code == 1 and "already exists" in again.output

        second = runner.invoke(cli, ["tokens", "create", "--username", "ops", "--name", "ci"]).stdout.strip()
        listed = runner.invoke(cli, ["tokens", "list", "--username", "ops"]).stdout
        assert token not in listed and second not in listed and "\tci\tactive" in listed
        token_id = next(line.split("\t")[0] for line in listed.splitlines() if "\tci\t" in line)
        assert runner.invoke(cli, ["tokens", "revoke", token_id]).exit_code == 0
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
        assert c.get("/api/v1/me").status_code == 200


def test_users_create_with_a_password_lets_the_browser_sign_in(app):
    result = CliRunner().invoke(cli, ["users", "create", "--username", "rev", "--password"],
                                input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    with TestClient(app, follow_redirects=False) as browser:
        browser.get("/login")
        response = browser.post("/login", data={"username": "rev", "password": "a long password",
                                                "csrf_token": browser.cookies.get("winnow_csrf")})
        assert response.status_code == 303
        assert browser.get("/api/v1/me").json()["role"] == "reviewer"


def test_a_bad_role_is_refused():
    result = CliRunner().invoke(cli, ["users", "create", "--username", "x", "--role", "superuser"])
    assert result.exit_code == 1 and "unknown role" in result.output
