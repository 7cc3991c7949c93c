"""Participants (SMS and chat), the binding rules that route inbound texts, and the
lookups built on them: ParticipantConversations and a User's Conversations."""

import json

from helpers import assert_datetime, assert_sid, assert_url, page_error, twilio_error


def test_sms_participant_crud(v1, parley, phone):
    conv = v1.conversations.create()
    parts = v1.conversations(conv.sid).participants
    user, proxy = phone(), phone()
    p = parts.create(
        messaging_binding_address=user,
        messaging_binding_proxy_address=proxy,
        attributes='{"role": "driver"}',
    )
    assert p.messaging_binding == {"type": "sms", "address": user, "proxy_address": proxy}
    assert json.loads(p.attributes) == {"role": "driver"}

    fetched = parts(p.sid).fetch()
    assert fetched.sid == p.sid and fetched.messaging_binding == p.messaging_binding
    assert_url(fetched.url, parley.base_url, f"/v1/Conversations/{conv.sid}/Participants/{p.sid}")

    updated = parts(p.sid).update(attributes='{"role": "rider"}', last_read_message_index=3)
    assert json.loads(updated.attributes) == {"role": "rider"}
    assert updated.last_read_message_index == 3
    assert parts(p.sid).fetch().last_read_message_index == 3

    assert parts(p.sid).delete() is True
    with twilio_error(404):
        parts(p.sid).fetch()
    assert parts.list() == []


def test_chat_participant_by_identity(v1, parley, unique):
    conv = v1.conversations.create()
    parts = v1.conversations(conv.sid).participants
    who = unique("alice")
    p = parts.create(identity=who, attributes='{"agent": true}')
    assert_sid(p.sid, "MB")
    assert p.identity == who
    assert p.messaging_binding is None
    assert_datetime(p.date_created)

    # The identity works in place of the MB SID.
    assert parts(who).fetch().sid == p.sid
    assert json.loads(parts(who).update(attributes='{"agent": false}').attributes) == {"agent": False}
    assert parts(who).delete() is True
    with twilio_error(404):
        parts(who).fetch()

    # A chat participant gets a User in the service.
    user = v1.users(who).fetch()
    assert user.identity == who
    assert_sid(user.sid, "US")


def test_participants_list_and_paging(v1, phone, unique):
    conv = v1.conversations.create()
    parts = v1.conversations(conv.sid).participants
    made = [parts.create(identity=unique("p")).sid for _ in range(3)]
    made.append(parts.create(messaging_binding_address=phone(), messaging_binding_proxy_address=phone()).sid)
    assert [p.sid for p in parts.list()] == made
    assert [p.sid for p in parts.list(limit=3, page_size=2)] == made[:3]


def test_duplicate_address_pair_is_409_50416(v1, phone):
    user, proxy = phone(), phone()
    first = v1.conversations.create()
    v1.conversations(first.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )
    second = v1.conversations.create()
    with twilio_error(409, 50416) as info:
        v1.conversations(second.sid).participants.create(
            messaging_binding_address=user, messaging_binding_proxy_address=proxy
        )
    assert first.sid in info.value.msg  # says which conversation holds the pair
    # Same user with another proxy number is a different pair.
    v1.conversations(second.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=phone()
    )
    # An inactive conversation still holds its pair; closing it frees the pair.
    v1.conversations(first.sid).update(state="inactive")
    with twilio_error(409, 50416):
        v1.conversations(second.sid).participants.create(
            messaging_binding_address=user, messaging_binding_proxy_address=proxy
        )
    v1.conversations(first.sid).update(state="closed")
    p = v1.conversations(second.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )
    assert p.messaging_binding["address"] == user


def test_duplicate_identity_is_409_50433(v1, unique):
    conv = v1.conversations.create()
    who = unique("bob")
    v1.conversations(conv.sid).participants.create(identity=who)
    with twilio_error(409, 50433):
        v1.conversations(conv.sid).participants.create(identity=who)
    # The same identity may join another conversation.
    other = v1.conversations.create()
    assert v1.conversations(other.sid).participants.create(identity=who).identity == who


