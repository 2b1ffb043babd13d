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
