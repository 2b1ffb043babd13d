import pytest

from tests.robustness.live_server import LiveServer


@pytest.fixture
def live_server_factory():
    """Start real uvicorn servers on the test database; all are stopped (or already killed) at the end."""
    servers: list[LiveServer] = []

    def start(workers: int = 1, **env) -> LiveServer:
        server = LiveServer(workers=workers, env=env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
