"""Conversations: create, fetch (by SID or UniqueName), list and paging, update, state
machine, timers, delete, and the errors a client sees."""

import datetime as dt
import json

from helpers import assert_datetime, assert_sid, assert_url, page_error, twilio_error


def test_create_with_every_field(v1, parley, unique):
    name = unique("conv")
    attrs = json.dumps({"topic": "billing", "n": 1})
    conv = v1.conversations.create(
        friendly_name="Support",
        unique_name=name,
        attributes=attrs,
        messaging_service_sid="MG" + "1" * 32,
        timers_inactive="PT5M",
        timers_closed="PT20M",
    )
    assert conv.unique_name == name
    assert json.loads(conv.attributes) == {"topic": "billing", "n": 1}
    assert conv.messaging_service_sid == "MG" + "1" * 32
    assert conv.state == "active"
    # Timers read back as absolute deadlines, counted from creation.
    assert set(conv.timers) == {"date_inactive", "date_closed"}
    inactive = dt.datetime.strptime(conv.timers["date_inactive"], "%Y-%m-%dT%H:%M:%SZ")
    closed = dt.datetime.strptime(conv.timers["date_closed"], "%Y-%m-%dT%H:%M:%SZ")
    created = conv.date_created.replace(tzinfo=None)
    assert inactive - created == dt.timedelta(minutes=5)
    assert closed - created == dt.timedelta(minutes=20)


def test_defaults(v1):
    conv = v1.conversations.create()
    assert conv.friendly_name is None
    assert conv.attributes == "{}"
    assert_sid(conv.messaging_service_sid, "MG")
    assert conv.date_created == conv.date_updated


def test_unique_name_in_place_of_sid(v1, parley, unique):
    name = unique("by-name")
    conv = v1.conversations.create(unique_name=name, friendly_name="named")

    fetched = v1.conversations(name).fetch()
    assert fetched.sid == conv.sid
    assert_url(fetched.url, parley.base_url, f"/v1/Conversations/{conv.sid}")

    updated = v1.conversations(name).update(friendly_name="renamed")
    assert updated.sid == conv.sid and updated.friendly_name == "renamed"

    # Nested resources accept the unique name too.
    part = v1.conversations(name).participants.create(identity=unique("alice"))
    assert part.conversation_sid == conv.sid
    msg = v1.conversations(name).messages.create(body="hi")
    assert msg.conversation_sid == conv.sid

    assert v1.conversations(name).delete() is True
    with twilio_error(404, 20404):
        v1.conversations(conv.sid).fetch()


def test_unique_name_errors(v1, unique):
    name = unique("taken")
    v1.conversations.create(unique_name=name)
    with twilio_error(409, 50353):
        v1.conversations.create(unique_name=name)
    with twilio_error(400, 50390):
        v1.conversations.create(unique_name="CH" + "a" * 32)


def test_update_fields(v1):
    conv = v1.conversations.create(friendly_name="before")
    updated = v1.conversations(conv.sid).update(
        friendly_name="after", attributes='{"vip": true}', timers_inactive="PT2M"
    )
    assert updated.sid == conv.sid
    assert updated.friendly_name == "after"
    assert json.loads(updated.attributes) == {"vip": True}
    assert "date_inactive" in updated.timers
    assert updated.date_updated >= conv.date_updated
    # Fields not sent are unchanged.
    again = v1.conversations(conv.sid).update(friendly_name="third")
    assert json.loads(again.attributes) == {"vip": True}
    assert v1.conversations(conv.sid).fetch().friendly_name == "third"


def test_attributes_must_be_json(v1):
    with twilio_error(400):
        v1.conversations.create(attributes="{not json")
    conv = v1.conversations.create()
    with twilio_error(400):
        v1.conversations(conv.sid).update(attributes="[1, 2")
    assert v1.conversations(conv.sid).fetch().attributes == "{}"


