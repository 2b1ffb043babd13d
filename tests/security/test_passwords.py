"""Issue #13: common passwords, and passwords of only whitespace or control characters, are refused."""

import pytest

from app.errors import InvalidInput
from app.services import users

REFUSED = ["password123", "qwertyuiop", "1234567890", "Password123", " " * 12, "\t\n" * 6, "\x00" * 10,
           "\u200b" * 12, "\u3000" * 12]


@pytest.mark.parametrize("password", REFUSED)
def test_weak_passwords_are_refused(session, password):
    with pytest.raises(InvalidInput) as refused:
        users.create_user(session, "someone", "reviewer", password)
    assert refused.value.details.get("field") == "password"


def test_a_good_password_is_accepted(session):
    assert users.create_user(session, "someone", "reviewer", "violet tractor umbrella 7").password_hash


def test_the_api_names_the_field(client):
    response = client.post("/api/v1/users", json={"username": "weak", "role": "reviewer", "password": "password123"})
    assert response.status_code == 422 and "common" in response.json()["detail"]
