"""Property-based fuzz of the whole OpenAPI schema with schemathesis, authenticated as an admin.

Every operation gets generated requests (valid and invalid); none may answer 5xx, and every
answer must match the response schema the operation documents. Routes added later are fuzzed
automatically because the schema is read from the app.
"""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from fastapi.testclient import TestClient

from app.config import get_settings
from app.db import session_scope
from app.main import create_app
from app.services.users import ensure_admin_token

ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MAX_EXAMPLES = 5


def _restore_admin() -> None:
    # The fuzzer may revoke the token or demote/disable the admin: put them back before each case.
    with session_scope() as session:
        ensure_admin_token(session, ADMIN_TOKEN)


# Built at import, for collection. schemathesis opens a client (and so the app's lifespan) per
# request; the `database` fixture migrates the database, so the lifespan is skipped here.
fuzzed_app = create_app(get_settings())


async def without_lifespan(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await fuzzed_app(scope, receive, send)


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    """The import body is documented as a string: send the generated text as it is."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else json.dumps(value).encode()


schema = schemathesis.openapi.from_dict(fuzzed_app.openapi())
schema.app = without_lifespan


@pytest.fixture(autouse=True)
def some_data(database):
    _restore_admin()
    with TestClient(without_lifespan, headers=HEADERS) as c:
        c.post("/api/v1/datasets", json={"name": "fuzz", "task_type": "classification", "label_set": ["a", "b"]})
        c.post("/api/v1/datasets/1/import",
               content=b'{"prompt": "x", "completion": "a"}\n{"prompt": "y", "completion": "b"}',
               headers={"content-type": "application/x-ndjson"})


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_responses_match_the_schema(case):
    _restore_admin()
    case.call_and_validate(headers=HEADERS, checks=[not_a_server_error, response_schema_conformance])
