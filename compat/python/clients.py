"""One Descope client, sync or async, pointed at an `ak serve` (see conftest.py)."""

from __future__ import annotations

import asyncio
import inspect

from descope import DescopeClient, DescopeClientAsync

from akserver import AkServer


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
