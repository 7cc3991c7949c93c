"""Studio v2 through the official client (`client.studio.v2…`): flows with revisions and
validation, test users, and REST-started executions with their context and steps.

Every assertion is on what a twilio-python user reads back: parsed datetimes, absolute
URLs, dicts that round-trip, and TwilioRestException status/code/details."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
import requests

from conftest import REPO_ROOT
from helpers import assert_datetime, assert_recent, assert_sid, assert_url, page_error, twilio_error

SEED = json.loads((REPO_ROOT / "examples/flows/seed-flow.json").read_text())


@pytest.fixture(scope="module")
def studio(client):
    return client.studio.v2


def _trigger(**nexts) -> dict:
    """A trigger listing all five events (as the Console exports it); `nexts` routes some."""
    events = ["incomingMessage", "incomingCall", "incomingConversationMessage", "incomingRequest", "incomingParent"]
    return {
        "name": "Trigger",
        "type": "trigger",
        "transitions": [{"event": e, **({"next": nexts[e]} if e in nexts else {})} for e in events],
        "properties": {"offset": {"x": 0, "y": 0}},
    }


# A REST-started flow: greets `flow.data.name`, waits for a reply, thanks the contact.
GREETER = {
    "description": "greeter",
    "initial_state": "Trigger",
    "flags": {"allow_concurrent_calls": True},
    "states": [
        _trigger(incomingRequest="ask"),
        {
            "name": "ask",
            "type": "send-and-wait-for-reply",
            "transitions": [
                {"event": "incomingMessage", "next": "thanks"},
                {"event": "timeout"},
                {"event": "deliveryFailure"},
            ],
            "properties": {
                "from": "{{flow.channel.address}}",
                "body": "Hello {{flow.data.name}}, n={{flow.data.n}}, a={{flow.data.nested.a[0]}}+{{flow.data.nested.a[1]}}",
                "timeout": "3600",
                "offset": {"x": 0, "y": 200},
            },
        },
        {
            "name": "thanks",
            "type": "send-message",
            "transitions": [{"event": "sent"}, {"event": "failed"}],
            "properties": {
                "from": "{{flow.channel.address}}",
                "to": "{{contact.channel.address}}",
                "body": "Thanks {{widgets.ask.inbound.Body}}",
                "offset": {"x": 0, "y": 400},
            },
        },
    ],
}

PARAMETERS = {"name": "Zeke", "n": 1, "nested": {"a": [1, 2]}}


def handset_screen(parley, address: str, peer: str | None = None) -> list[tuple[str, str]]:
    """What a simulated handset sent and received (with `peer` only: to and from that number)."""
    r = requests.get(
        f"{parley.base_url}/sim/v1/Messages",
        params={"Address": address},
        auth=(parley.account_sid, parley.auth_token),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return [(m["direction"], m["body"]) for m in r.json()["messages"] if peer in (None, m["from"], m["to"])]


def handset_text(parley, frm: str, to: str, body: str) -> dict:
    r = requests.post(
        f"{parley.base_url}/sim/v1/Messages",
        data={"From": frm, "To": to, "Body": body},
        auth=(parley.account_sid, parley.auth_token),
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return r.json()


# --- flows ---------------------------------------------------------------------------


def assert_flow_links(flow, parley) -> None:
    assert_url(flow.url, parley.base_url, f"/v2/Flows/{flow.sid}")
    assert flow.links == {
        "test_users": f"{flow.url}/TestUsers",
        "revisions": f"{flow.url}/Revisions",
        "executions": f"{flow.url}/Executions",
    }


def test_create_seed_flow_every_field(studio, parley, unique):
    name = unique("bots")
    flow = studio.flows.create(friendly_name=name, status="published", definition=SEED, commit_message="first")
    assert_sid(flow.sid, "FW")
    assert flow.account_sid == parley.account_sid
    assert flow.author_sid is None or flow.author_sid.startswith("US")
    assert flow.friendly_name == name
    # The definition comes back as the same dict: key order, offsets, unused events and flags.
    assert isinstance(flow.definition, dict)
    assert flow.definition == SEED
    assert json.dumps(flow.definition) == json.dumps(SEED)
    assert flow.status == "published"
    assert flow.revision == 1
    assert flow.commit_message == "first"
    assert flow.valid is True
    assert flow.errors == []
    assert flow.warnings == []
    assert_recent(flow.date_created)
    assert_datetime(flow.date_updated)
    assert flow.date_updated >= flow.date_created
    # The webhook a phone number's SMS URL points at: absolute, on this server.
    assert flow.webhook_url.startswith(("http://", "https://"))
    assert_url(flow.webhook_url, parley.base_url, f"/v1/Accounts/{parley.account_sid}/Flows/{flow.sid}")
    assert_flow_links(flow, parley)

    fetched = studio.flows(flow.sid).fetch()
    for attr in ("sid", "friendly_name", "definition", "status", "revision", "commit_message", "valid",
                 "errors", "warnings", "date_created", "date_updated", "webhook_url", "url", "links"):
        assert getattr(fetched, attr) == getattr(flow, attr), attr

    # Lists carry every field but the definition (null, as Twilio does).
    listed = {f.sid: f for f in studio.flows.list()}
    assert listed[flow.sid].definition is None
    assert listed[flow.sid].friendly_name == name
    assert listed[flow.sid].revision == 1
    assert_flow_links(listed[flow.sid], parley)


def test_create_is_201_and_draft_needs_definition(parley, studio, unique):
    r = requests.post(
        f"{parley.base_url}/v2/Flows",
        data={"FriendlyName": unique("raw"), "Status": "draft", "Definition": json.dumps(SEED)},
        auth=(parley.account_sid, parley.auth_token),
        timeout=10,
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    with twilio_error(400):
        studio.flows.create(friendly_name=unique("nodef"), status="draft", definition=None)
    with twilio_error(400):
        studio.flows.create(friendly_name=unique("badstatus"), status="live", definition=SEED)


def test_update_revisions_and_fetch_by_number(studio, parley, unique):
    flow = studio.flows.create(friendly_name=unique("rev"), status="published", definition=SEED)
    changed = copy.deepcopy(SEED)
    changed["states"][1]["properties"]["body"] = "Hi, do you like robots?"
    changed["description"] = "second"

    v2 = studio.flows(flow.sid).update(status="draft", definition=changed, commit_message="robots",
                                       friendly_name="renamed")
    assert v2.sid == flow.sid
    assert v2.revision == 2
    assert v2.status == "draft"
    assert v2.definition == changed
    assert v2.commit_message == "robots"
    assert v2.friendly_name == "renamed"
    assert v2.date_created == flow.date_created
    assert v2.date_updated >= flow.date_updated

    # An update without a definition keeps it, and is still a new revision.
    v3 = studio.flows(flow.sid).update(status="published")
    assert v3.revision == 3
    assert v3.definition == changed
    assert v3.friendly_name == "renamed"

    revs = studio.flows(flow.sid).revisions.list()
    assert [r.revision for r in revs] == [3, 2, 1]  # newest first
    for r in revs:
        assert r.sid == flow.sid
        assert r.account_sid == parley.account_sid
        assert r.definition is None  # not in list pages
        assert_datetime(r.date_created)
        assert_url(r.url, parley.base_url, f"/v2/Flows/{flow.sid}/Revisions/{r.revision}")
    assert [r.status for r in revs] == ["published", "draft", "published"]
    assert [r.revision for r in studio.flows(flow.sid).revisions.list(limit=2, page_size=1)] == [3, 2]

    r1 = studio.flows(flow.sid).revisions(1).fetch()
    assert r1.revision == 1
    assert r1.definition == SEED
    assert r1.status == "published"
    assert r1.valid is True and r1.errors == []
    assert r1.friendly_name == flow.friendly_name
    r2 = studio.flows(flow.sid).revisions("2").fetch()
    assert (r2.revision, r2.definition, r2.commit_message, r2.friendly_name) == (2, changed, "robots", "renamed")
    assert studio.flows(flow.sid).revisions("LatestRevision").fetch().revision == 3
    assert studio.flows(flow.sid).revisions("LatestPublished").fetch().revision == 3

    with twilio_error(404, 20404):
        studio.flows(flow.sid).revisions(4).fetch()
    with twilio_error(404, 20404):
        studio.flows(flow.sid).revisions(0).fetch()


def test_latest_published_skips_drafts(studio, unique):
    flow = studio.flows.create(friendly_name=unique("pub"), status="published", definition=SEED)
    studio.flows(flow.sid).update(status="draft", definition=GREETER)
    assert studio.flows(flow.sid).revisions("LatestPublished").fetch().revision == 1
    assert studio.flows(flow.sid).revisions("LatestRevision").fetch().revision == 2
    never = studio.flows.create(friendly_name=unique("draft"), status="draft", definition=SEED)
    with twilio_error(404, 20404):
        studio.flows(never.sid).revisions("LatestPublished").fetch()


BROKEN = {
    "description": "broken",
    "initial_state": "Trigger",
    "states": [
        _trigger(incomingMessage="say", incomingRequest="nowhere"),
        {"name": "say", "type": "send-message", "transitions": [{"event": "sent"}, {"event": "failed"}],
         "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}", "body": "1"}},
        {"name": "say", "type": "send-message", "transitions": [{"event": "sent"}, {"event": "failed"}],
         "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}", "body": "2"}},
    ],
}


def test_validate(studio):
    ok = studio.flow_validate.update(friendly_name="v", status="published", definition=SEED)
    assert ok.valid is True

    with twilio_error(400, 81022) as info:
        studio.flow_validate.update(friendly_name="v", status="published", definition=BROKEN)
    err = info.value
    # twilio-python hands the body's `details` to the caller.
    assert isinstance(err.details, dict), err.details
    errors = err.details["errors"]
    assert len(errors) == 2, errors
    for e in errors:
        assert set(e) >= {"message", "property_path"}
        assert e["message"] and e["property_path"].startswith("#/")
    paths = {e["property_path"]: e["message"] for e in errors}
    # The second `say` is the duplicate; the trigger's 4th transition (incomingRequest) is dangling.
    assert "#/states/2/name" in paths, paths
    assert "duplicate" in paths["#/states/2/name"].lower()
    assert "#/states/0/transitions/3/next" in paths, paths
    assert "nowhere" in paths["#/states/0/transitions/3/next"]


def test_invalid_definition_is_refused_on_create_and_update(studio, unique):
    name = unique("broken")
    with twilio_error(400, 81022) as info:
        studio.flows.create(friendly_name=name, status="published", definition=BROKEN)
    assert len(info.value.details["errors"]) == 2
    assert name not in [f.friendly_name for f in studio.flows.list()]

    flow = studio.flows.create(friendly_name=unique("ok"), status="published", definition=SEED)
    with twilio_error(400, 81022) as info:
        studio.flows(flow.sid).update(status="published", definition=BROKEN)
    assert info.value.details["errors"]
    after = studio.flows(flow.sid).fetch()
    assert (after.revision, after.definition) == (1, SEED)


def test_validate_missing_fields(studio):
    with twilio_error(400):
        studio.flow_validate.update(friendly_name="v", status="published", definition="not json {")
    with twilio_error(400):
        studio.flow_validate.update(friendly_name="v", status="nope", definition=SEED)


def test_test_users_fetch_update(studio, parley, unique, phone):
    flow = studio.flows.create(friendly_name=unique("tu"), status="published", definition=GREETER)
    tu = studio.flows(flow.sid).test_users().fetch()
    assert tu.sid == flow.sid
    assert tu.test_users == []
    assert_url(tu.url, parley.base_url, f"/v2/Flows/{flow.sid}/TestUsers")

    tester = phone()
    updated = studio.flows(flow.sid).test_users().update(test_users=[tester, "alice"])
    assert updated.sid == flow.sid
    assert updated.test_users == [tester, "alice"]
    assert_url(updated.url, parley.base_url, f"/v2/Flows/{flow.sid}/TestUsers")
    assert studio.flows(flow.sid).test_users().fetch().test_users == [tester, "alice"]

    # Test users run the latest draft; everyone else the latest published revision.
    studio.flows(flow.sid).update(status="draft", definition=GREETER, commit_message="draft")
    sender = phone()
    as_tester = studio.flows(flow.sid).executions.create(to=tester, from_=sender, parameters={"name": "T"})
    as_other = studio.flows(flow.sid).executions.create(to=phone(), from_=sender, parameters={"name": "O"})
    assert as_tester.flow_version == 2
    assert as_other.flow_version == 1

    # An empty list cannot be form-encoded: the client sends no TestUsers at all, which the
    # spec marks required.
    with twilio_error(400, 20001):
        studio.flows(flow.sid).test_users().update(test_users=[])
    assert studio.flows(flow.sid).test_users().fetch().test_users == [tester, "alice"]
    with twilio_error(404, 20404):
        studio.flows("FW" + "0" * 32).test_users().fetch()


def test_delete_flow(studio, unique):
    flow = studio.flows.create(friendly_name=unique("gone"), status="published", definition=SEED)
    assert studio.flows(flow.sid).delete() is True
    with twilio_error(404, 20404):
        studio.flows(flow.sid).fetch()
    with page_error(404, 20404):
        studio.flows(flow.sid).revisions.list()
    with twilio_error(404, 20404):
        studio.flows(flow.sid).delete()


# --- executions ----------------------------------------------------------------------


@pytest.fixture
def greeter(studio, unique):
    return studio.flows.create(friendly_name=unique("greeter"), status="published", definition=GREETER)


def assert_execution(e, parley, flow_sid: str) -> None:
    assert_sid(e.sid, "FN")
    assert e.account_sid == parley.account_sid
    assert e.flow_sid == flow_sid
    assert_sid(e.contact_sid, "FC")
    assert isinstance(e.initiated_by, str) and e.initiated_by
    assert isinstance(e.context, dict)
    assert_recent(e.date_created)
    assert_datetime(e.date_updated)
    assert_url(e.url, parley.base_url, f"/v2/Flows/{flow_sid}/Executions/{e.sid}")
    assert e.links == {"steps": f"{e.url}/Steps", "execution_context": f"{e.url}/Context"}


def test_execution_with_parameters_context_and_steps(studio, parley, greeter, phone):
    contact, number = phone(), phone()
    ex = studio.flows(greeter.sid).executions.create(to=contact, from_=number, parameters=PARAMETERS)
    assert_execution(ex, parley, greeter.sid)
    assert ex.status == "active"  # parked in send-and-wait-for-reply
    assert ex.contact_channel_address == contact
    assert ex.flow_version == 1

    # The handset got the greeting rendered from flow.data.
    assert handset_screen(parley, contact) == [("outbound", "Hello Zeke, n=1, a=1+2")]

    fetched = studio.flows(greeter.sid).executions(ex.sid).fetch()
    assert (fetched.sid, fetched.status, fetched.date_created) == (ex.sid, "active", ex.date_created)

    ctx = studio.flows(greeter.sid).executions(ex.sid).execution_context().fetch()
    assert ctx.account_sid == parley.account_sid
    assert ctx.flow_sid == greeter.sid
    assert ctx.execution_sid == ex.sid
    assert_url(ctx.url, parley.base_url, f"/v2/Flows/{greeter.sid}/Executions/{ex.sid}/Context")
    c = ctx.context
    assert c["flow"]["data"] == PARAMETERS  # types kept: int, nested object, list
    assert c["flow"]["flow_sid"] == greeter.sid
    assert c["flow"]["sid"] == ex.sid
    assert c["flow"]["channel"]["address"] == number
    assert c["contact"]["channel"]["address"] == contact
    assert c["trigger"]["request"]["To"] == contact
    assert c["trigger"]["request"]["From"] == number
    assert c["trigger"]["request"]["parameters"] == PARAMETERS
    outbound = c["widgets"]["ask"]["outbound"]
    assert outbound["Body"] == "Hello Zeke, n=1, a=1+2"
    assert (outbound["To"], outbound["From"]) == (contact, number)

    steps = studio.flows(greeter.sid).executions(ex.sid).steps.list()
    assert [(s.name, s.transitioned_from, s.transitioned_to, s.type) for s in steps] == [
        ("incomingRequest", "Trigger", "ask", "trigger"),
    ]
    step = steps[0]
    assert_sid(step.sid, "FT")
    assert step.account_sid == parley.account_sid
    assert (step.flow_sid, step.execution_sid) == (greeter.sid, ex.sid)
    assert isinstance(step.context, dict)
    assert_recent(step.date_created)
    assert_datetime(step.date_updated)
    assert_url(step.url, parley.base_url, f"/v2/Flows/{greeter.sid}/Executions/{ex.sid}/Steps/{step.sid}")
    assert step.links == {"step_context": f"{step.url}/Context"}
    one = studio.flows(greeter.sid).executions(ex.sid).steps(step.sid).fetch()
    assert (one.sid, one.name, one.transitioned_to) == (step.sid, "incomingRequest", "ask")

    sctx = studio.flows(greeter.sid).executions(ex.sid).steps(step.sid).step_context().fetch()
    assert sctx.account_sid == parley.account_sid
    assert (sctx.flow_sid, sctx.execution_sid, sctx.step_sid) == (greeter.sid, ex.sid, step.sid)
    assert_url(sctx.url, parley.base_url, f"/v2/Flows/{greeter.sid}/Executions/{ex.sid}/Steps/{step.sid}/Context")
    assert sctx.context["trigger"]["request"]["parameters"] == PARAMETERS

    # One active execution per To/From pair: 409 with Twilio's code 20409.
    with twilio_error(409, 20409):
        studio.flows(greeter.sid).executions.create(to=contact, from_=number, parameters={"name": "again"})
    # Another pair is another contact.
    other = studio.flows(greeter.sid).executions.create(to=contact, from_=phone())
    assert other.status == "active"
    studio.flows(greeter.sid).executions(other.sid).update(status="ended")

    # End it through the API...
    ended = studio.flows(greeter.sid).executions(ex.sid).update(status="ended")
    assert ended.sid == ex.sid
    assert ended.status == "ended"
    assert_datetime(ended.date_updated)
    assert studio.flows(greeter.sid).executions(ex.sid).fetch().status == "ended"
    # ...so the wait is over: a late reply starts nothing and gets no answer.
    handset_text(parley, contact, number, "late")
    assert handset_screen(parley, contact, number) == [("outbound", "Hello Zeke, n=1, a=1+2"), ("inbound", "late")]
    assert studio.flows(greeter.sid).executions(ex.sid).fetch().status == "ended"
    # ...and the pair is free again.
    again = studio.flows(greeter.sid).executions.create(to=contact, from_=number, parameters={"name": "Again"})
    assert again.sid != ex.sid and again.status == "active"
    studio.flows(greeter.sid).executions(again.sid).update(status="ended")

    # Delete removes the execution and its steps.
    assert studio.flows(greeter.sid).executions(ex.sid).delete() is True
    with twilio_error(404, 20404):
        studio.flows(greeter.sid).executions(ex.sid).fetch()
    with twilio_error(404, 20404):
        studio.flows(greeter.sid).executions(ex.sid).execution_context().fetch()
    with twilio_error(404, 20404):
        studio.flows(greeter.sid).executions(ex.sid).steps(step.sid).fetch()
    with page_error(404, 20404):
        studio.flows(greeter.sid).executions(ex.sid).steps.list()
    assert ex.sid not in [e.sid for e in studio.flows(greeter.sid).executions.list()]


def test_reply_drives_the_execution_to_its_end(studio, parley, greeter, phone):
    contact, number = phone(), phone()
    ex = studio.flows(greeter.sid).executions.create(to=contact, from_=number, parameters={"name": "Ada"})
    sent = handset_text(parley, contact, number, "fine, thanks")
    assert sent["routed"] == "execution" and sent["execution_sid"] == ex.sid
    assert handset_screen(parley, contact) == [
        ("outbound", "Hello Ada, n=, a=+"),  # missing data renders empty, as in Studio
        ("inbound", "fine, thanks"),
        ("outbound", "Thanks fine, thanks"),
    ]
    done = studio.flows(greeter.sid).executions(ex.sid).fetch()
    assert done.status == "ended"
    steps = studio.flows(greeter.sid).executions(ex.sid).steps.list()
    assert [(s.name, s.transitioned_from, s.transitioned_to, s.type) for s in steps] == [
        ("incomingRequest", "Trigger", "ask", "trigger"),
        ("incomingMessage", "ask", "thanks", "send-and-wait-for-reply"),
        ("sent", "thanks", "Ended", "send-message"),
    ]
    ask_ctx = studio.flows(greeter.sid).executions(ex.sid).steps(steps[1].sid).step_context().fetch().context
    assert ask_ctx["widgets"]["ask"]["inbound"]["Body"] == "fine, thanks"
    full = studio.flows(greeter.sid).executions(ex.sid).execution_context().fetch().context
    assert full["widgets"]["ask"]["inbound"]["Body"] == "fine, thanks"
    assert full["widgets"]["thanks"]["outbound"]["Body"] == "Thanks fine, thanks"
    # Ending an ended execution is harmless.
    assert studio.flows(greeter.sid).executions(ex.sid).update(status="ended").status == "ended"


def test_execution_errors(studio, greeter, phone, unique):
    with twilio_error(400):
        studio.flows(greeter.sid).executions.create(to=phone(), from_=phone(), parameters="[1, 2]")
    with twilio_error(404, 20404):
        studio.flows("FW" + "0" * 32).executions.create(to=phone(), from_=phone())
    with twilio_error(404, 20404):
        studio.flows(greeter.sid).executions("FN" + "0" * 32).fetch()
    ex = studio.flows(greeter.sid).executions.create(to=phone(), from_=phone())
    with twilio_error(400):
        studio.flows(greeter.sid).executions(ex.sid).update(status="active")
    # An execution is addressed under its own flow only.
    other = studio.flows.create(friendly_name=unique("other"), status="published", definition=GREETER)
    with twilio_error(404, 20404):
        studio.flows(other.sid).executions(ex.sid).fetch()
    # A flow that was never published cannot run.
    draft = studio.flows.create(friendly_name=unique("draft"), status="draft", definition=GREETER)
    with twilio_error(400):
        studio.flows(draft.sid).executions.create(to=phone(), from_=phone())
    assert studio.flows(draft.sid).executions.list() == []


def test_list_executions_with_filters(studio, greeter, phone):
    first = studio.flows(greeter.sid).executions.create(to=phone(), from_=phone())
    second = studio.flows(greeter.sid).executions.create(to=phone(), from_=phone())
    studio.flows(greeter.sid).executions(first.sid).update(status="ended")
    executions = studio.flows(greeter.sid).executions

    assert {e.sid for e in executions.list()} == {first.sid, second.sid}
    listed = {e.sid: e for e in executions.list()}
    assert listed[first.sid].status == "ended"
    assert listed[second.sid].contact_channel_address == second.contact_channel_address
    assert [e.sid for e in executions.list(status="active")] == [second.sid]
    assert [e.sid for e in executions.list(status="ended")] == [first.sid]

    now = dt.datetime.now(dt.timezone.utc)
    hour = dt.timedelta(hours=1)
    assert {e.sid for e in executions.list(date_created_from=now - hour)} == {first.sid, second.sid}
    assert {e.sid for e in executions.list(date_created_to=now + hour)} == {first.sid, second.sid}
    assert {e.sid for e in executions.list(date_created_from=now - hour, date_created_to=now + hour)} == {
        first.sid, second.sid}
    assert executions.list(date_created_from=now + hour) == []
    assert executions.list(date_created_to=now - hour) == []
    # The bounds are inclusive at the precision a client sees (whole seconds): an execution
    # is inside [its date_created, its date_created].
    assert first.sid in {e.sid for e in executions.list(date_created_from=first.date_created,
                                                         date_created_to=first.date_created)}
    assert {e.sid for e in executions.list(date_created_from=now - hour, status="active")} == {second.sid}
    assert [e.sid for e in executions.list(limit=1, page_size=1)] in ([first.sid], [second.sid])
    # Paging keeps the filters (the client follows next_page_url verbatim).
    paged = executions.list(date_created_from=now - hour, date_created_to=now + hour, page_size=1)
    assert sorted(e.sid for e in paged) == sorted([first.sid, second.sid])
    assert [e.sid for e in executions.list(status="ended", page_size=1)] == [first.sid]

    with page_error(400):
        executions.list(date_created_from="yesterday")


def test_concurrent_rest_executions_for_one_contact(studio, greeter, phone):
    """Racing creates for one To/From pair: exactly one wins, the others get 409/20409."""
    import threading

    from twilio.base.exceptions import TwilioRestException

    contact, number = phone(), phone()
    barrier = threading.Barrier(6)
    made, refused, other = [], [], []

    def start():
        barrier.wait(timeout=10)
        try:
            made.append(studio.flows(greeter.sid).executions.create(to=contact, from_=number).sid)
        except TwilioRestException as e:
            (refused if (e.status, e.code) == (409, 20409) else other).append((e.status, e.code, e.msg))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert other == []
    assert len(made) == 1 and len(refused) == 5
    active = studio.flows(greeter.sid).executions.list(status="active")
    assert [e.sid for e in active if e.contact_channel_address == contact] == made


def test_flow_webhook_url_takes_signed_inbound_sms(studio, parley, phone, unique):
    """`webhook_url` is what a number's SMS URL points at: a signed Twilio inbound-SMS
    request starts an `incomingMessage` execution; an unsigned or badly signed one is 401."""
    from twilio.request_validator import RequestValidator

    definition = {
        "description": "welcome",
        "initial_state": "Trigger",
        "states": [
            _trigger(incomingMessage="welcome"),
            {"name": "welcome", "type": "send-message", "transitions": [{"event": "sent"}, {"event": "failed"}],
             "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}",
                            "body": "Welcome, you said {{trigger.message.Body}}"}},
        ],
    }
    flow = studio.flows.create(friendly_name=unique("welcome"), status="published", definition=definition)
    handset, number = phone(), phone()
    params = {"From": handset, "To": number, "Body": "hey", "MessageSid": "SM" + "1" * 32,
              "AccountSid": parley.account_sid}

    unsigned = requests.post(flow.webhook_url, data=params, timeout=10)
    assert unsigned.status_code == 401
    forged = requests.post(flow.webhook_url, data=params, headers={"X-Twilio-Signature": "AAAA"}, timeout=10)
    assert forged.status_code == 401 and forged.json()["code"] == 20003

    signature = RequestValidator(parley.auth_token).compute_signature(flow.webhook_url, params)
    r = requests.post(flow.webhook_url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/xml")
    assert "<Response>" in r.text
    [ex] = studio.flows(flow.sid).executions.list()
    assert ex.status == "ended"
    assert ex.contact_channel_address == handset
    assert ex.initiated_by == params["MessageSid"]
    steps = studio.flows(flow.sid).executions(ex.sid).steps.list()
    assert [(s.name, s.transitioned_from, s.transitioned_to) for s in steps] == [
        ("incomingMessage", "Trigger", "welcome"), ("sent", "welcome", "Ended")]
    assert handset_screen(parley, handset) == [("outbound", "Welcome, you said hey")]


def test_liquid_filter_on_missing_data_renders_empty(studio, parley, phone, unique):
    definition = {
        "description": "join",
        "initial_state": "Trigger",
        "states": [
            _trigger(incomingRequest="say"),
            {"name": "say", "type": "send-message", "transitions": [{"event": "sent"}, {"event": "failed"}],
             "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}",
                            "body": "items: {{flow.data.items | join: ','}}"}},
        ],
    }
    flow = studio.flows.create(friendly_name=unique("join"), status="published", definition=definition)
    contact = phone()
    studio.flows(flow.sid).executions.create(to=contact, from_=phone(), parameters={"other": 1})
    assert handset_screen(parley, contact) == [("outbound", "items: ")]


def test_running_execution_keeps_its_revision(studio, parley, greeter, phone):
    """Publishing a new revision does not change what a waiting execution runs."""
    contact, number = phone(), phone()
    ex = studio.flows(greeter.sid).executions.create(to=contact, from_=number, parameters={"name": "Old"})
    changed = copy.deepcopy(GREETER)
    changed["states"][2]["properties"]["body"] = "Merci {{widgets.ask.inbound.Body}}"
    assert studio.flows(greeter.sid).update(status="published", definition=changed).revision == 2
    handset_text(parley, contact, number, "ok")
    assert handset_screen(parley, contact, number)[-1] == ("outbound", "Thanks ok")
    assert studio.flows(greeter.sid).executions(ex.sid).fetch().flow_version == 1
    # A new execution runs the new revision.
    new = studio.flows(greeter.sid).executions.create(to=contact, from_=number, parameters={"name": "New"})
    assert new.flow_version == 2
    handset_text(parley, contact, number, "ok")
    assert handset_screen(parley, contact, number)[-1] == ("outbound", "Merci ok")
