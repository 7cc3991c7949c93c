"""Account and service resources: Services (and everything served under
`/v1/Services/{IS}`), Users, Roles, Configuration, service Configuration and
Notifications, Credentials, Bindings, ConversationWithParticipants."""

import json

import pytest
from twilio.base import values

from helpers import assert_datetime, assert_recent, assert_sid, assert_url, page_error, twilio_error


@pytest.fixture
def service(v1, unique):
    svc = v1.services.create(friendly_name=unique("svc"))
    yield svc
    v1.services(svc.sid).delete()


def test_service_crud(v1, parley, unique):
    name = unique("service")
    svc = v1.services.create(friendly_name=name)
    assert_sid(svc.sid, "IS")
    assert svc.account_sid == parley.account_sid
    assert svc.friendly_name == name
    assert_recent(svc.date_created)
    assert_url(svc.url, parley.base_url, f"/v1/Services/{svc.sid}")
    assert set(svc.links) >= {
        "conversations", "users", "roles", "bindings", "configuration", "participant_conversations"
    }
    assert svc.links["conversations"] == f"{svc.url}/Conversations"

    assert v1.services(svc.sid).fetch().friendly_name == name
    assert svc.sid in [s.sid for s in v1.services.list()]
    assert v1.services(svc.sid).delete() is True
    with twilio_error(404, 20404):
        v1.services(svc.sid).fetch()
    with twilio_error(400, 20001):
        v1.services.create(friendly_name=values.unset)


def test_service_scoped_conversation_tree(v1, parley, service, phone, unique):
    """The same resources under /v1/Services/{IS}; URLs keep the service form."""
    s = v1.services(service.sid)
    conv = s.conversations.create(friendly_name="scoped", unique_name=unique("scoped"))
    assert conv.chat_service_sid == service.sid
    assert_url(conv.url, parley.base_url, f"/v1/Services/{service.sid}/Conversations/{conv.sid}")
    assert s.conversations(conv.unique_name).fetch().sid == conv.sid
    # Not visible through the default service.
    with twilio_error(404):
        v1.conversations(conv.sid).fetch()

    who = unique("svc-user")
    p = s.conversations(conv.sid).participants.create(identity=who)
    assert_url(p.url, parley.base_url, f"/v1/Services/{service.sid}/Conversations/{conv.sid}/Participants/{p.sid}")
    sms = s.conversations(conv.sid).participants.create(
        messaging_binding_address=phone(), messaging_binding_proxy_address=phone()
    )
    m = s.conversations(conv.sid).messages.create(author=who, body="hi")
    assert m.participant_sid == p.sid
    assert s.conversations(conv.sid).messages(m.sid).fetch().body == "hi"
    # One receipt per non-chat recipient: the SMS participant.
    receipts = s.conversations(conv.sid).messages(m.sid).delivery_receipts.list()
    assert [(r.participant_sid, r.message_sid) for r in receipts] == [(sms.sid, m.sid)]
    r = s.conversations(conv.sid).messages(m.sid).delivery_receipts(receipts[0].sid).fetch()
    assert_sid(r.sid, "DY")
    assert r.status in ("sent", "delivered", "read", "failed", "undelivered")
    assert_url(
        r.url, parley.base_url, f"/v1/Services/{service.sid}/Conversations/{conv.sid}/Messages/{m.sid}/Receipts/{r.sid}"
    )
    w = s.conversations(conv.sid).webhooks.create(target="studio", configuration_flow_sid="FW" + "a" * 32)
    assert s.conversations(conv.sid).webhooks(w.sid).fetch().sid == w.sid
    assert [x.sid for x in s.conversations.list()] == [conv.sid]

    assert [r.conversation_sid for r in s.participant_conversations.list(identity=who)] == [conv.sid]
    assert [r.participant_sid for r in s.participant_conversations.list(address=sms.messaging_binding["address"])] == [
        sms.sid
    ]
    user = s.users(who).fetch()
    assert user.chat_service_sid == service.sid
    assert [uc.conversation_sid for uc in s.users(user.sid).user_conversations.list()] == [conv.sid]
    assert s.users(who).user_conversations(conv.sid).fetch().chat_service_sid == service.sid

    cwp = s.conversation_with_participants.create(friendly_name="cwp", participant=[json.dumps({"identity": who})])
    assert cwp.chat_service_sid == service.sid

    assert s.conversations(conv.sid).update(friendly_name="renamed").friendly_name == "renamed"
    assert s.conversations(conv.sid).delete() is True


