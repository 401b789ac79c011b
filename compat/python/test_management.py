"""Every access-key management call of the Descope Python SDK against `ak serve`.

What the SDK sends is in descope/management/access_key.py and _access_key_base.py of the pinned
package: create always sends all nine fields with ``null`` for the unset ones, search always sends
``tenantIds``/``boundUserId``/``creatingUser``/``customAttributes``, update sends only the fields
given. Every call returns the raw JSON (create, load, search, rotate) or nothing, and raises
``AuthException(status_code, ...)`` on any non-2xx answer.
"""

from __future__ import annotations

import time

import pytest
from descope import AssociatedTenant, AuthException


def status_of(excinfo) -> int:
    return excinfo.value.status_code


def create(sdk, name, **fields) -> dict:
    created = sdk.run(sdk.mgmt.create(name=name, **fields))
    assert isinstance(created["cleartext"], str) and created["cleartext"]
    assert ":" not in created["cleartext"], "a cleartext with ':' breaks the Bearer <pid>:<key> header"
    return created


def test_license_handshake_gives_a_rate_limit_tier(sdk):
    # DescopeClient.__init__ calls GET /v1/mgmt/license (descope_client.py _fetch_rate_limit_tier);
    # the async client does it before its first management call (_ensure_license). A failure is
    # only logged, so the sign that it worked is the tier kept for the x-descope-license header.
    if sdk.kind == "async":
        sdk.run(sdk.client.aopen())
        tier = sdk.client._mgmt_http.rate_limit_tier
    else:
        tier = sdk.client._mgmt_http_client.rate_limit_tier
    assert isinstance(tier, str) and tier


def test_create_with_every_field(sdk, tag):
    now = int(time.time())
    expire = now + 7 * 24 * 3600
    created = create(
        sdk,
        f"every field {tag}",
        expire_time=expire,
        key_tenants=[AssociatedTenant(f"T-a-{tag}", ["admin", "viewer"]), AssociatedTenant(f"T-b-{tag}")],
        user_id=f"U2user{tag}",
        custom_claims={"plan": "gold", "limits": {"rpm": 60}},
        description="made by the compat suite",
        permitted_ips=["127.0.0.1", "10.0.0.0/8"],
        custom_attributes={"team": "infra", "tier": 3},
    )
    key = created["key"]
    assert isinstance(key["id"], str) and key["id"]
    assert key["name"] == f"every field {tag}"
    assert key["expireTime"] == expire
    assert key["status"] == "active"
    assert isinstance(key["createdTime"], int) and abs(key["createdTime"] - now) <= 60
    tenants = {t["tenantId"]: t for t in key["keyTenants"]}
    assert set(tenants) == {f"T-a-{tag}", f"T-b-{tag}"}
    assert tenants[f"T-a-{tag}"]["roleNames"] == ["admin", "viewer"]
    assert tenants[f"T-b-{tag}"].get("roleNames", []) == []
    assert key["roleNames"] == []
    assert key["boundUserId"] == f"U2user{tag}"
    assert key["customClaims"] == {"plan": "gold", "limits": {"rpm": 60}}
    assert key["description"] == "made by the compat suite"
    assert key["permittedIps"] == ["127.0.0.1", "10.0.0.0/8"]
    assert key["customAttributes"] == {"team": "infra", "tier": 3}
    assert isinstance(key["createdBy"], str)
    # The key works as made: 127.0.0.1 is permitted, the user binding needs no user directory.
    info = sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
    assert info["keyId"] == key["id"]
    assert info["sessionToken"]["plan"] == "gold" and info["sessionToken"]["limits"] == {"rpm": 60}
    assert info["tenants"][f"T-a-{tag}"]["roles"] == ["admin", "viewer"]
    assert f"T-b-{tag}" in info["tenants"]
    assert info["sessionToken"]["exp"] <= expire


def test_create_with_project_roles_and_defaults(sdk, tag):
    # Only name and roles given: the SDK sends userId/customClaims/description/permittedIps/
    # customAttributes as null and expireTime 0 (never expires).
    key = create(sdk, f"roles {tag}", role_names=["deployer", "reader"])["key"]
    assert key["roleNames"] == ["deployer", "reader"]
    assert key["keyTenants"] == []
    assert key["expireTime"] == 0
    # Descope answers empty values explicitly (python-sdk tests/e2e/test_access_keys.py).
    assert key["permittedIps"] == []
    assert key["description"] == ""
    assert key["status"] == "active"


