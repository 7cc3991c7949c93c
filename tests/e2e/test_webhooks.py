"""Conversation-scoped webhooks (webhook, trigger, studio targets; at most 5), and the
global and service-level webhook configuration."""

import pytest

from helpers import FLOW_SID, OTHER_FLOW_SID, assert_datetime, assert_sid, assert_url, twilio_error


def test_scoped_webhook_crud(v1, parley):
    conv = v1.conversations.create()
    hooks = v1.conversations(conv.sid).webhooks
    w = hooks.create(
        target="webhook",
        configuration_url="https://example.com/hook",
        configuration_method="POST",
        configuration_filters=["onMessageAdded", "onConversationUpdated"],
    )
    assert_sid(w.sid, "WH")
    assert w.target == "webhook"
    assert w.configuration["url"] == "https://example.com/hook"
    assert w.configuration["method"].lower() == "post"
    assert w.configuration["filters"] == ["onMessageAdded", "onConversationUpdated"]
    assert_datetime(w.date_created)
    assert_url(w.url, parley.base_url, f"/v1/Conversations/{conv.sid}/Webhooks/{w.sid}")

    fetched = hooks(w.sid).fetch()
    assert fetched.configuration == w.configuration

    updated = hooks(w.sid).update(
        configuration_url="https://example.com/other", configuration_filters=["onMessageRemoved"]
    )
    assert updated.configuration["url"] == "https://example.com/other"
    assert updated.configuration["filters"] == ["onMessageRemoved"]
    assert updated.target == "webhook"

    assert hooks(w.sid).delete() is True
    with twilio_error(404):
        hooks(w.sid).fetch()
    assert hooks.list() == []


def test_trigger_and_studio_targets(v1):
    conv = v1.conversations.create()
    hooks = v1.conversations(conv.sid).webhooks
    trig = hooks.create(
        target="trigger",
        configuration_url="https://example.com/trigger",
        configuration_method="POST",
        configuration_triggers=["keyword1", "keyword2"],
    )
    assert trig.target == "trigger"
    # Twilio echoes trigger keywords under `filters`.
    assert trig.configuration["filters"] == ["keyword1", "keyword2"]

    studio = hooks.create(target="studio", configuration_flow_sid=FLOW_SID, configuration_replay_after=0)
    assert studio.configuration["flow_sid"] == FLOW_SID
    moved = hooks(studio.sid).update(configuration_flow_sid=OTHER_FLOW_SID)
    assert moved.configuration["flow_sid"] == OTHER_FLOW_SID
    assert [h.sid for h in hooks.list()] == [trig.sid, studio.sid]


def test_sixth_webhook_is_50361(v1):
    conv = v1.conversations.create()
    hooks = v1.conversations(conv.sid).webhooks
    made = [hooks.create(target="studio", configuration_flow_sid=FLOW_SID).sid for _ in range(5)]
    with twilio_error(400, 50361):
        hooks.create(target="studio", configuration_flow_sid=FLOW_SID)
    # The list is capped at 5 per page and holds them all.
    assert [h.sid for h in hooks.list()] == made
    assert [h.sid for h in hooks.list(limit=3, page_size=2)] == made[:3]
    hooks(made[0]).delete()
    hooks.create(target="studio", configuration_flow_sid=FLOW_SID)


def test_scoped_webhook_errors(v1):
    conv = v1.conversations.create()
    hooks = v1.conversations(conv.sid).webhooks
    with twilio_error(400, 50364):
        hooks.create(target="carrier-pigeon")
    with twilio_error(400, 50369):
        hooks.create(target="webhook", configuration_filters=["onMessageAdded"])
    with twilio_error(400, 50365):
        hooks.create(target="webhook", configuration_url="https://example.com/h", configuration_filters=["onNothing"])
    with twilio_error(400, 50362):
        hooks.create(
            target="trigger",
            configuration_url="https://example.com/t",
            configuration_triggers=["a", "b", "c", "d", "e", "f"],
        )
    with twilio_error(404):
        hooks("WH" + "0" * 32).fetch()


def test_global_webhook_configuration(v1, parley):
    cfg = v1.configuration.webhooks().fetch()
    assert cfg.account_sid == parley.account_sid
    assert_url(cfg.url, parley.base_url, "/v1/Configuration/Webhooks")

    updated = v1.configuration.webhooks().update(
        method="POST",
        filters=["onMessageAdded", "onConversationAdded"],
        pre_webhook_url="https://example.com/pre",
        post_webhook_url="https://example.com/post",
        target="webhook",
    )
    assert updated.method == "POST"
    assert updated.filters == ["onMessageAdded", "onConversationAdded"]
    assert updated.pre_webhook_url == "https://example.com/pre"
    assert updated.post_webhook_url == "https://example.com/post"
    assert updated.target == "webhook"
    assert v1.configuration.webhooks().fetch().post_webhook_url == "https://example.com/post"
    # Clean up for the other tests on the shared server: no global hooks.
    v1.configuration.webhooks().update(filters=[], pre_webhook_url="", post_webhook_url="")


@pytest.fixture
def service(v1, unique):
    svc = v1.services.create(friendly_name=unique("svc"))
    yield svc
    v1.services(svc.sid).delete()


def test_service_webhook_configuration(v1, parley, service):
    hooks = v1.services(service.sid).configuration.webhooks()
    cfg = hooks.fetch()
    assert cfg.chat_service_sid == service.sid
    assert_url(cfg.url, parley.base_url, f"/v1/Services/{service.sid}/Configuration/Webhooks")
    updated = hooks.update(
        post_webhook_url="https://example.com/svc-post",
        filters=["onMessageAdded", "onParticipantAdded"],
        method="GET",
    )
    assert updated.post_webhook_url == "https://example.com/svc-post"
    assert updated.filters == ["onMessageAdded", "onParticipantAdded"]
    assert updated.method == "GET"
    assert hooks.fetch().method == "GET"
