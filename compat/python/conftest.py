"""Fixtures: one `ak serve` per test session, and the official Descope clients pointed at it.

Every test that takes ``sdk`` runs twice, once with the sync ``DescopeClient`` and once with
``DescopeClientAsync``. Tests are written once: ``sdk.run(x)`` awaits ``x`` on the async client's
event loop when it is a coroutine and returns it unchanged otherwise, so the async variant really
runs the SDK's async code (httpx.AsyncClient) end to end.
"""

from __future__ import annotations

import uuid

import pytest

from akserver import AkServer, ak_bin
from clients import Sdk


@pytest.fixture(scope="session")
def server():
    srv = AkServer(ak_bin(), name="pytest")
    srv.management = srv.management_key("compat-admin")
    srv.read_only = srv.management_key("compat-reader", read_only=True)
    srv.start()
    yield srv
    # SIGTERM stops ak serve gracefully: exit status 0, not a crash or a kill.
    assert srv.stop() == 0, f"ak serve did not stop cleanly; log: {srv.log_tail()}"


@pytest.fixture(params=["sync", "async"])
def sdk(request, server):
    client = Sdk(request.param, server, server.management["cleartext"])
    yield client
    client.close()


@pytest.fixture
def make_sdk(request, server):
    """Builds more clients of the same kind as ``sdk`` (other management keys, or none)."""
    made: list[Sdk] = []

    def make(kind: str, management_key: str | None) -> Sdk:
        client = Sdk(kind, server, management_key)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def tag():
    """A unique suffix so that tests sharing the server never see each other's keys."""
    return uuid.uuid4().hex[:10]