def test_participant_validation(v1, phone, unique):
    conv = v1.conversations.create()
    parts = v1.conversations(conv.sid).participants
    same = phone()
    with twilio_error(400, 50409):
        parts.create(messaging_binding_address=same, messaging_binding_proxy_address=same)
    with twilio_error(400, 50211):
        parts.create(identity=unique("x"), messaging_binding_address=phone(), messaging_binding_proxy_address=phone())
    with twilio_error(400):
        parts.create(identity=unique("y"), attributes="not json")
    with twilio_error(404, 20404):
        v1.conversations("CH" + "0" * 32).participants.create(identity=unique("z"))
    with twilio_error(404):
        parts("MB" + "0" * 32).fetch()


def test_participant_conversations_by_address_and_identity(v1, phone, unique):
    user, proxy = phone(), phone()
    who = unique("carol")
    conv = v1.conversations.create(friendly_name="lookup", unique_name=unique("lookup"))
    sms = v1.conversations(conv.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )
    chat = v1.conversations(conv.sid).participants.create(identity=who)

    by_address = v1.participant_conversations.list(address=user)
    assert len(by_address) == 1
    row = by_address[0]
    assert row.conversation_sid == conv.sid
    assert row.participant_sid == sms.sid
    assert row.conversation_friendly_name == "lookup"
    assert row.conversation_unique_name == conv.unique_name
    assert row.conversation_state == "active"
    assert row.participant_messaging_binding["address"] == user
    assert row.participant_identity is None
    assert_datetime(row.conversation_date_created)
    assert row.links["conversation"].endswith(f"/v1/Conversations/{conv.sid}")
    assert row.links["participant"].endswith(f"/v1/Conversations/{conv.sid}/Participants/{sms.sid}")

    by_identity = v1.participant_conversations.list(identity=who)
    assert [r.conversation_sid for r in by_identity] == [conv.sid]
    assert by_identity[0].participant_sid == chat.sid
    assert by_identity[0].participant_identity == who
    assert_sid(by_identity[0].participant_user_sid, "US")

    assert v1.participant_conversations.list(address=phone()) == []


def test_user_conversations(v1, parley, unique):
    who = unique("dave")
    user = v1.users.create(identity=who)
    a = v1.conversations.create(friendly_name="a")
    b = v1.conversations.create(friendly_name="b")
    pa = v1.conversations(a.sid).participants.create(identity=who)
    v1.conversations(b.sid).participants.create(identity=who)
    v1.conversations(a.sid).messages.create(body="one")
    v1.conversations(a.sid).messages.create(body="two")

    rows = v1.users(user.sid).user_conversations.list()
    assert [r.conversation_sid for r in rows] == [a.sid, b.sid]
    row = rows[0]
    assert row.user_sid == user.sid
    assert row.participant_sid == pa.sid
    assert row.friendly_name == "a"
    assert row.conversation_state == "active"
    assert row.notification_level == "default"
    assert row.unread_messages_count == 2
    assert_url(row.url, parley.base_url, f"/v1/Users/{user.sid}/Conversations/{a.sid}")

    # By identity too, and per conversation.
    one = v1.users(who).user_conversations(a.sid).fetch()
    assert one.conversation_sid == a.sid
    upd = v1.users(who).user_conversations(a.sid).update(notification_level="muted", last_read_message_index=1)
    assert upd.notification_level == "muted"
    assert upd.last_read_message_index == 1
    assert upd.unread_messages_count == 0

    # Leaving a conversation removes the participant.
    assert v1.users(who).user_conversations(b.sid).delete() is True
    assert [r.conversation_sid for r in v1.users(who).user_conversations.list()] == [a.sid]
    assert v1.conversations(b.sid).participants.list() == []
    with page_error(404):
        v1.users("US" + "0" * 32).user_conversations.list()


def test_update_proxy_address_respects_bindings(v1, phone):
    user, proxy_a, proxy_b = phone(), phone(), phone()
    holder = v1.conversations.create()
    v1.conversations(holder.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy_b
    )
    conv = v1.conversations.create()
    p = v1.conversations(conv.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy_a
    )
    # Moving onto a pair that another conversation holds is refused...
    with twilio_error(409, 50416):
        v1.conversations(conv.sid).participants(p.sid).update(messaging_binding_proxy_address=proxy_b)
    # ...and a free one works; the old pair is released.
    proxy_c = phone()
    moved = v1.conversations(conv.sid).participants(p.sid).update(messaging_binding_proxy_address=proxy_c)
    assert moved.messaging_binding == {"type": "sms", "address": user, "proxy_address": proxy_c}
    other = v1.conversations.create()
    v1.conversations(other.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy_a
    )
