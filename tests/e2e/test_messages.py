"""Messages: create (author, index order), fetch, list order and paging, update, delete,
delivery receipts, and the errors a client sees."""

import datetime as dt
import json

from helpers import assert_datetime, assert_recent, assert_sid, assert_url, page_error, twilio_error


def test_message_crud(v1, parley):
    conv = v1.conversations.create()
    msgs = v1.conversations(conv.sid).messages
    m = msgs.create(body="Ahoy there!", attributes='{"importance": "high"}')
    assert_sid(m.sid, "IM")
    assert m.account_sid == parley.account_sid
    assert m.conversation_sid == conv.sid
    assert m.body == "Ahoy there!"
    assert m.author == "system"
    assert m.participant_sid is None
    assert m.index == 0
    assert m.media is None
    assert json.loads(m.attributes) == {"importance": "high"}
    assert_recent(m.date_created)
    assert_datetime(m.date_updated)
    assert_url(m.url, parley.base_url, f"/v1/Conversations/{conv.sid}/Messages/{m.sid}")
    assert m.links["delivery_receipts"] == f"{m.url}/Receipts"

    assert msgs(m.sid).fetch().body == "Ahoy there!"

    updated = msgs(m.sid).update(body="Ahoy, edited", attributes='{"edited": true}')
    assert updated.body == "Ahoy, edited"
    assert json.loads(updated.attributes) == {"edited": True}
    assert updated.index == 0
    assert msgs(m.sid).fetch().body == "Ahoy, edited"

    assert msgs(m.sid).delete() is True
    with twilio_error(404):
        msgs(m.sid).fetch()
    assert msgs.list() == []


def test_index_order_and_paging(v1):
    conv = v1.conversations.create()
    msgs = v1.conversations(conv.sid).messages
    made = [msgs.create(body=f"m{i}") for i in range(7)]
    assert [m.index for m in made] == list(range(7))

    assert [m.sid for m in msgs.list()] == [m.sid for m in made]
    assert [m.index for m in msgs.list(limit=5, page_size=2)] == [0, 1, 2, 3, 4]
    assert [m.index for m in msgs.list(order="desc", limit=3)] == [6, 5, 4]

    # Deleting a message leaves a gap; indexes never go back.
    msgs(made[6].sid).delete()
    assert msgs.create(body="after").index == 7


def test_a_deleted_last_index_is_not_given_again_after_a_restart(server_factory):
    """Numbering follows the last message, with a floor that deletes raise: the floor is
    stored, so a restart (kill -9) does not hand out a deleted message's index again."""
    server = server_factory()
    msgs = server.client().conversations.v1.conversations.create()
    msgs = server.client().conversations.v1.conversations(msgs.sid).messages
    made = [msgs.create(body=f"m{i}") for i in range(3)]
    msgs(made[2].sid).delete()
    msgs(made[1].sid).delete()
    server.restart(crash=True)
    msgs = server.client().conversations.v1.conversations(made[0].conversation_sid).messages
    assert msgs.create(body="after").index == 3
    assert [m.index for m in msgs.list()] == [0, 3]


def test_author_resolution(v1, unique, phone):
    conv = v1.conversations.create()
    who = unique("eve")
    chat = v1.conversations(conv.sid).participants.create(identity=who)
    user, proxy = phone(), phone()
    sms = v1.conversations(conv.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )
    msgs = v1.conversations(conv.sid).messages

    by_identity = msgs.create(author=who, body="from chat")
    assert by_identity.author == who
    assert by_identity.participant_sid == chat.sid

    by_address = msgs.create(author=user, body="from sms")
    assert by_address.author == user
    assert by_address.participant_sid == sms.sid

    stranger = msgs.create(author="somebody-else", body="free text")
    assert stranger.author == "somebody-else"
    assert stranger.participant_sid is None

    assert msgs(stranger.sid).update(author=who).author == who


def test_back_dated_message(v1):
    conv = v1.conversations.create()
    when = dt.datetime(2015, 12, 16, 22, 18, 37, tzinfo=dt.timezone.utc)
    m = v1.conversations(conv.sid).messages.create(body="old", date_created=when)
    assert m.date_created == when


def test_message_errors(v1):
    conv = v1.conversations.create()
    msgs = v1.conversations(conv.sid).messages
    with twilio_error(400):
        msgs.create()  # no Body, MediaSid or ContentSid
    with twilio_error(400):
        msgs.create(body="x", attributes="{oops")
    with twilio_error(404):
        msgs("IM" + "0" * 32).fetch()
    with twilio_error(404):
        msgs("IM" + "0" * 32).delete()
    with twilio_error(404, 20404):
        v1.conversations("CH" + "0" * 32).messages.create(body="nowhere")


def test_delivery_receipts_of_a_message(v1, parley):
    conv = v1.conversations.create()
    m = v1.conversations(conv.sid).messages.create(body="no sms participants")
    receipts = v1.conversations(conv.sid).messages(m.sid).delivery_receipts
    assert receipts.list() == []
    with twilio_error(404):
        receipts("DY" + "0" * 32).fetch()
    with page_error(404):
        v1.conversations(conv.sid).messages("IM" + "0" * 32).delivery_receipts.list()


def test_media_message(v1):
    conv = v1.conversations.create()
    media_sid = "ME" + "0123456789abcdef" * 2
    m = v1.conversations(conv.sid).messages.create(media_sid=media_sid)
    assert m.body is None
    assert isinstance(m.media, list) and m.media[0]["sid"] == media_sid
    assert v1.conversations(conv.sid).messages(m.sid).fetch().media[0]["sid"] == media_sid


def test_descending_order_across_pages(v1):
    conv = v1.conversations.create()
    msgs = v1.conversations(conv.sid).messages
    for i in range(5):
        msgs.create(body=f"m{i}")
    assert [m.index for m in msgs.list(order="desc", page_size=2)] == [4, 3, 2, 1, 0]
    assert [m.index for m in msgs.list(order="asc", page_size=2, limit=3)] == [0, 1, 2]
