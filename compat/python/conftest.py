"""Fixtures: one `ak serve` per test session, and the official Descope clients pointed at it.

Every test that takes ``sdk`` runs twice, once with the sync ``DescopeClient`` and once with
``DescopeClientAsync``. Tests are written once: ``sdk.run(x)`` awaits ``x`` on the async client's
event loop when it is a coroutine and returns it unchanged otherwise, so the async variant really
runs the SDK's async code (httpx.AsyncClient) end to end.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid

import pytest
from descope import DescopeClient, DescopeClientAsync

from akserver import AkServer, ak_bin


@pytest.fixture(scope="session")
def server():
    srv = AkServer(ak_bin(), name="pytest")
    srv.management = srv.management_key("compat-admin")
    srv.read_only = srv.management_key("compat-reader", read_only=True)
    srv.start()
    yield srv
    # SIGTERM stops ak serve gracefully: exit status 0, not a crash or a kill.
    assert srv.stop() == 0, f"ak serve did not stop cleanly; log: {srv.log_tail()}"


class Sdk:
    """One Descope client (sync or async) and the helpers the tests share."""

    def __init__(self, kind: str, server: AkServer, management_key: str | None):
        self.kind = kind
        self.server = server
        self.loop = asyncio.new_event_loop() if kind == "async" else None
        cls = DescopeClient if kind == "sync" else DescopeClientAsync
        # base_url is the SDK's documented setting (DESCOPE_BASE_URI is its environment form).
        self.client = cls(project_id=server.project_id, management_key=management_key, base_url=server.url)

    @property
    def mgmt(self):
        return self.client.mgmt.access_key

    def run(self, value):
        if inspect.isawaitable(value):
            assert self.loop is not None, "a coroutine from the sync client"
            return self.loop.run_until_complete(value)
        return value

    def close(self):
        if self.loop is not None:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


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