def test_create_refuses_an_empty_name(sdk):
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.mgmt.create(name=""))
    assert status_of(excinfo) == 400


def test_load_returns_what_create_returned(sdk, tag):
    created = create(sdk, f"load {tag}", custom_claims={"k": "v"}, description="d")
    loaded = sdk.run(sdk.mgmt.load(created["key"]["id"]))
    assert loaded["key"] == created["key"]
    assert "cleartext" not in loaded


def test_load_of_an_unknown_id_is_404(sdk):
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.mgmt.load("K-no-such-key"))
    assert status_of(excinfo) == 404


def test_search_all_and_each_filter(sdk, server, tag):
    t1, t2 = f"T-s1-{tag}", f"T-s2-{tag}"
    in_t1 = create(sdk, f"s1 {tag}", key_tenants=[AssociatedTenant(t1, ["r"])])["key"]
    in_both = create(sdk, f"s12 {tag}", key_tenants=[AssociatedTenant(t1), AssociatedTenant(t2)])["key"]
    bound = create(sdk, f"su {tag}", user_id=f"U-s-{tag}", custom_attributes={"team": f"a-{tag}", "n": 1})["key"]
    other = create(sdk, f"sx {tag}", custom_attributes={"team": f"b-{tag}", "n": 1})["key"]

    def ids(**filters) -> set[str]:
        found = sdk.run(sdk.mgmt.search_all_access_keys(**filters))
        return {key["id"] for key in found["keys"]}

    everything = ids()
    assert {in_t1["id"], in_both["id"], bound["id"], other["id"]} <= everything
    assert ids(tenant_ids=[t1]) == {in_t1["id"], in_both["id"]}
    assert ids(tenant_ids=[t2]) == {in_both["id"]}
    assert ids(tenant_ids=[t2, f"T-none-{tag}"]) == {in_both["id"]}
    assert ids(bound_user_id=f"U-s-{tag}") == {bound["id"]}
    assert ids(custom_attributes={"team": f"a-{tag}"}) == {bound["id"]}
    assert ids(custom_attributes={"team": f"b-{tag}", "n": 1}) == {other["id"]}
    assert ids(custom_attributes={"team": f"b-{tag}", "n": 2}) == set()
    assert ids(tenant_ids=[t1], bound_user_id=f"U-s-{tag}") == set()
    # creatingUser is the creator as the key records it (createdBy).
    creator = in_t1["createdBy"]
    assert creator, "createdBy is empty, so search by creatingUser cannot be used"
    assert {in_t1["id"], in_both["id"], bound["id"], other["id"]} <= ids(creating_user=creator)
    assert ids(creating_user=f"nobody-{tag}") == set()
    # Management keys are their own kind of credential: never listed as access keys.
    assert server.management["key"]["id"] not in everything
    assert server.read_only["key"]["id"] not in everything


def test_update_changes_given_fields_and_keeps_absent_ones(sdk, tag):
    key = create(
        sdk,
        f"AAA {tag}",
        description="hey",
        custom_claims={"a": 1},
        permitted_ips=["10.0.0.1"],
        custom_attributes={"x": "1"},
        role_names=["reader"],
    )["key"]
    # update returns None in the Python SDK (it sends {"id", "name", <given fields>}).
    assert sdk.run(sdk.mgmt.update(key["id"], f"ABA {tag}", description="hello there")) is None
    loaded = sdk.run(sdk.mgmt.load(key["id"]))["key"]
    assert loaded["name"] == f"ABA {tag}"
    assert loaded["description"] == "hello there"

    # description=None is not sent: the stored one is kept (python-sdk tests/e2e test_update_access_key).
    sdk.run(sdk.mgmt.update(key["id"], f"ABA1 {tag}", description=None))
    loaded = sdk.run(sdk.mgmt.load(key["id"]))["key"]
    assert loaded["name"] == f"ABA1 {tag}"
    assert loaded["description"] == "hello there"
    assert loaded["customClaims"] == {"a": 1}
    assert loaded["permittedIps"] == ["10.0.0.1"]
    assert loaded["customAttributes"] == {"x": "1"}
    assert loaded["roleNames"] == ["reader"]

    sdk.run(
        sdk.mgmt.update(
            key["id"],
            f"ABA2 {tag}",
            custom_claims={"b": [1, 2]},
            permitted_ips=["127.0.0.1", "192.168.0.0/16"],
            custom_attributes={"y": True},
        )
    )
    loaded = sdk.run(sdk.mgmt.load(key["id"]))["key"]
    assert loaded["customClaims"] == {"b": [1, 2]}
    assert loaded["permittedIps"] == ["127.0.0.1", "192.168.0.0/16"]
    assert loaded["customAttributes"] == {"y": True}
    assert loaded["description"] == "hello there"
    # Empty values clear (go-sdk README: "pass an empty slice or map").
    sdk.run(sdk.mgmt.update(key["id"], f"ABA3 {tag}", description="", permitted_ips=[], custom_claims={}))
    loaded = sdk.run(sdk.mgmt.load(key["id"]))["key"]
    assert loaded["description"] == ""
    assert loaded["permittedIps"] == []
    assert loaded.get("customClaims", {}) == {}


