"""Server-level behaviour a client sees: authentication, wire conventions (status codes,
error bodies), and durability across a crash and restart."""

import json

import requests

from conftest import make_client
from helpers import twilio_error


def test_wrong_password_is_401_20003(parley):
    bad = make_client(parley.base_url, parley.account_sid, "not-the-token")
    with twilio_error(401, 20003):
        bad.conversations.v1.conversations.create(friendly_name="x")
    with twilio_error(401, 20003):
        bad.conversations.v1.conversations("CH" + "0" * 32).fetch()


def test_unknown_account_is_401(parley):
    other = make_client(parley.base_url, "AC" + "f" * 32, parley.auth_token)
    with twilio_error(401, 20003):
        other.conversations.v1.conversations.create()


def test_no_credentials_is_401(parley):
    r = requests.get(f"{parley.base_url}/v1/Conversations", timeout=5)
    assert r.status_code == 401
    assert r.json()["code"] == 20003
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")


def test_wire_status_codes_and_error_body(parley):
    """What the twilio-cli needs: spec status codes (201/200/204) and Twilio's error body."""
    auth = (parley.account_sid, parley.auth_token)
    base = f"{parley.base_url}/v1/Conversations"
    created = requests.post(base, data={"FriendlyName": "wire"}, auth=auth, timeout=5)
    assert created.status_code == 201
    assert created.headers["Content-Type"].startswith("application/json")
    sid = created.json()["sid"]
    assert requests.post(f"{base}/{sid}", data={"FriendlyName": "w2"}, auth=auth, timeout=5).status_code == 200
    assert requests.get(f"{base}/{sid}", auth=auth, timeout=5).status_code == 200
    deleted = requests.delete(f"{base}/{sid}", auth=auth, timeout=5)
    assert deleted.status_code == 204 and deleted.content == b""

    missing = requests.get(f"{base}/{sid}", auth=auth, timeout=5)
    assert missing.status_code == 404
    body = missing.json()
    assert body["code"] == 20404 and body["status"] == 404
    assert body["message"] and body["more_info"].startswith("https://")

    unknown_route = requests.get(f"{parley.base_url}/v1/NoSuchThing", auth=auth, timeout=5)
    assert unknown_route.status_code == 404
    put = requests.put(base, auth=auth, timeout=5)
    assert put.status_code == 405


def test_repeated_and_dotted_form_keys(parley):
    auth = (parley.account_sid, parley.auth_token)
    conv = requests.post(f"{parley.base_url}/v1/Conversations", auth=auth, timeout=5).json()
    body = "Target=webhook&Configuration.Url=https%3A%2F%2Fexample.com%2Fh&Configuration.Method=POST" \
        "&Configuration.Filters=onMessageAdded&Configuration.Filters=onConversationUpdated"
    r = requests.post(
        f"{parley.base_url}/v1/Conversations/{conv['sid']}/Webhooks",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=auth,
        timeout=5,
    )
    assert r.status_code == 201, r.text
    assert r.json()["configuration"]["filters"] == ["onMessageAdded", "onConversationUpdated"]


def test_write_survives_kill_and_restart(server_factory):
    server = server_factory()
    v1 = server.client().conversations.v1
    conv = v1.conversations.create(friendly_name="durable", unique_name="durable-1", attributes='{"k": 1}')
    part = v1.conversations(conv.sid).participants.create(identity="persisted")
    msg = v1.conversations(conv.sid).messages.create(body="kept", author="persisted")

    server.restart(crash=True)  # kill -9, then a new process on the same database

    v1 = server.client().conversations.v1
    again = v1.conversations("durable-1").fetch()
    assert again.sid == conv.sid
    assert again.friendly_name == "durable"
    assert json.loads(again.attributes) == {"k": 1}
    assert again.date_created == conv.date_created
    assert again.url.startswith(server.base_url)
    assert v1.conversations(conv.sid).participants(part.sid).fetch().identity == "persisted"
    kept = v1.conversations(conv.sid).messages(msg.sid).fetch()
    assert (kept.body, kept.index, kept.participant_sid) == ("kept", 0, part.sid)
    # The index counter survived too.
    assert v1.conversations(conv.sid).messages.create(body="next").index == 1
    # The credentials are the same ones.
    assert server.starts == 2
