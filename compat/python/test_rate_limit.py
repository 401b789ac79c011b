"""ak's limit on failed authentications, as the Python SDK sees it: past the per-IP burst the
server answers 429 with Descope's body and a Retry-After header, which the SDK turns into
RateLimitException(status_code=<errorCode>, rate_limit_parameters={"Retry-After": <int>})
(descope/_http_client_base.py _raise_rate_limit_exception). The SDK does not retry a 429."""

from __future__ import annotations

import pytest
from descope import API_RATE_LIMIT_RETRY_AFTER_HEADER, AuthException, DescopeClient, RateLimitException

from akserver import AkServer, ak_bin

BURST = 3


@pytest.fixture
def limited():
    srv = AkServer(ak_bin(), name="pytest-ratelimit",
                   serve_args=("--auth-failure-burst", str(BURST), "--auth-failures-per-second", "1"))
    srv.start()
    yield srv
    srv.stop()


def test_failed_exchanges_past_the_burst_get_a_rate_limit_exception(limited):
    client = DescopeClient(project_id=limited.project_id, base_url=limited.url)
    outcomes = []
    for _ in range(BURST + 3):
        try:
            client.exchange_access_key("not-a-key")
        except RateLimitException as limit:
            outcomes.append(limit)
        except AuthException as refused:
            assert refused.status_code == 401
            outcomes.append(401)
    assert outcomes[0] == 401
    limits = [o for o in outcomes if isinstance(o, RateLimitException)]
    assert limits, f"no 429 after {len(outcomes)} failed exchanges with a burst of {BURST}: {outcomes}"
    limit = limits[0]
    assert limit.status_code == "E130429"
    assert limit.error_message == "API rate limit exceeded."
    assert limit.rate_limit_parameters[API_RATE_LIMIT_RETRY_AFTER_HEADER] >= 1
