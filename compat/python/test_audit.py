"""The Descope Python SDK's audit calls (``client.mgmt.audit``) against `ak serve`.

What the SDK sends is in descope/management/audit.py of the pinned package: search always sends
``noTenants`` and only the filters given (``login_ids`` as ``externalIds``, times as
``timestamp() * 1000``, a float); create_event sends action, type, actorId and tenantId, and
userId/data when given. Search answers are converted: ``occurred`` to a datetime, ``externalIds``
to ``loginIds``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from descope import AuthException


def test_a_keys_trail_newest_first_with_the_management_key_as_actor(sdk, server, tag):
    created = sdk.run(sdk.mgmt.create(name=f"audited {tag}"))
    key_id = created["key"]["id"]
    sdk.run(sdk.mgmt.deactivate(key_id))
    audit = sdk.client.mgmt.audit
    since = datetime.now(timezone.utc) - timedelta(minutes=5)

    found = sdk.run(audit.search(user_ids=[key_id], from_ts=since))["audits"]
    assert [a["action"] for a in found] == ["accesskey.deactivate", "accesskey.create"]
    for record in found:
        assert record["projectId"] == server.project_id
        assert record["userId"] == server.management["key"]["id"]
        assert record["remoteAddress"] == "127.0.0.1"
        assert record["loginIds"] == [key_id]
        assert isinstance(record["occurred"], datetime)
        assert record["data"]["outcome"] == "success"
    assert found[0]["occurred"] >= found[1]["occurred"]

    # The other filters the SDK sends.
    by_login = sdk.run(audit.search(login_ids=[key_id], actions=["accesskey.create"]))["audits"]
    assert [a["action"] for a in by_login] == ["accesskey.create"]
    rest = sdk.run(audit.search(user_ids=[key_id], excluded_actions=["accesskey.create"]))["audits"]
    assert [a["action"] for a in rest] == ["accesskey.deactivate"]
    assert sdk.run(audit.search(user_ids=[key_id], remote_addresses=["10.9.9.9"]))["audits"] == []
    assert len(sdk.run(audit.search(text=f"audited {tag}"))["audits"]) == 1
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert sdk.run(audit.search(user_ids=[key_id], from_ts=later))["audits"] == []


def test_application_events(sdk, server, tag):
    audit = sdk.client.mgmt.audit
    action = f"app.export.{tag}"
    sdk.run(audit.create_event(action=action, type="info", actor_id="svc-export", tenant_id=f"T{tag}",
                               user_id=f"U{tag}", data={"rows": 3}))
    found = sdk.run(audit.search(actions=[action], tenants=[f"T{tag}"]))["audits"]
    assert len(found) == 1
    record = found[0]
    assert record["userId"] == "svc-export"
    assert record["loginIds"] == [f"U{tag}"]
    assert record["tenants"] == [f"T{tag}"]
    assert record["data"]["rows"] == 3

    # ak's own action names are refused.
    with pytest.raises(AuthException) as refused:
        sdk.run(audit.create_event(action="accesskey.create", type="info", actor_id="svc", tenant_id="T"))
    assert refused.value.status_code == 400


def test_a_read_only_key_may_search_but_not_record(make_sdk, sdk, server, tag):
    reader = make_sdk(sdk.kind, server.read_only["cleartext"])
    audit = reader.client.mgmt.audit
    assert isinstance(reader.run(audit.search(actions=[f"none.{tag}"]))["audits"], list)
    with pytest.raises(AuthException) as refused:
        reader.run(audit.create_event(action=f"app.{tag}", type="info", actor_id="svc", tenant_id="T"))
    assert refused.value.status_code == 403
