"""Assertions on what a twilio-python user sees: SIDs, dates, URLs and errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

import pytest
from twilio.base.exceptions import TwilioRestException

FLOW_SID = "FW" + "0123456789abcdef" * 2
OTHER_FLOW_SID = "FW" + "fedcba9876543210" * 2


def assert_sid(value, prefix: str) -> None:
    """Twilio SIDs: 2 letters + 32 hex (the twilio-cli validates them against the spec)."""
    assert isinstance(value, str) and re.fullmatch(prefix + r"[0-9a-f]{32}", value), value


def assert_datetime(value) -> None:
    """twilio-python turns only `YYYY-MM-DDTHH:MM:SSZ` into an aware datetime; anything
    else stays a string, so a string here means the server sent the wrong format."""
    assert isinstance(value, dt.datetime), f"not parsed as a date: {value!r}"
    assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0)


def assert_recent(value, slack_s: int = 300) -> None:
    assert_datetime(value)
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - value).total_seconds()) < slack_s, value


def assert_url(value, base_url: str, path: str) -> None:
    """Absolute URLs on the server's own origin (clients follow them verbatim)."""
    assert value == base_url + path, f"{value!r} != {base_url + path!r}"


@contextlib.contextmanager
def twilio_error(status: int, code: int | None = None):
    """Expects the call to raise TwilioRestException with this HTTP status and Twilio code."""
    with pytest.raises(TwilioRestException) as info:
        yield info
    err = info.value
    assert err.status == status, f"status {err.status} (code {err.code}): {err.msg}"
    if code is not None:
        assert err.code == code, f"code {err.code} (status {err.status}): {err.msg}"
    assert err.msg, "an error must say what went wrong"


@contextlib.contextmanager
def page_error(status: int, code: int | None = None):
    """List calls on a missing parent: twilio-python raises a plain TwilioException
    ("Unable to fetch page") carrying the HTTP response, not a TwilioRestException."""
    from twilio.base.exceptions import TwilioException

    with pytest.raises(TwilioException) as info:
        yield info
    _, response = info.value.args
    assert response.status_code == status, response
    if code is not None:
        import json

        assert json.loads(response.text)["code"] == code, response.text