def test_users(v1, parley, unique):
    who = unique("user")
    u = v1.users.create(identity=who, friendly_name="Frank", attributes='{"tier": "gold"}')
    assert_sid(u.sid, "US")
    assert u.identity == who
    assert u.friendly_name == "Frank"
    assert json.loads(u.attributes) == {"tier": "gold"}
    assert_sid(u.role_sid, "RL")
    assert_datetime(u.date_created)
    assert_url(u.url, parley.base_url, f"/v1/Users/{u.sid}")
    assert u.links["user_conversations"] == f"{u.url}/Conversations"

    assert v1.users(who).fetch().sid == u.sid
    upd = v1.users(u.sid).update(friendly_name="Franky", attributes='{"tier": "silver"}')
    assert upd.friendly_name == "Franky" and json.loads(upd.attributes) == {"tier": "silver"}
    assert u.sid in [x.sid for x in v1.users.list()]

    with twilio_error(409):
        v1.users.create(identity=who)
    with twilio_error(400, 20001):
        v1.users.create(identity=values.unset)
    with twilio_error(400):
        v1.users.create(identity=unique("bad-attrs"), attributes="{")

    assert v1.users(who).delete() is True
    with twilio_error(404, 20404):
        v1.users(u.sid).fetch()


def test_users_paging(service, v1, unique):
    s = v1.services(service.sid)
    made = [s.users.create(identity=unique("u")).sid for _ in range(5)]
    assert [u.sid for u in s.users.list()] == made
    assert [u.sid for u in s.users.list(limit=3, page_size=2)] == made[:3]


def test_roles(v1, parley, unique):
    role = v1.roles.create(
        friendly_name=unique("role")[:60], type="conversation", permission=["sendMessage", "leaveConversation"]
    )
    assert_sid(role.sid, "RL")
    assert role.type == "conversation"
    assert role.permissions == ["sendMessage", "leaveConversation"]
    assert_sid(role.chat_service_sid, "IS")
    assert_datetime(role.date_created)
    assert_url(role.url, parley.base_url, f"/v1/Roles/{role.sid}")

    assert v1.roles(role.sid).fetch().permissions == role.permissions
    upd = v1.roles(role.sid).update(permission=["sendMessage", "editOwnMessage", "deleteOwnMessage"])
    assert upd.permissions == ["sendMessage", "editOwnMessage", "deleteOwnMessage"]
    assert role.sid in [r.sid for r in v1.roles.list()]

    with twilio_error(400, 20001):
        v1.roles.create(friendly_name="no-perms", type="service", permission=values.unset)
    with twilio_error(400, 20001):
        v1.roles(role.sid).update(permission=values.unset)
    with twilio_error(400):
        v1.roles.create(friendly_name="bad-type", type="galaxy", permission=["sendMessage"])

    # A participant can carry a conversation role.
    conv = v1.conversations.create()
    p = v1.conversations(conv.sid).participants.create(identity=unique("roled"), role_sid=role.sid)
    assert p.role_sid == role.sid

    assert v1.roles(role.sid).delete() is True
    with twilio_error(404, 20404):
        v1.roles(role.sid).fetch()


def test_account_configuration(v1, parley):
    cfg = v1.configuration().fetch()
    assert cfg.account_sid == parley.account_sid
    assert_sid(cfg.default_chat_service_sid, "IS")
    assert_sid(cfg.default_messaging_service_sid, "MG")
    assert_url(cfg.url, parley.base_url, "/v1/Configuration")
    assert cfg.links["webhooks"] == f"{parley.base_url}/v1/Configuration/Webhooks"
    assert cfg.links["service"] == f"{parley.base_url}/v1/Services/{cfg.default_chat_service_sid}/Configuration"

    try:
        upd = v1.configuration().update(default_inactive_timer="PT10M", default_closed_timer="PT1H")
        assert upd.default_inactive_timer == "PT10M"
        assert upd.default_closed_timer == "PT1H"
        conv = v1.conversations.create()
        assert set(conv.timers) == {"date_inactive", "date_closed"}
        with twilio_error(400):
            v1.configuration().update(default_inactive_timer="PT10S")
    finally:
        v1.configuration().update(default_inactive_timer="PT0S", default_closed_timer="PT0S")
    assert v1.conversations.create().timers == {}


def test_default_chat_service_retargets_short_paths(v1, service):
    cfg = v1.configuration().fetch()
    original = cfg.default_chat_service_sid
    try:
        v1.configuration().update(default_chat_service_sid=service.sid)
        conv = v1.conversations.create(friendly_name="in the new default")
        assert conv.chat_service_sid == service.sid
        assert v1.services(service.sid).conversations(conv.sid).fetch().sid == conv.sid
    finally:
        v1.configuration().update(default_chat_service_sid=original)
    assert v1.conversations.create().chat_service_sid == original


