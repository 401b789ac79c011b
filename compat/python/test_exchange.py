"""Exchange, session validation and the authorization helpers of the Descope Python SDK.

``exchange_access_key`` (descope/auth.py) posts ``{"loginOptions": {...non-None fields}}`` with
``Bearer <projectId>:<accessKey>``, then validates ``sessionJwt`` itself: it fetches the JWKS from
``GET /v2/keys/<projectId>``, needs ``alg`` and ``kid`` on the key and in the JWT header, checks
the signature, exp/nbf/iat (5 s leeway) and ``aud`` (descope/_auth_base.py). It returns the claims
under ``sessionToken`` plus top-level ``permissions``/``roles``/``tenants``, ``projectId`` (the last
``/`` segment of ``iss``) and ``keyId`` (``dsub`` or ``sub``), see descope/jwt_common.py.
"""

from __future__ import annotations

import time

import pytest
from descope import AccessKeyLoginOptions, AssociatedTenant, AuthException


def create(sdk, name, **fields) -> dict:
    return sdk.run(sdk.mgmt.create(name=name, **fields))


def test_exchange_with_custom_claims_and_a_selected_tenant(sdk, server, tag):
    t1, t2 = f"T-x1-{tag}", f"T-x2-{tag}"
    created = create(
        sdk,
        f"exchange {tag}",
        key_tenants=[AssociatedTenant(t1, ["admin"]), AssociatedTenant(t2, ["viewer"])],
        custom_claims={"k1": "v1", "plan": {"tier": 2}},
    )
    before = int(time.time())
    info = sdk.run(
        sdk.client.exchange_access_key(
            created["cleartext"],
            login_options=AccessKeyLoginOptions(custom_claims={"nsec-k1": "nsec-v1"}, selected_tenant=t1),
        )
    )
    token = info["sessionToken"]
    assert info["keyId"] == created["key"]["id"]
    assert info["projectId"] == server.project_id
    assert token["iss"].rsplit("/")[-1] == server.project_id
    assert isinstance(token["jwt"], str) and token["jwt"].count(".") == 2
    # The key's custom claims are top-level claims; the exchange's are under nsec
    # (python-sdk tests/e2e/test_access_keys.py test_exchange_access_key).
    assert token["k1"] == "v1"
    assert token["plan"] == {"tier": 2}
    assert token["nsec"] == {"nsec-k1": "nsec-v1"}
    assert token["dct"] == t1
    assert set(info["tenants"]) == {t1, t2}
    assert info["tenants"][t1]["roles"] == ["admin"]
    assert info["tenants"][t2]["roles"] == ["viewer"]
    assert before - 10 <= token["iat"] <= time.time() + 10
    assert token["exp"] > time.time()

    assert sdk.client.validate_tenant_roles(info, t1, ["admin"])
    assert not sdk.client.validate_tenant_roles(info, t1, ["viewer"])
    assert sdk.client.validate_tenant_roles(info, t2, ["viewer"])
    assert not sdk.client.validate_tenant_roles(info, f"T-other-{tag}", [])
    assert sdk.client.get_matched_tenant_roles(info, t1, ["admin", "viewer"]) == ["admin"]
    # Permissions come from the server's role catalog (compat/roles.json).
    assert sorted(info["tenants"][t1]["permissions"]) == ["tenant:manage", "tenant:read"]
    assert sdk.client.validate_tenant_permissions(info, t1, ["tenant:manage", "tenant:read"])
    assert sdk.client.validate_tenant_permissions(info, t2, ["tenant:read"])
    assert not sdk.client.validate_tenant_permissions(info, t2, ["tenant:manage"])
    assert not sdk.client.validate_tenant_permissions(info, f"T-other-{tag}", [])
    assert sdk.client.get_matched_tenant_permissions(info, t2, ["tenant:manage", "tenant:read"]) == ["tenant:read"]
    # Tenant roles give no project-level permissions.
    assert not sdk.client.validate_permissions(info, ["tenant:read"])


def test_exchange_with_no_options(sdk, tag):
    # With no login options the SDK sends {"loginOptions": {}}.
    created = create(sdk, f"plain {tag}", role_names=["reader"])
    info = sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
    assert info["keyId"] == created["key"]["id"]
    assert info["roles"] == ["reader"]
    assert "nsec" not in info["sessionToken"] or info["sessionToken"]["nsec"] == {}
    assert "dct" not in info["sessionToken"]