def test_update_of_an_unknown_id_is_404(sdk):
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.mgmt.update("K-no-such-key", "name"))
    assert status_of(excinfo) == 404


def test_deactivate_then_activate(sdk, tag):
    created = create(sdk, f"toggle {tag}")
    key_id = created["key"]["id"]
    assert sdk.run(sdk.mgmt.deactivate(key_id)) is None
    assert sdk.run(sdk.mgmt.load(key_id))["key"]["status"] == "inactive"
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
    assert status_of(excinfo) == 401
    assert sdk.run(sdk.mgmt.activate(key_id)) is None
    assert sdk.run(sdk.mgmt.load(key_id))["key"]["status"] == "active"
    assert sdk.run(sdk.client.exchange_access_key(created["cleartext"]))["keyId"] == key_id


def test_delete(sdk, tag):
    created = create(sdk, f"delete {tag}")
    key_id = created["key"]["id"]
    assert sdk.run(sdk.mgmt.delete(key_id)) is None
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.mgmt.load(key_id))
    assert status_of(excinfo) == 404
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
    assert status_of(excinfo) == 401


def test_rotate_gives_a_new_secret_and_retires_the_old(sdk, tag):
    created = create(sdk, f"rotate {tag}", role_names=["reader"], description="kept")
    rotated = sdk.run(sdk.mgmt.rotate(created["key"]["id"]))
    assert isinstance(rotated["cleartext"], str) and rotated["cleartext"] != created["cleartext"]
    assert rotated["key"]["id"] == created["key"]["id"]
    assert rotated["key"]["name"] == created["key"]["name"]
    assert rotated["key"]["roleNames"] == ["reader"]
    assert rotated["key"]["description"] == "kept"
    # "The previous secret stops working as soon as this call returns."
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
    assert status_of(excinfo) == 401
    assert sdk.run(sdk.client.exchange_access_key(rotated["cleartext"]))["keyId"] == created["key"]["id"]


def test_the_three_batches(sdk, tag):
    ids = [create(sdk, f"batch {i} {tag}")["key"]["id"] for i in range(3)]

    def statuses() -> list[str]:
        return [sdk.run(sdk.mgmt.load(key_id))["key"]["status"] for key_id in ids]

    assert sdk.run(sdk.mgmt.deactivate_batch(ids)) is None
    assert statuses() == ["inactive"] * 3
    assert sdk.run(sdk.mgmt.activate_batch(ids[:2])) is None
    assert statuses() == ["active", "active", "inactive"]
    assert sdk.run(sdk.mgmt.delete_batch(ids)) is None
    for key_id in ids:
        with pytest.raises(AuthException) as excinfo:
            sdk.run(sdk.mgmt.load(key_id))
        assert status_of(excinfo) == 404


def test_configured_from_the_environment(sdk, server, monkeypatch, tag):
    # The SDK's environment form: DESCOPE_BASE_URI and DESCOPE_MANAGEMENT_KEY
    # (descope/_http_client_base.py, descope_client.py). The project id is passed: the sync
    # client's management HTTP client takes the raw argument, not DESCOPE_PROJECT_ID.
    from descope import DescopeClient, DescopeClientAsync

    monkeypatch.setenv("DESCOPE_BASE_URI", server.url)
    monkeypatch.setenv("DESCOPE_MANAGEMENT_KEY", server.management["cleartext"])
    client = (DescopeClient if sdk.kind == "sync" else DescopeClientAsync)(project_id=server.project_id)
    try:
        created = sdk.run(client.mgmt.access_key.create(name=f"env {tag}"))
        assert sdk.run(client.mgmt.access_key.load(created["key"]["id"]))["key"]["name"] == f"env {tag}"
        assert sdk.run(client.exchange_access_key(created["cleartext"]))["keyId"] == created["key"]["id"]
    finally:
        if sdk.kind == "async":
            sdk.run(client.aclose())
