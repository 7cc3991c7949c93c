"""Webhooks as a receiver in the wild sees them (complements test_webhook_delivery.py):
a local HTTP server validates every request with twilio-python's own
`RequestValidator(auth_token).validate(url, params, signature)`, checks which events
arrive (REST actions only with `X-Twilio-Webhook-Enabled: true`; texts from SMS
participants always), in which order, and that a receiver answering 503 is retried with
backoff (1 s, 2 s) and then given up on, visibly in /parley/v1/WebhookDeliveries. The
backoff is skipped with the dev clock, never slept through.

Each test runs its own server: global webhook configuration would otherwise reach the
other tests of the shared one."""

from __future__ import annotations

import http.server
import queue
import threading
import time
import urllib.parse

import pytest
import requests
from twilio.request_validator import RequestValidator, get_signature_algorithm


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records each request and answers `status`."""

    def __init__(self, status: int = 200):
        self.status = status
        self.requests: "queue.Queue[dict]" = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                outer.requests.put({
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "form": {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()},
                })

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 15.0) -> dict:
        return self.requests.get(timeout=timeout)

    def take(self, n: int) -> list[dict]:
        return [self.next() for _ in range(n)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def assert_signed(server, url: str, got: dict) -> None:
    """What a Twilio customer's endpoint does: validate with the account's Auth Token."""
    signature = got["headers"].get("x-twilio-signature")
    assert signature, "every webhook request is signed"
    validator = RequestValidator(server.auth_token)
    assert validator.validate(url, got["form"], signature), (url, got["form"])
    # ...and a tampered request does not pass.
    assert not validator.validate(url, {**got["form"], "Body": "tampered"}, signature)
    assert not RequestValidator("another-token").validate(url, got["form"], signature)


def text(server, frm: str, to: str, body: str) -> dict:
    r = requests.post(
        f"{server.base_url}/sim/v1/Messages",
        data={"From": frm, "To": to, "Body": body},
        auth=(server.account_sid, server.auth_token),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(server, **params) -> list[dict]:
    r = requests.get(
        f"{server.base_url}/parley/v1/WebhookDeliveries",
        params=params,
        auth=(server.account_sid, server.auth_token),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()["webhook_deliveries"]


def wait_for_delivery(server, url: str, status: str, attempts: int, timeout: float = 10.0) -> dict:
    """The server records an attempt's outcome just after the receiver answered: wait for
    that record (the receiver's request alone does not say it was written yet)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [d for d in deliveries(server) if d["url"] == url]
        if rows and rows[0]["status"] == status and rows[0]["attempts"] == attempts:
            return rows[0]
        if time.monotonic() > deadline:
            pytest.fail(f"delivery to {url} never reached {status}/{attempts}: {rows}")
        time.sleep(0.02)


def test_sms_participant_texts_always_fire_rest_actions_only_with_header(server_factory, receiver, phone):
    server = server_factory()
    v1 = server.client().conversations.v1
    handset, number = phone(), phone()
    conv = v1.conversations.create(friendly_name="signed")
    url = f"{receiver.base}/hook?x=1&y=two"
    hook = v1.conversations(conv.sid).webhooks.create(
        target="webhook",
        configuration_url=url,
        configuration_method="POST",
        configuration_filters=["onMessageAdded", "onParticipantAdded"],
    )
    # A REST action without the header: silent.
    sms = v1.conversations(conv.sid).participants.create(
        messaging_binding_address=handset, messaging_binding_proxy_address=number
    )
    # Texts from the SMS participant always fire, one request per message, in order.
    sent = [text(server, handset, number, body) for body in ("one", "two", "three")]
    got = receiver.take(3)
    for g, body, s in zip(got, ("one", "two", "three"), sent):
        f = g["form"]
        assert g["path"] == "/hook?x=1&y=two"
        assert g["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
        assert (f["EventType"], f["Body"], f["Author"], f["Source"]) == ("onMessageAdded", body, handset, "SMS")
        assert f["ConversationSid"] == conv.sid
        assert f["ParticipantSid"] == sms.sid
        assert f["MessageSid"] == s["message_sid"]
        assert f["AccountSid"] == server.account_sid
        assert f["WebhookSid"] == hook.sid
        assert f["RetryCount"] == "0"
        assert_signed(server, url, g)
    assert [g["form"]["Index"] for g in got] == ["0", "1", "2"]

    # REST actions: silent without X-Twilio-Webhook-Enabled, delivered with it.
    v1.conversations(conv.sid).messages.create(author="agent", body="quiet")
    v1.conversations(conv.sid).participants.create(identity="quiet-one")
    loud = v1.conversations(conv.sid).participants.create(identity="loud-one", x_twilio_webhook_enabled="true")
    g = receiver.next()
    assert (g["form"]["EventType"], g["form"]["Identity"]) == ("onParticipantAdded", "loud-one")
    assert g["form"]["ParticipantSid"] == loud.sid
    assert_signed(server, url, g)
    msg = v1.conversations(conv.sid).messages.create(author="agent", body="loud", x_twilio_webhook_enabled="true")
    g = receiver.next()
    assert (g["form"]["EventType"], g["form"]["Body"], g["form"]["MessageSid"]) == ("onMessageAdded", "loud", msg.sid)
    assert g["form"]["Source"] == "API"
    assert_signed(server, url, g)
    assert receiver.requests.empty()
    # Five requests, each recorded as delivered once the receiver's 200 is written down.
    d = wait_for_delivery(server, url, "delivered", 1)
    assert d["response_status"] == 200 and d["last_error"] is None
    rows = deliveries(server, ConversationSid=conv.sid)
    assert len(rows) == 5
    assert {(r["status"], r["attempts"], r["url"]) for r in rows} == {("delivered", 1, url)}


def test_global_webhook_sees_a_new_sms_conversation(server_factory, receiver, phone):
    server = server_factory()
    client = server.client()
    v1 = client.conversations.v1
    url = f"{receiver.base}/global"
    v1.configuration.webhooks().update(
        method="POST",
        filters=["onConversationAdded", "onParticipantAdded", "onMessageAdded"],
        post_webhook_url=url,
        target="webhook",
    )
    # REST: only with the header.
    v1.conversations.create(friendly_name="silent")
    loud = v1.conversations.create(friendly_name="loud", x_twilio_webhook_enabled="true")
    g = receiver.next()
    assert (g["form"]["EventType"], g["form"]["ConversationSid"], g["form"]["FriendlyName"]) == (
        "onConversationAdded", loud.sid, "loud")
    assert_signed(server, url, g)

    # A text to an auto-creating number: the new conversation, its participant, the message.
    handset, number = phone(), phone()
    v1.address_configurations.create(type="sms", address=number, auto_creation_enabled=True, auto_creation_type="default")
    routed = text(server, handset, number, "hello there")
    got = receiver.take(3)
    for g in got:
        assert g["form"]["ConversationSid"] == routed["conversation_sid"]
        assert_signed(server, url, g)
    by_event = {g["form"]["EventType"]: g["form"] for g in got}
    assert set(by_event) == {"onConversationAdded", "onParticipantAdded", "onMessageAdded"}
    assert by_event["onParticipantAdded"]["MessagingBinding.Address"] == handset
    assert by_event["onParticipantAdded"]["MessagingBinding.ProxyAddress"] == number
    assert by_event["onMessageAdded"]["Body"] == "hello there"
    assert by_event["onMessageAdded"]["Author"] == handset
    assert receiver.requests.empty()


def test_global_webhook_events_arrive_in_order(server_factory, receiver, phone):
    server = server_factory()
    v1 = server.client().conversations.v1
    v1.configuration.webhooks().update(
        method="POST",
        filters=["onConversationAdded", "onParticipantAdded", "onMessageAdded"],
        post_webhook_url=f"{receiver.base}/global",
        target="webhook",
    )
    number = phone()
    v1.address_configurations.create(type="sms", address=number, auto_creation_enabled=True, auto_creation_type="default")
    for _ in range(5):
        text(server, phone(), number, "hello")
        events = [g["form"]["EventType"] for g in receiver.take(3)]
        assert events == ["onConversationAdded", "onParticipantAdded", "onMessageAdded"]


def test_down_receiver_is_retried_then_given_up(server_factory, phone):
    server = server_factory(extra_args=("--dev-clock",))
    down = Receiver(status=503)
    try:
        v1 = server.client().conversations.v1
        handset, number = phone(), phone()
        conv = v1.conversations.create()
        url = f"{down.base}/down"
        v1.conversations(conv.sid).webhooks.create(
            target="webhook", configuration_url=url, configuration_filters=["onMessageAdded"]
        )
        v1.conversations(conv.sid).participants.create(
            messaging_binding_address=handset, messaging_binding_proxy_address=number
        )
        # The conversation is not held up by its webhook.
        sent = text(server, handset, number, "anyone?")
        assert sent["conversation_sid"] == conv.sid
        assert [m.body for m in v1.conversations(conv.sid).messages.list()] == ["anyone?"]

        first = down.next()
        assert first["form"]["RetryCount"] == "0"
        assert_signed(server, url, first)
        d = wait_for_delivery(server, url, "retrying", 1)
        assert d["response_status"] == 503
        assert "503" in d["last_error"]
        assert d["event_type"] == "onMessageAdded" and d["conversation_sid"] == conv.sid

        # Not before the first backoff (1 s)...
        server.advance_clock(0)
        assert down.requests.empty()
        server.advance_clock(1)
        second = down.next()
        assert second["form"]["RetryCount"] == "1"
        assert second["form"]["MessageSid"] == first["form"]["MessageSid"]
        assert_signed(server, url, second)  # signed again, over the new RetryCount
        wait_for_delivery(server, url, "retrying", 2)

        # ...then 2 s, then it gives up after the third attempt.
        server.advance_clock(1)
        assert down.requests.empty()
        server.advance_clock(1)
        third = down.next()
        assert third["form"]["RetryCount"] == "2"
        assert_signed(server, url, third)
        d = wait_for_delivery(server, url, "failed", 3)
        assert d["response_status"] == 503 and "503" in d["last_error"]

        server.advance_clock(3600)
        assert down.requests.empty()
        assert [x["status"] for x in deliveries(server, Status="failed")] == ["failed"]
        assert deliveries(server, Status="retrying") == []
        # The conversation goes on; a later message is tried afresh.
        text(server, handset, number, "still there?")
        assert down.next()["form"]["Body"] == "still there?"
    finally:
        down.close()


def signing(server, **data) -> dict:
    auth = (server.account_sid, server.auth_token)
    url = f"{server.base_url}/parley/v1/WebhookSigning"
    r = requests.post(url, data=data, auth=auth, timeout=10) if data else requests.get(url, auth=auth, timeout=10)
    return r


def test_sha256_shared_key_signing_validates_with_twilio_python(server_factory, receiver, phone):
    """twilio-python 9.x reads X-Twilio-Webhooks-Signature-Settings and checks HMAC-SHA256
    with the shared key's secret: what a receiver sees once an account switches to it."""
    server = server_factory()
    v1 = server.client().conversations.v1
    handset, number = phone(), phone()
    assert signing(server).json()["algorithm"] == "HMAC_SHA1"
    bad = signing(server, Algorithm="HMAC_MD5")
    assert bad.status_code == 400 and bad.json()["code"] == 20001, bad.text

    switched = signing(server, Algorithm="HMAC_SHA256")
    assert switched.status_code == 200, switched.text
    key = switched.json()
    assert key["algorithm"] == "HMAC_SHA256" and key["key_id"].startswith("webhooks_sharedkey_")
    secret = key["secret"]
    assert len(secret) >= 32
    # The secret is shown once: reading the setting back never returns it.
    again = signing(server).json()
    assert again["key_id"] == key["key_id"] and "secret" not in again

    conv = v1.conversations.create()
    url = f"{receiver.base}/sha256"
    v1.conversations(conv.sid).webhooks.create(
        target="webhook", configuration_url=url, configuration_filters=["onMessageAdded"]
    )
    v1.conversations(conv.sid).participants.create(
        messaging_binding_address=handset, messaging_binding_proxy_address=number
    )
    text(server, handset, number, "signed with sha256")
    got = receiver.next()
    settings = got["headers"].get("x-twilio-webhooks-signature-settings")
    assert settings == f"key={key['key_id']},algorithm=HMAC_SHA256"
    algorithm = get_signature_algorithm(settings)
    assert algorithm == "HMAC_SHA256"
    sig = got["headers"]["x-twilio-signature"]
    assert RequestValidator(secret).validate(url, got["form"], sig, algorithm=algorithm)
    assert not RequestValidator(secret).validate(url, {**got["form"], "Body": "x"}, sig, algorithm=algorithm)
    # Neither the Auth Token nor SHA-1 validates it any more.
    assert not RequestValidator(server.auth_token).validate(url, got["form"], sig)
    assert not RequestValidator(server.auth_token).validate(url, got["form"], sig, algorithm=algorithm)

    # Back to SHA-1: no settings header, the Auth Token validates again.
    back = signing(server, Algorithm="HMAC_SHA1").json()
    assert back["algorithm"] == "HMAC_SHA1" and back["key_id"] is None and "secret" not in back
    text(server, handset, number, "signed with sha1")
    got = receiver.next()
    assert "x-twilio-webhooks-signature-settings" not in got["headers"]
    assert_signed(server, url, got)
