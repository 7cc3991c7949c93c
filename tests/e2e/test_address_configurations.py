"""Address Configurations (`/v1/Configuration/Addresses`): create, fetch by SID or by
address, list with the Type filter and paging, update, delete, errors."""

from helpers import FLOW_SID, OTHER_FLOW_SID, assert_url, twilio_error


def test_fetch_update_delete_by_sid_and_address(v1, parley, phone):
    number = phone()
    cfg = v1.address_configurations.create(
        type="sms",
        address=number,
        friendly_name="Studio Test Configuration",
        auto_creation_enabled=True,
        auto_creation_type="studio",
        auto_creation_studio_flow_sid=FLOW_SID,
        auto_creation_studio_retry_count=2,
    )
    assert cfg.friendly_name == "Studio Test Configuration"
    assert cfg.auto_creation["studio_retry_count"] == 2

    by_address = v1.address_configurations(number).fetch()
    assert by_address.sid == cfg.sid
    assert_url(by_address.url, parley.base_url, f"/v1/Configuration/Addresses/{cfg.sid}")

    updated = v1.address_configurations(cfg.sid).update(
        friendly_name="renamed", auto_creation_enabled=False, auto_creation_studio_flow_sid=OTHER_FLOW_SID
    )
    assert updated.friendly_name == "renamed"
    assert updated.auto_creation["enabled"] is False
    assert updated.auto_creation["studio_flow_sid"] == OTHER_FLOW_SID
    assert updated.type == "sms" and updated.address == number

    again = v1.address_configurations(number).update(auto_creation_enabled=True)
    assert again.auto_creation["enabled"] is True

    assert v1.address_configurations(number).delete() is True
    with twilio_error(404):
        v1.address_configurations(cfg.sid).fetch()
    with twilio_error(404):
        v1.address_configurations(number).fetch()


def test_webhook_auto_creation(v1, phone):
    cfg = v1.address_configurations.create(
        type="whatsapp",
        address="whatsapp:" + phone(),
        auto_creation_enabled=True,
        auto_creation_type="webhook",
        auto_creation_webhook_url="https://example.com/auto",
        auto_creation_webhook_method="POST",
        auto_creation_webhook_filters=["onParticipantAdded", "onMessageAdded"],
    )
    assert cfg.type == "whatsapp"
    ac = cfg.auto_creation
    assert ac["type"] == "webhook"
    assert ac["webhook_url"] == "https://example.com/auto"
    assert ac["webhook_method"].lower() == "post"
    assert ac["webhook_filters"] == ["onParticipantAdded", "onMessageAdded"]


def test_list_with_type_filter_and_paging(server_factory, phone):
    v1 = server_factory().client().conversations.v1
    sms = [v1.address_configurations.create(type="sms", address=phone()).sid for _ in range(3)]
    wa = v1.address_configurations.create(type="whatsapp", address="whatsapp:" + phone()).sid
    assert [a.sid for a in v1.address_configurations.list()] == sms + [wa]
    assert [a.sid for a in v1.address_configurations.list(type="sms")] == sms
    assert [a.sid for a in v1.address_configurations.list(type="whatsapp")] == [wa]
    assert [a.sid for a in v1.address_configurations.list(limit=3, page_size=2)] == sms


def test_errors(v1, phone):
    # The official client requires `type`; a client that leaves it out gets 400/20001.
    from twilio.base import values

    with twilio_error(400, 20001):
        v1.address_configurations.create(type=values.unset, address=phone())
    with twilio_error(400, 20001):
        v1.address_configurations.create(type="sms", address=values.unset)
    with twilio_error(400):
        v1.address_configurations.create(type="carrier-pigeon", address=phone())
    number = phone()
    v1.address_configurations.create(type="sms", address=number)
    with twilio_error(409):
        v1.address_configurations.create(type="sms", address=number)
    with twilio_error(404, 20404):
        v1.address_configurations("IG" + "0" * 32).fetch()
