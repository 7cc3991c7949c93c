"""The HTTP statuses the spec documents, as twilio-python's `*_with_http_info` calls report
them: create 201, fetch and update 200, delete 204 (with `data is True`). twilio-python
accepts any 2xx, but the twilio-cli only camelCases a create answered with 201."""

import json

import pytest

from helpers import FLOW_SID


def crud(lst, ctx_of, create_kw, update_kw):
    made = lst.create_with_http_info(**create_kw)
    assert made.status_code == 201, made.status_code
    sid = made.data.sid
    fetched = ctx_of(sid).fetch_with_http_info()
    assert fetched.status_code == 200 and fetched.data.sid == sid
    if update_kw is not None:
        updated = ctx_of(sid).update_with_http_info(**update_kw)
        assert updated.status_code == 200 and updated.data.sid == sid
    assert lst.list_with_http_info().status_code == 200
    deleted = ctx_of(sid).delete_with_http_info()
    assert deleted.status_code == 204 and deleted.data is True


@pytest.fixture
def conv(v1):
    return v1.conversations.create()


def test_conversation(v1):
    crud(v1.conversations, v1.conversations, {"friendly_name": "x"}, {"friendly_name": "y"})


def test_participant(v1, conv, unique):
    parts = v1.conversations(conv.sid).participants
    crud(parts, parts, {"identity": unique("s")}, {"attributes": "{}"})


def test_message(v1, conv):
    msgs = v1.conversations(conv.sid).messages
    crud(msgs, msgs, {"body": "x"}, {"body": "y"})


def test_scoped_webhook(v1, conv):
    hooks = v1.conversations(conv.sid).webhooks
    crud(hooks, hooks, {"target": "studio", "configuration_flow_sid": FLOW_SID}, {"configuration_flow_sid": FLOW_SID})


def test_address_configuration(v1, phone):
    addresses = v1.address_configurations
    crud(addresses, addresses, {"type": "sms", "address": phone()}, {"friendly_name": "y"})


def test_user(v1, unique):
    crud(v1.users, v1.users, {"identity": unique("s")}, {"friendly_name": "y"})


def test_role(v1):
    crud(
        v1.roles,
        v1.roles,
        {"friendly_name": "r", "type": "service", "permission": ["addMember"]},
        {"permission": ["addMember", "removeMember"]},
    )


def test_credential(v1):
    crud(v1.credentials, v1.credentials, {"type": "fcm", "secret": "s"}, {"friendly_name": "y"})


def test_service(v1, unique):
    crud(v1.services, v1.services, {"friendly_name": unique("s")}, None)


def test_conversation_with_participants(v1, unique):
    made = v1.conversation_with_participants.create_with_http_info(
        participant=[json.dumps({"identity": unique("s")})]
    )
    assert made.status_code in (201, 202)


def test_singletons(v1):
    for ctx, kw in [
        (v1.configuration(), {"default_inactive_timer": "PT0S"}),
        (v1.configuration.webhooks(), {"method": "POST"}),
    ]:
        assert ctx.fetch_with_http_info().status_code == 200
        assert ctx.update_with_http_info(**kw).status_code == 200