def test_validate_session_and_project_roles(sdk, server, tag):
    created = create(sdk, f"validate {tag}", role_names=["deployer", "reader"])
    info = sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
    jwt = info["sessionToken"]["jwt"]

    # validate_session checks the token against the JWKS, with no server call once it is cached.
    session = sdk.run(sdk.client.validate_session(jwt))
    # validate_session reads any token as a user's: the subject lands in userId (jwt_common.py).
    assert session["userId"] == created["key"]["id"]
    assert session["projectId"] == server.project_id
    assert session["sessionToken"]["sub"] == created["key"]["id"]
    assert session["roles"] == ["deployer", "reader"]

    assert sdk.client.validate_roles(session, ["deployer"])
    assert sdk.client.validate_roles(session, ["deployer", "reader"])
    assert not sdk.client.validate_roles(session, ["deployer", "admin"])
    assert sdk.client.get_matched_roles(session, ["admin", "reader"]) == ["reader"]
    # deployer -> deploy, read; reader -> read (compat/roles.json).
    assert sorted(session["permissions"]) == ["deploy", "read"]
    assert sdk.client.validate_permissions(session, ["deploy"])
    assert sdk.client.validate_permissions(session, ["deploy", "read"])
    assert not sdk.client.validate_permissions(session, ["deploy", "delete"])
    assert sdk.client.get_matched_permissions(session, ["delete", "read"]) == ["read"]

    # A key with only the reader role cannot deploy.
    reader = create(sdk, f"reader {tag}", role_names=["reader"])
    reader_info = sdk.run(sdk.client.exchange_access_key(reader["cleartext"]))
    assert sdk.client.validate_permissions(reader_info, ["read"])
    assert not sdk.client.validate_permissions(reader_info, ["deploy"])


def test_an_unknown_role_is_refused(sdk, tag):
    # With a role catalog, ak refuses roles it does not know (400), project or tenant.
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.mgmt.create(name=f"unknown role {tag}", role_names=["no-such-role"]))
    assert excinfo.value.status_code == 400
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.mgmt.create(name=f"unknown tenant role {tag}",
                                key_tenants=[AssociatedTenant(f"T-{tag}", ["no-such-role"])]))
    assert excinfo.value.status_code == 400


def test_validate_session_refuses_a_tampered_token(sdk, tag):
    created = create(sdk, f"tamper {tag}")
    jwt = sdk.run(sdk.client.exchange_access_key(created["cleartext"]))["sessionToken"]["jwt"]
    header, payload, signature = jwt.split(".")
    # Flip one signature character (not the last, whose low bits base64url may ignore).
    flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
    with pytest.raises(Exception) as excinfo:
        sdk.run(sdk.client.validate_session(f"{header}.{payload}.{flipped}"))
    # PyJWT's InvalidSignatureError (the SDK does not wrap it) or an AuthException.
    assert "ignature" in type(excinfo.value).__name__ + str(excinfo.value)


def test_permitted_ips_are_enforced(sdk, tag):
    # The suite reaches the server from 127.0.0.1.
    allowed = create(sdk, f"ip ok {tag}", permitted_ips=["127.0.0.0/8"])
    assert sdk.run(sdk.client.exchange_access_key(allowed["cleartext"]))["keyId"] == allowed["key"]["id"]
    denied = create(sdk, f"ip denied {tag}", permitted_ips=["10.9.8.7", "192.168.0.0/16"])
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.client.exchange_access_key(denied["cleartext"]))
    # issue 14: "403 (read-only management key, IP not permitted)".
    assert excinfo.value.status_code == 403


def test_an_expired_key_is_refused(sdk, tag):
    # expireTime is Unix seconds and must be in the future at creation: make one that expires
    # in 2 s, use it, wait it out.
    expire = int(time.time()) + 2
    created = create(sdk, f"expiring {tag}", expire_time=expire)
    info = sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
    # A session token never outlives its key.
    assert info["sessionToken"]["exp"] <= expire
    while time.time() < expire + 1:
        time.sleep(0.2)
    with pytest.raises(AuthException) as excinfo:
        sdk.run(sdk.client.exchange_access_key(created["cleartext"]))
    assert excinfo.value.status_code == 401


def test_an_auth_management_key_on_the_exchange_is_ignored(sdk, server, make_sdk, tag):
    # With auth_management_key set the SDK sends Bearer <pid>:<accessKey>:<authManagementKey>
    # (_http_client_base.py _get_default_headers); ak ignores the third part.
    created = create(sdk, f"auth mgmt {tag}")
    from descope import DescopeClient, DescopeClientAsync

    cls = DescopeClient if sdk.kind == "sync" else DescopeClientAsync
    client = cls(project_id=server.project_id, base_url=server.url, auth_management_key="some-auth-management-key")
    try:
        assert sdk.run(client.exchange_access_key(created["cleartext"]))["keyId"] == created["key"]["id"]
    finally:
        if sdk.kind == "async":
            sdk.run(client.aclose())
