"""Twilio's "Connect Studio to Conversations" tutorial run end to end: the official client
sets things up, virtual handsets of the phone simulator (plain HTTP) do the texting, and
each test asserts what the handset's screen and the client show.

Both routes of the tutorial (an auto-creating address configuration; an existing
conversation with an SMS participant and a `studio` webhook), an agent taking over after
the bot, send-and-wait timeouts on the dev clock (also across a restart), and concurrent
texts from one handset."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from conftest import REPO_ROOT
from helpers import assert_sid

SEED = json.loads((REPO_ROOT / "examples/flows/seed-flow.json").read_text())
QUESTION = "Hi, do you like bots?"

# A conversation flow whose send-and-wait times out into "Too slow".
IMPATIENT = {
    "description": "impatient",
    "initial_state": "Trigger",
    "flags": {"allow_concurrent_calls": True},
    "states": [
        {
            "name": "Trigger",
            "type": "trigger",
            "transitions": [
                {"event": "incomingMessage"},
                {"event": "incomingCall"},
                {"event": "incomingConversationMessage", "next": "ask"},
                {"event": "incomingRequest"},
                {"event": "incomingParent"},
            ],
            "properties": {"offset": {"x": 0, "y": 0}},
        },
        {
            "name": "ask",
            "type": "send-and-wait-for-reply",
            "transitions": [
                {"event": "incomingMessage", "next": "got_it"},
                {"event": "timeout", "next": "too_slow"},
                {"event": "deliveryFailure"},
            ],
            "properties": {"from": "{{flow.channel.address}}", "body": "Are you there?", "timeout": "3600"},
        },
        {
            "name": "got_it",
            "type": "send-message",
            "transitions": [{"event": "sent"}, {"event": "failed"}],
            "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}", "body": "Got it"},
        },
        {
            "name": "too_slow",
            "type": "send-message",
            "transitions": [{"event": "sent"}, {"event": "failed"}],
            "properties": {"from": "{{flow.channel.address}}", "to": "{{contact.channel.address}}", "body": "Too slow"},
        },
    ],
}


class Handset:
    """A virtual phone of the simulator, texting one Parley number."""

    def __init__(self, server, address: str, number: str):
        self.server, self.address, self.number = server, address, number
        self.auth = (server.account_sid, server.auth_token)

    def text(self, body: str) -> dict:
        r = requests.post(
            f"{self.server.base_url}/sim/v1/Messages",
            data={"From": self.address, "To": self.number, "Body": body},
            auth=self.auth,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        return r.json()

    def screen(self) -> list[tuple[str, str]]:
        r = requests.get(
            f"{self.server.base_url}/sim/v1/Messages", params={"Address": self.address}, auth=self.auth, timeout=30
        )
        assert r.status_code == 200, r.text
        return [(m["direction"], m["body"]) for m in r.json()["messages"]]


def clock_ms(server) -> int:
    r = requests.get(f"{server.base_url}/parley/v1/Clock", auth=(server.account_sid, server.auth_token), timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["manual"] is True
    return r.json()["now_ms"]


def auto_creating_number(client, flow_sid: str, number: str) -> None:
    client.conversations.v1.address_configurations.create(
        type="sms",
        address=number,
        auto_creation_enabled=True,
        auto_creation_type="studio",
        auto_creation_studio_flow_sid=flow_sid,
    )


def one_conversation_of(client, address: str) -> str:
    convs = client.conversations.v1.participant_conversations.list(address=address)
    assert len(convs) == 1, [c.conversation_sid for c in convs]
    return convs[0].conversation_sid


@pytest.fixture
def seed_flow(client, unique):
    return client.studio.v2.flows.create(friendly_name=unique("bots"), status="published", definition=SEED)


ANSWERS = [("yes", "🤖"), ("no", "👽"), ("maybe later", "👻")]


def test_auto_creation_route_three_handsets(client, parley, seed_flow, phone):
    number = phone()
    auto_creating_number(client, seed_flow.sid, number)
    for answer, emoji in ANSWERS:
        handset = Handset(parley, phone(), number)
        first = handset.text("hello")
        assert first["routed"] == "auto_created"
        assert_sid(first["conversation_sid"], "CH")
        assert handset.screen() == [("inbound", "hello"), ("outbound", QUESTION)]
        second = handset.text(answer)
        assert second["conversation_sid"] == first["conversation_sid"]
        assert handset.screen() == [("inbound", "hello"), ("outbound", QUESTION), ("inbound", answer), ("outbound", emoji)]

        # What the client sees: one conversation for the handset, holding the dialogue, the
        # bot's lines authored `system`.
        conv_sid = one_conversation_of(client, handset.address)
        assert conv_sid == first["conversation_sid"]
        msgs = client.conversations.v1.conversations(conv_sid).messages.list()
        assert [(m.author, m.body) for m in msgs] == [
            (handset.address, "hello"), ("system", QUESTION), (handset.address, answer), ("system", emoji)]
        parts = client.conversations.v1.conversations(conv_sid).participants.list()
        assert [p.messaging_binding["address"] for p in parts] == [handset.address]
        assert parts[0].messaging_binding["proxy_address"] == number

    # One ended execution per handset, each with the whole path in its steps.
    executions = client.studio.v2.flows(seed_flow.sid).executions.list()
    assert len(executions) == 3
    assert {e.status for e in executions} == {"ended"}
    for e in executions:
        steps = client.studio.v2.flows(seed_flow.sid).executions(e.sid).steps.list()
        assert [(s.name, s.transitioned_from, s.transitioned_to) for s in steps][:3] == [
            ("incomingConversationMessage", "Trigger", "send_and_reply_1"),
            ("incomingMessage", "send_and_reply_1", "split_1"),
            (steps[2].name, "split_1", steps[2].transitioned_to),
        ]
        assert steps[-1].transitioned_to == "Ended"


def test_existing_conversation_route_then_agent(client, parley, seed_flow, phone, unique):
    v1 = client.conversations.v1
    number = phone()
    for answer, emoji in ANSWERS:
        handset = Handset(parley, phone(), number)
        conv = v1.conversations.create(friendly_name=unique("studio_test"))
        v1.conversations(conv.sid).participants.create(
            messaging_binding_address=handset.address, messaging_binding_proxy_address=number
        )
        v1.conversations(conv.sid).webhooks.create(target="studio", configuration_flow_sid=seed_flow.sid)

        sent = handset.text("hello")
        assert sent["routed"] == "conversation"
        assert sent["conversation_sid"] == conv.sid
        assert handset.screen() == [("inbound", "hello"), ("outbound", QUESTION)]
        handset.text(answer)
        assert handset.screen()[-2:] == [("inbound", answer), ("outbound", emoji)]
        assert one_conversation_of(client, handset.address) == conv.sid

    # The last conversation: the flow has ended, and an agent takes over.
    execs = client.studio.v2.flows(seed_flow.sid).executions.list()
    assert len(execs) == 3 and {e.status for e in execs} == {"ended"}
    agent = v1.conversations(conv.sid).participants.create(identity="agent")
    assert agent.identity == "agent"
    msg = v1.conversations(conv.sid).messages.create(author="agent", body="Hi, I'm the agent. How can I help?")
    assert msg.author == "agent" and msg.participant_sid == agent.sid
    assert handset.screen()[-1] == ("outbound", "Hi, I'm the agent. How can I help?")
    # The agent's message did not start the bot again (only the handset's texts drive it).
    assert len(client.studio.v2.flows(seed_flow.sid).executions.list()) == 3
    assert [(m.author, m.body) for m in v1.conversations(conv.sid).messages.list()][-2:] == [
        ("system", "👻"), ("agent", "Hi, I'm the agent. How can I help?")]


def test_agent_joins_auto_created_conversation(client, parley, seed_flow, phone):
    number = phone()
    auto_creating_number(client, seed_flow.sid, number)
    handset = Handset(parley, phone(), number)
    handset.text("hello")
    handset.text("yes")
    conv_sid = one_conversation_of(client, handset.address)
    v1 = client.conversations.v1
    v1.conversations(conv_sid).participants.create(identity="agent")
    v1.conversations(conv_sid).messages.create(author="agent", body="Hi, I'm Alice!")
    assert handset.screen() == [
        ("inbound", "hello"), ("outbound", QUESTION), ("inbound", "yes"), ("outbound", "🤖"),
        ("outbound", "Hi, I'm Alice!")]


def test_studio_webhook_replays_earlier_messages_and_rest_needs_the_header(client, parley, seed_flow, phone):
    """`Configuration.ReplayAfter=0`: the text that came before the flow was attached starts
    it (the function-templates pattern). Messages created through REST reach the flow, like
    any webhook, only with X-Twilio-Webhook-Enabled: true."""
    v1 = client.conversations.v1
    number = phone()
    handset = Handset(parley, phone(), number)
    conv = v1.conversations.create()
    v1.conversations(conv.sid).participants.create(
        messaging_binding_address=handset.address, messaging_binding_proxy_address=number
    )
    assert handset.text("hello")["conversation_sid"] == conv.sid
    assert handset.screen() == [("inbound", "hello")]  # no flow yet
    hook = v1.conversations(conv.sid).webhooks.create(
        target="studio", configuration_flow_sid=seed_flow.sid, configuration_replay_after=0
    )
    assert hook.configuration["replay_after"] == 0
    assert handset.screen() == [("inbound", "hello"), ("outbound", QUESTION)]

    # A chat participant answers in the handset's place: silent without the header...
    v1.conversations(conv.sid).participants.create(identity="helper")
    v1.conversations(conv.sid).messages.create(author="helper", body="no")
    [execution] = client.studio.v2.flows(seed_flow.sid).executions.list()
    assert execution.status == "active"
    # ...the flow's answer with it.
    v1.conversations(conv.sid).messages.create(author="helper", body="no", x_twilio_webhook_enabled="true")
    assert handset.screen() == [
        ("inbound", "hello"), ("outbound", QUESTION), ("outbound", "no"), ("outbound", "no"), ("outbound", "👽")]
    assert [(m.author, m.body) for m in v1.conversations(conv.sid).messages.list()] == [
        (handset.address, "hello"), ("system", QUESTION), ("helper", "no"), ("helper", "no"), ("system", "👽")]
    assert client.studio.v2.flows(seed_flow.sid).executions(execution.sid).fetch().status == "ended"


# --- timeouts on the dev clock --------------------------------------------------------


@pytest.fixture
def clocked(server_factory):
    return server_factory(extra_args=("--dev-clock",))


def _impatient_setup(server, phone):
    client = server.client()
    flow = client.studio.v2.flows.create(friendly_name="impatient", status="published", definition=IMPATIENT)
    number = phone()
    auto_creating_number(client, flow.sid, number)
    return client, flow, Handset(server, phone(), number)


def test_send_and_wait_times_out_on_the_dev_clock(clocked, phone):
    client, flow, handset = _impatient_setup(clocked, phone)
    handset.text("hi")
    assert handset.screen() == [("inbound", "hi"), ("outbound", "Are you there?")]

    clocked.advance_clock(3599)
    assert handset.screen() == [("inbound", "hi"), ("outbound", "Are you there?")]
    [execution] = client.studio.v2.flows(flow.sid).executions.list()
    assert execution.status == "active"

    clocked.advance_clock(2)
    assert handset.screen() == [("inbound", "hi"), ("outbound", "Are you there?"), ("outbound", "Too slow")]
    ex = client.studio.v2.flows(flow.sid).executions(execution.sid).fetch()
    assert ex.status == "ended"
    steps = client.studio.v2.flows(flow.sid).executions(ex.sid).steps.list()
    assert [(s.name, s.transitioned_from, s.transitioned_to) for s in steps] == [
        ("incomingConversationMessage", "Trigger", "ask"),
        ("timeout", "ask", "too_slow"),
        ("sent", "too_slow", "Ended"),
    ]
    # Once only; and a reply now starts a fresh execution (the studio webhook stays).
    clocked.advance_clock(7200)
    assert handset.screen().count(("outbound", "Too slow")) == 1
    handset.text("back")
    assert handset.screen()[-2:] == [("inbound", "back"), ("outbound", "Are you there?")]
    assert len(client.studio.v2.flows(flow.sid).executions.list()) == 2


def test_reply_before_the_timeout_cancels_it(clocked, phone):
    client, flow, handset = _impatient_setup(clocked, phone)
    handset.text("hi")
    clocked.advance_clock(1800)
    handset.text("here")
    clocked.advance_clock(7200)
    assert handset.screen() == [
        ("inbound", "hi"), ("outbound", "Are you there?"), ("inbound", "here"), ("outbound", "Got it")]


@pytest.mark.parametrize("crash", [True, False], ids=["kill", "sigterm"])
def test_timeout_survives_a_restart_and_fires_once(clocked, phone, crash):
    client, flow, handset = _impatient_setup(clocked, phone)
    sent_at = clock_ms(clocked)  # the manual clock stands still until advanced
    handset.text("hi")
    assert handset.screen() == [("inbound", "hi"), ("outbound", "Are you there?")]

    clocked.restart(crash=crash)
    # A new process starts its manual clock at the real time again; the timer is durable and
    # due at the absolute time 3600 s after the text.
    restarted_at = clock_ms(clocked)
    assert restarted_at >= sent_at
    due_in_s = (sent_at + 3600_000 - restarted_at) / 1000
    assert 3500 < due_in_s <= 3600, due_in_s
    client = clocked.client()
    before = int(due_in_s) - 1  # whole seconds that stay short of the deadline
    clocked.advance_clock(before)
    assert handset.screen() == [("inbound", "hi"), ("outbound", "Are you there?")]
    [execution] = client.studio.v2.flows(flow.sid).executions.list()
    assert execution.status == "active"

    clocked.advance_clock(2)
    assert handset.screen() == [("inbound", "hi"), ("outbound", "Are you there?"), ("outbound", "Too slow")]
    assert client.studio.v2.flows(flow.sid).executions(execution.sid).fetch().status == "ended"
    # Exactly once, even after another restart and more time.
    clocked.restart(crash=crash)
    clocked.advance_clock(4 * 3600)
    assert handset.screen().count(("outbound", "Too slow")) == 1
    steps = clocked.client().studio.v2.flows(flow.sid).executions(execution.sid).steps.list()
    assert [s.name for s in steps] == ["incomingConversationMessage", "timeout", "sent"]


# --- concurrency ----------------------------------------------------------------------


def test_concurrent_texts_from_one_handset_start_one_execution(client, parley, seed_flow, phone):
    number = phone()
    auto_creating_number(client, seed_flow.sid, number)
    handsets = [Handset(parley, phone(), number) for _ in range(6)]
    barrier = threading.Barrier(2 * len(handsets))
    results, errors = [], []

    def send(h, body):
        try:
            barrier.wait(timeout=10)
            results.append((h.address, h.text(body)))
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=send, args=(h, body)) for h in handsets for body in ("hello", "yes")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == 2 * len(handsets)

    executions = client.studio.v2.flows(seed_flow.sid).executions.list()
    by_contact: dict[str, list] = {}
    for e in executions:
        by_contact.setdefault(e.contact_channel_address, []).append(e)
    for h in handsets:
        # One conversation, one execution per handset, whatever order the texts landed in.
        conv_sid = one_conversation_of(client, h.address)
        assert {r["conversation_sid"] for a, r in results if a == h.address} == {conv_sid}
        assert len(by_contact.get(h.address, [])) == 1, (h.address, by_contact.get(h.address))
        screen = h.screen()
        assert sorted(b for d, b in screen if d == "inbound") == ["hello", "yes"]
        # The first text started the flow, the second answered it.
        first, second = [b for d, b in screen if d == "inbound"]
        assert screen == [("inbound", first), ("outbound", QUESTION), ("inbound", second),
                          ("outbound", "🤖" if second == "yes" else "👻")]
    assert len(executions) == len(handsets)
