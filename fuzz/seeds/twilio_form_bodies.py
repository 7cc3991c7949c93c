"""Writes the form_decode seed corpus: request bodies exactly as the official `twilio` Python
client encodes them for the calls the end-to-end tests make (tests/e2e). Nothing is sent: a
recording HTTP client captures each body.

    .venv/bin/python fuzz/seeds/twilio_form_bodies.py   # from the repository root
"""

import datetime as dt
import json
import pathlib
import requests
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

OUT = pathlib.Path(__file__).resolve().parent.parent / "corpus" / "form_decode"
CH = "CH" + "0" * 31 + "1"


class Recorder(HttpClient):
    def __init__(self):
        super().__init__(logger=None, is_async=False)
        self.bodies = []

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):
        if data:
            # Encoded the way the client's TwilioHttpClient sends it: through requests.
            body = requests.Request(method, url, data=data).prepare().body
            self.bodies.append(body.encode() if isinstance(body, str) else body)
        return Response(200, json.dumps({"sid": CH, "account_sid": "AC" + "0" * 32}))


def calls(c):
    conv = c.conversations.v1
    yield lambda: conv.conversations.create(friendly_name="durable", unique_name="durable-1", attributes='{"k": 1}')
    yield lambda: conv.conversations.create(
        friendly_name="timers", state="inactive", timers_inactive="PT5M", timers_closed="PT10M",
        messaging_service_sid="MG" + "0" * 32, date_created=dt.datetime(2019, 6, 1, tzinfo=dt.timezone.utc),
        bindings_email_address="a@example.com", bindings_email_name="A",
    )
    yield lambda: conv.conversations(CH).update(state="closed", x_twilio_webhook_enabled="true")
    yield lambda: conv.conversations.create(attributes="{not json")
    yield lambda: conv.conversations(CH).participants.create(
        messaging_binding_address="+15558675310", messaging_binding_proxy_address="+15017122661",
        attributes='{"vip": true}',
    )
    yield lambda: conv.conversations(CH).participants.create(identity="agent", role_sid="RL" + "0" * 32)
    yield lambda: conv.conversations(CH).participants("MB" + "0" * 32).update(
        last_read_message_index=3, last_read_timestamp="2024-01-01T00:00:00Z",
        messaging_binding_proxy_address="null",
    )
    yield lambda: conv.conversations(CH).messages.create(author="agent", body="Hi, I'm Alice! ☃ & =")
    yield lambda: conv.conversations(CH).messages.create(body="Ahoy there!", attributes='{"importance": "high"}')
    yield lambda: conv.conversations(CH).messages.create(
        media_sid="ME" + "0" * 32, content_sid="HX" + "0" * 32, content_variables='{"1": "x"}',
        date_created=dt.datetime(2020, 7, 1, 22, 18, 37, tzinfo=dt.timezone.utc),
    )
    yield lambda: conv.conversations(CH).webhooks.create(
        target="webhook", configuration_url="https://example.com/hook", configuration_method="POST",
        configuration_filters=["onMessageAdded", "onParticipantAdded"], configuration_replay_after=0,
    )
    yield lambda: conv.conversations(CH).webhooks.create(
        target="trigger", configuration_url="https://example.com/t", configuration_triggers=["help", "stop"],
    )
    yield lambda: conv.conversations(CH).webhooks.create(target="studio", configuration_flow_sid="FW" + "0" * 32)
    yield lambda: conv.address_configurations.create(
        type="sms", address="+15017122661", friendly_name="main", auto_creation_enabled=True,
        auto_creation_type="webhook", auto_creation_webhook_url="https://example.com/auto",
        auto_creation_webhook_method="POST", auto_creation_webhook_filters=["onMessageAdded"],
    )
    yield lambda: conv.address_configurations.create(
        type="whatsapp", address="whatsapp:+15017122661", auto_creation_enabled=True,
        auto_creation_type="studio", auto_creation_studio_flow_sid="FW" + "0" * 32,
        auto_creation_studio_retry_count=3, auto_creation_conversation_service_sid="IS" + "0" * 32,
    )


def main():
    rec = Recorder()
    client = Client("AC" + "0" * 32, "token", http_client=rec)
    for call in calls(client):
        try:
            call()
        except Exception:  # the fake answer may not fit every resource; the body is recorded
            pass
    OUT.mkdir(parents=True, exist_ok=True)
    for i, body in enumerate(rec.bodies):
        (OUT / f"twilio-python-{i:02d}").write_bytes(body)
    print(f"wrote {len(rec.bodies)} bodies to {OUT}")


if __name__ == "__main__":
    main()
