"""The seed tutorial (shared/fixtures/README.md) step by step, through the official client:
a conversation with an SMS participant and a studio webhook, and an auto-creating
address configuration. Each step asserts what the tutorial's reader sees."""

from helpers import FLOW_SID, assert_datetime, assert_recent, assert_sid, assert_url


def test_existing_conversation_path(v1, parley, phone):
    proxy = phone()
    user = phone()

    conv = v1.conversations.create(friendly_name="studio_test")
    assert_sid(conv.sid, "CH")
    assert conv.account_sid == parley.account_sid
    assert_sid(conv.chat_service_sid, "IS")
    assert conv.friendly_name == "studio_test"
    assert conv.unique_name is None
    assert conv.attributes == "{}"
    assert conv.state == "active"
    assert conv.timers == {}
    assert_recent(conv.date_created)
    assert_datetime(conv.date_updated)
    assert_url(conv.url, parley.base_url, f"/v1/Conversations/{conv.sid}")
    assert conv.links == {
        "participants": f"{conv.url}/Participants",
        "messages": f"{conv.url}/Messages",
        "webhooks": f"{conv.url}/Webhooks",
    }

    part = v1.conversations(conv.sid).participants.create(
        messaging_binding_address=user, messaging_binding_proxy_address=proxy
    )
    assert_sid(part.sid, "MB")
    assert part.conversation_sid == conv.sid
    assert part.account_sid == parley.account_sid
    assert part.identity is None
    assert part.messaging_binding == {"type": "sms", "address": user, "proxy_address": proxy}
    assert part.attributes == "{}"
    assert_recent(part.date_created)
    assert_datetime(part.date_updated)
    assert part.last_read_message_index is None
    assert_url(part.url, parley.base_url, f"/v1/Conversations/{conv.sid}/Participants/{part.sid}")

    hook = v1.conversations(conv.sid).webhooks.create(target="studio", configuration_flow_sid=FLOW_SID)
    assert_sid(hook.sid, "WH")
    assert hook.conversation_sid == conv.sid
    assert hook.account_sid == parley.account_sid
    assert hook.target == "studio"
    assert hook.configuration["flow_sid"] == FLOW_SID
    assert_recent(hook.date_created)
    assert_datetime(hook.date_updated)
    assert_url(hook.url, parley.base_url, f"/v1/Conversations/{conv.sid}/Webhooks/{hook.sid}")

    # Everything the tutorial made reads back the same.
    assert v1.conversations(conv.sid).fetch().friendly_name == "studio_test"
    assert [p.sid for p in v1.conversations(conv.sid).participants.list()] == [part.sid]
    assert [w.sid for w in v1.conversations(conv.sid).webhooks.list()] == [hook.sid]


def test_auto_creation_path(v1, parley, phone):
    number = phone()
    cfg = v1.address_configurations.create(
        type="sms",
        address=number,
        auto_creation_enabled=True,
        auto_creation_type="studio",
        auto_creation_studio_flow_sid=FLOW_SID,
    )
    assert_sid(cfg.sid, "IG")
    assert cfg.account_sid == parley.account_sid
    assert cfg.type == "sms"
    assert cfg.address == number
    assert cfg.auto_creation["enabled"] is True
    assert cfg.auto_creation["type"] == "studio"
    assert cfg.auto_creation["studio_flow_sid"] == FLOW_SID
    assert_recent(cfg.date_created)
    assert_datetime(cfg.date_updated)
    assert_url(cfg.url, parley.base_url, f"/v1/Configuration/Addresses/{cfg.sid}")

    fetched = v1.address_configurations(cfg.sid).fetch()
    assert fetched.auto_creation == cfg.auto_creation

    # "Deleting the Address Configuration turns auto-creation off."
    assert v1.address_configurations(cfg.sid).delete() is True
    assert cfg.sid not in [a.sid for a in v1.address_configurations.list()]
