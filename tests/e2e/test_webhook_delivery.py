"""Webhooks as a receiver sees them: a conversation-scoped webhook on a local HTTP server
gets `onMessageAdded`, form-encoded and signed so that twilio-python's own
RequestValidator accepts it. REST actions fire only with X-Twilio-Webhook-Enabled: true.

The test waits on the receiver's event (set when the request arrives), not on a timer."""

import http.server
import queue
import threading
import urllib.parse

import pytest
from twilio.request_validator import RequestValidator


class Receiver:
    def __init__(self):
        self.requests: "queue.Queue[dict]" = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.put({"path": self.path, "headers": headers, "form": urllib.parse.parse_qs(body)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 15.0) -> dict:
        return self.requests.get(timeout=timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_scoped_webhook_receives_signed_on_message_added(v1, parley, receiver):
    conv = v1.conversations.create(friendly_name="hooked")
    url = f"{receiver.url}/hook?x=1"
    v1.conversations(conv.sid).webhooks.create(
        target="webhook", configuration_url=url, configuration_method="POST", configuration_filters=["onMessageAdded"]
    )
    # Without the header a REST action fires nothing; with it, the hook gets the event.
    v1.conversations(conv.sid).messages.create(body="silent")
    msg = v1.conversations(conv.sid).messages.create(body="hello hook", x_twilio_webhook_enabled="true")

    got = receiver.next()
    form = {k: v[0] for k, v in got["form"].items()}
    assert form["EventType"] == "onMessageAdded"
    assert form["MessageSid"] == msg.sid  # the silent message produced no request before this one
    assert form["ConversationSid"] == conv.sid
    assert form["Body"] == "hello hook"
    assert form["Index"] == "1"
    assert form["AccountSid"] == parley.account_sid
    assert got["path"] == "/hook?x=1"

    signature = got["headers"].get("x-twilio-signature")
    assert signature, "webhooks must be signed"
    assert RequestValidator(parley.auth_token).validate(url, form, signature)
    assert receiver.requests.empty()