def test_state_transitions(v1, phone):
    conv = v1.conversations.create()
    v1.conversations(conv.sid).participants.create(
        messaging_binding_address=phone(), messaging_binding_proxy_address=phone()
    )
    assert v1.conversations(conv.sid).update(state="inactive").state == "inactive"
    assert v1.conversations(conv.sid).update(state="active").state == "active"
    assert v1.conversations(conv.sid).update(state="inactive").state == "inactive"
    closed = v1.conversations(conv.sid).update(state="closed")
    assert closed.state == "closed"
    assert closed.timers == {}

    # Closed is final: every change is refused, reads still work.
    with twilio_error(400, 50377):
        v1.conversations(conv.sid).update(state="active")
    with twilio_error(400, 50377):
        v1.conversations(conv.sid).update(friendly_name="nope")
    with twilio_error(400, 50377):
        v1.conversations(conv.sid).messages.create(body="too late")
    with twilio_error(400, 50377):
        v1.conversations(conv.sid).participants.create(identity="late-joiner")
    assert v1.conversations(conv.sid).fetch().state == "closed"
    assert len(v1.conversations(conv.sid).participants.list()) == 1
    # And it can still be deleted.
    assert v1.conversations(conv.sid).delete() is True


def test_cannot_create_closed(v1):
    with twilio_error(400, 50384):
        v1.conversations.create(state="closed")


def test_timers_below_minimum(v1):
    with twilio_error(400, 50375):
        v1.conversations.create(timers_inactive="PT30S")
    with twilio_error(400, 50376):
        v1.conversations.create(timers_closed="PT5M")
    with twilio_error(400, 50379):
        v1.conversations.create(timers_inactive="five minutes")
    conv = v1.conversations.create()
    with twilio_error(400, 50375):
        v1.conversations(conv.sid).update(timers_inactive="PT59S")
    with twilio_error(400, 50376):
        v1.conversations(conv.sid).update(timers_closed="PT9M")
    # PT0S disables a timer.
    assert v1.conversations(conv.sid).update(timers_inactive="PT0S").state == "active"


def test_unknown_sid_is_404(v1):
    missing = "CH" + "0" * 32
    with twilio_error(404, 20404) as info:
        v1.conversations(missing).fetch()
    assert missing in info.value.uri
    with twilio_error(404, 20404):
        v1.conversations(missing).update(friendly_name="x")
    with twilio_error(404, 20404):
        v1.conversations(missing).delete()
    with twilio_error(404, 20404):
        v1.conversations("no-such-unique-name").fetch()


def test_delete_removes_everything(v1, phone):
    conv = v1.conversations.create()
    user, proxy = phone(), phone()
    v1.conversations(conv.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )
    v1.conversations(conv.sid).messages.create(body="hello")
    assert v1.conversations(conv.sid).delete() is True
    with twilio_error(404, 20404):
        v1.conversations(conv.sid).fetch()
    with page_error(404, 20404):
        v1.conversations(conv.sid).messages.list()
    # The address pair is free again.
    other = v1.conversations.create()
    v1.conversations(other.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )


def test_paging_across_pages(server_factory):
    """A fresh server, so the list holds exactly the conversations this test made."""
    v1 = server_factory().client().conversations.v1
    made = [v1.conversations.create(friendly_name=f"c{i}").sid for i in range(7)]

    five = v1.conversations.list(limit=5, page_size=2)
    assert [c.sid for c in five] == made[:5]
    assert [c.sid for c in v1.conversations.list()] == made
    assert [c.sid for c in v1.conversations.stream(page_size=3)] == made

    page = v1.conversations.page(page_size=3)
    assert [c.sid for c in page] == made[:3]
    page2 = page.next_page()
    assert [c.sid for c in page2] == made[3:6]
    assert [c.sid for c in page2.next_page()] == made[6:]
    assert page2.next_page().next_page() is None


def test_list_filter_by_state(server_factory):
    v1 = server_factory().client().conversations.v1
    a = v1.conversations.create().sid
    b = v1.conversations.create().sid
    v1.conversations(b).update(state="inactive")
    assert [c.sid for c in v1.conversations.list(state="inactive")] == [b]
    assert [c.sid for c in v1.conversations.list(state="active")] == [a]