def test_service_configuration_and_notifications(v1, parley, service, unique):
    s = v1.services(service.sid)
    cfg = s.configuration().fetch()
    assert cfg.chat_service_sid == service.sid
    assert cfg.reachability_enabled is False
    assert_sid(cfg.default_conversation_role_sid, "RL")
    assert_url(cfg.url, parley.base_url, f"/v1/Services/{service.sid}/Configuration")
    role = s.roles.create(friendly_name="creator", type="conversation", permission=["sendMessage"])
    upd = s.configuration().update(reachability_enabled=True, default_conversation_creator_role_sid=role.sid)
    assert upd.reachability_enabled is True
    assert upd.default_conversation_creator_role_sid == role.sid

    notif = s.configuration.notifications().fetch()
    assert notif.chat_service_sid == service.sid
    assert_url(notif.url, parley.base_url, f"/v1/Services/{service.sid}/Configuration/Notifications")
    n2 = s.configuration.notifications().update(
        log_enabled=True, new_message_enabled=True, new_message_template="New: ${MESSAGE}", new_message_sound="ding"
    )
    assert n2.log_enabled is True
    assert n2.new_message["enabled"] is True
    assert n2.new_message["template"] == "New: ${MESSAGE}"
    assert n2.new_message["sound"] == "ding"


def test_credentials(client, v1, parley):
    cred = v1.credentials.create(type="fcm", friendly_name="push", secret="server-key")
    assert_sid(cred.sid, "CR")
    assert cred.type == "fcm"
    assert cred.friendly_name == "push"
    assert_datetime(cred.date_created)
    assert_url(cred.url, parley.base_url, f"/v1/Credentials/{cred.sid}")
    raw = client.request("GET", cred.url).text
    assert "server-key" not in raw  # secrets never come back

    assert v1.credentials(cred.sid).fetch().friendly_name == "push"
    apn = v1.credentials.create(type="apn", friendly_name="ios", certificate="CERT", private_key="KEY", sandbox=True)
    assert apn.sandbox == "true" or apn.sandbox is True
    upd = v1.credentials(cred.sid).update(friendly_name="push2")
    assert upd.friendly_name == "push2"
    assert [c.sid for c in v1.credentials.list() if c.sid in (cred.sid, apn.sid)] == [cred.sid, apn.sid]
    with twilio_error(400, 20001):
        v1.credentials.create(type=values.unset, friendly_name="x")
    assert v1.credentials(cred.sid).delete() is True
    with twilio_error(404, 20404):
        v1.credentials(cred.sid).fetch()


def test_bindings(v1, service):
    bindings = v1.services(service.sid).bindings
    assert bindings.list() == []
    with twilio_error(404):
        bindings("BS" + "0" * 32).fetch()
    with page_error(404):
        v1.services("IS" + "0" * 32).bindings.list()


def test_conversation_with_participants(v1, parley, phone, unique):
    user, proxy = phone(), phone()
    who = unique("cwp")
    conv = v1.conversation_with_participants.create(
        friendly_name="with people",
        attributes='{"source": "cwp"}',
        participant=[
            json.dumps({"messaging_binding": {"address": user, "proxy_address": proxy}}),
            json.dumps({"identity": who}),
        ],
    )
    assert_sid(conv.sid, "CH")
    assert conv.friendly_name == "with people"
    assert conv.state in ("active", "initializing")
    assert_datetime(conv.date_created)
    assert_url(conv.url, parley.base_url, f"/v1/Conversations/{conv.sid}")
    parts = v1.conversations(conv.sid).participants.list()
    assert sorted((p.identity or "", (p.messaging_binding or {}).get("address", "")) for p in parts) == sorted(
        [("", user), (who, "")]
    )

    # The same pair in another call is refused before anything is created.
    with twilio_error(409, 50425):
        v1.conversation_with_participants.create(
            unique_name=unique("never"),
            participant=[json.dumps({"messaging_binding": {"address": user, "proxy_address": proxy}})],
        )
    with twilio_error(400, 50424):
        v1.conversation_with_participants.create(participant=["{not json"])
    with twilio_error(400, 50426):
        v1.conversation_with_participants.create(
            participant=[json.dumps({"identity": unique("many")}) for _ in range(11)]
        )


def test_deleting_a_service_deletes_its_resources(v1, unique):
    svc = v1.services.create(friendly_name=unique("doomed"))
    s = v1.services(svc.sid)
    conv = s.conversations.create(friendly_name="inside")
    s.conversations(conv.sid).participants.create(identity=unique("inside"))
    user = s.users.create(identity=unique("inside-user"))
    assert v1.services(svc.sid).delete() is True
    with twilio_error(404):
        v1.services(svc.sid).conversations(conv.sid).fetch()
    with twilio_error(404):
        v1.services(svc.sid).users(user.sid).fetch()
    assert svc.sid not in [x.sid for x in v1.services.list()]
