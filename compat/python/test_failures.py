"""Failure paths as the Python SDK sees them: every non-2xx answer (but 429) becomes
``AuthException(status_code, "server error", <response body>)`` (descope/_http_client_base.py
_raise_from_response), and 503/520-530 are retried for ~10 s, so a refusal must be a fast 4xx
with Descope's error body.
"""

from __future__ import annotations

import json

import pytest
from descope import AuthException


def error_body(excinfo) -> dict:
    body = json.loads(excinfo.value.error_message)
    assert isinstance(body.get("errorCode"), str) and body["errorCode"], body
    assert "errorDescription" in body and "errorMessage" in body, body
    return body


def refused_exchange(sdk, access_key: str) -> dict:
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.client.exchange_access_key(access_key))
    assert excinfo.value.status_code == 401
    return error_body(excinfo)


def test_wrong_unknown_and_malformed_keys_are_refused_alike(sdk, tag):
    created = sdk.run(sdk.mgmt.create(name=f"wrong {tag}"))
    cleartext = created["cleartext"]
    # The same id with another secret of the same shape.
    wrong_secret = cleartext[:-8] + ("a" if cleartext[-8] != "a" else "b") + cleartext[-7:]
    bodies = [
        refused_exchange(sdk, wrong_secret),
        refused_exchange(sdk, "ak_nosuchkey_" + "x" * 40),
        refused_exchange(sdk, "not-a-key"),
    ]
    # One indistinguishable answer for unknown, wrong and malformed keys (issue 14).
    assert bodies[0] == bodies[1] == bodies[2]
    assert cleartext not in json.dumps(bodies)
    # The real key still works.
    assert sdk.run(sdk.client.exchange_access_key(cleartext))["keyId"] == created["key"]["id"]


def test_a_management_key_is_not_an_access_key(sdk, server):
    refused_exchange(sdk, server.management["cleartext"])


def test_a_wrong_management_key_is_refused(sdk, make_sdk):
    wrong = make_sdk(sdk.kind, "not-the-management-key")
    with pytest.raises(AuthException) as excinfo:
        wrong.run(wrong.mgmt.search_all_access_keys())
    assert excinfo.value.status_code == 401
    error_body(excinfo)


def test_an_access_key_is_not_a_management_key(sdk, make_sdk, tag):
    created = sdk.run(sdk.mgmt.create(name=f"not mgmt {tag}"))
    as_mgmt = make_sdk(sdk.kind, created["cleartext"])
    with pytest.raises(AuthException) as excinfo:
        as_mgmt.run(as_mgmt.mgmt.load(created["key"]["id"]))
    assert excinfo.value.status_code == 401


def test_a_read_only_management_key_may_load_and_search_only(sdk, server, make_sdk, tag):
    created = sdk.run(sdk.mgmt.create(name=f"ro {tag}", custom_attributes={"ro": tag}))
    reader = make_sdk(sdk.kind, server.read_only["cleartext"])
    assert reader.run(reader.mgmt.load(created["key"]["id"]))["key"]["id"] == created["key"]["id"]
    found = reader.run(reader.mgmt.search_all_access_keys(custom_attributes={"ro": tag}))
    assert [key["id"] for key in found["keys"]] == [created["key"]["id"]]
    for call in (
        lambda: reader.mgmt.create(name=f"ro denied {tag}"),
        lambda: reader.mgmt.update(created["key"]["id"], "renamed"),
        lambda: reader.mgmt.deactivate(created["key"]["id"]),
        lambda: reader.mgmt.rotate(created["key"]["id"]),
        lambda: reader.mgmt.delete_batch([created["key"]["id"]]),
    ):
        with pytest.raises(AuthException) as excinfo:
            reader.run(call())
        assert excinfo.value.status_code == 403
        error_body(excinfo)
    # Nothing changed.
    key = sdk.run(sdk.mgmt.load(created["key"]["id"]))["key"]
    assert key["name"] == f"ro {tag}" and key["status"] == "active"
    assert sdk.run(sdk.client.exchange_access_key(created["cleartext"]))["keyId"] == created["key"]["id"]


def test_another_project_id_is_refused(sdk, server, tag):
    from descope import DescopeClient, DescopeClientAsync

    created = sdk.run(sdk.mgmt.create(name=f"pid {tag}"))
    cls = DescopeClient if sdk.kind == "sync" else DescopeClientAsync
    other = cls(project_id="P2someOtherProject0000000000", base_url=server.url)
    try:
        with pytest.raises(AuthException) as excinfo:
            sdk.run(other.exchange_access_key(created["cleartext"]))
        assert excinfo.value.status_code == 401
    finally:
        if sdk.kind == "async":
            sdk.run(other.aclose())