def test_list_page_meta(parley, client, v1):
    """The list envelope twilio-python needs: meta.key and absolute page URLs."""
    v1.conversations.create()
    assert len(list(v1.conversations.page(page_size=1))) == 1
    raw = json.loads(client.request("GET", f"{parley.base_url}/v1/Conversations", params={"PageSize": 1}).text)
    meta = raw["meta"]
    assert meta["key"] == "conversations"
    assert meta["page"] == 0 and meta["page_size"] == 1
    assert meta["url"].startswith(f"{parley.base_url}/v1/Conversations?")
    assert meta["first_page_url"].startswith(f"{parley.base_url}/v1/Conversations?")
    assert meta["previous_page_url"] is None
    assert meta["next_page_url"].startswith(f"{parley.base_url}/v1/Conversations?")


def test_dates_back_dated(v1):
    """Migrations may set DateCreated/DateUpdated; they read back exactly."""
    when = dt.datetime(2020, 7, 1, 22, 18, 37, tzinfo=dt.timezone.utc)
    conv = v1.conversations.create(date_created=when, date_updated=when)
    assert conv.date_created == when and conv.date_updated == when
    assert_datetime(v1.conversations(conv.sid).fetch().date_created)


def test_timers_fire_on_the_server_clock(server_factory, phone):
    """active → inactive → closed by timers, driven by the server's manual clock
    (`--dev-clock`): no sleeping. A message wakes an inactive conversation."""
    server = server_factory(extra_args=("--dev-clock",))
    v1 = server.client().conversations.v1
    user, proxy = phone(), phone()
    conv = v1.conversations.create(timers_inactive="PT1M", timers_closed="PT10M")
    v1.conversations(conv.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )

    server.advance_clock(61)
    idle = v1.conversations(conv.sid).fetch()
    assert idle.state == "inactive"
    assert "date_inactive" not in idle.timers and "date_closed" in idle.timers

    # Activity reactivates it and restarts both timers from now.
    v1.conversations(conv.sid).messages.create(body="still there?")
    woken = v1.conversations(conv.sid).fetch()
    assert woken.state == "active"
    assert set(woken.timers) == {"date_inactive", "date_closed"}

    server.advance_clock(61)
    assert v1.conversations(conv.sid).fetch().state == "inactive"
    server.advance_clock(10 * 60)
    closed = v1.conversations(conv.sid).fetch()
    assert closed.state == "closed"
    assert closed.timers == {}
    with twilio_error(400, 50377):
        v1.conversations(conv.sid).messages.create(body="too late")
    # Closing released the address pair.
    other = v1.conversations.create()
    v1.conversations(other.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )


def test_unique_name_taken_on_update(v1, unique):
    a = v1.conversations.create(unique_name=unique("first"))
    b = v1.conversations.create()
    with twilio_error(409, 50353):
        v1.conversations(b.sid).update(unique_name=a.unique_name)
    assert v1.conversations(b.sid).fetch().unique_name is None


def test_limits(v1):
    with twilio_error(400):
        v1.conversations.create(friendly_name="x" * 257)
    with twilio_error(400):
        v1.conversations.create(attributes=json.dumps({"big": "x" * (16 * 1024)}))
    with twilio_error(400):
        v1.conversations.create(state="initializing")


def test_date_filtered_list_is_newest_first_across_pages(server_factory):
    v1 = server_factory().client().conversations.v1
    old = dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)
    made = [v1.conversations.create(date_created=old + dt.timedelta(days=i)).sid for i in range(5)]
    v1.conversations.create(date_created=dt.datetime(2019, 6, 1, tzinfo=dt.timezone.utc))  # outside the range
    listed = v1.conversations.list(start_date="2020-12-31T00:00:00Z", end_date="2021-01-10T00:00:00Z", page_size=2)
    assert [c.sid for c in listed] == made[::-1]


def test_list_without_page_size_crosses_the_default_page(server_factory):
    """`.list()` sends no PageSize: the server's default (50) applies and next_page_url
    carries the client through the rest."""
    v1 = server_factory().client().conversations.v1
    made = [v1.conversations.create().sid for _ in range(53)]
    first = v1.conversations.page()
    assert len(list(first)) == 50
    assert [c.sid for c in v1.conversations.list()] == made
