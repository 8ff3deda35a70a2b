"""The official SDK is the oracle for every path and method the client uses: each of our
endpoints must be the one the SDK's API class calls."""

from __future__ import annotations

import inspect
import re

import pytest
from PureCloudPlatformClientV2.apis import (
    AnalyticsApi,
    ConversationsApi,
    NotificationsApi,
    RoutingApi,
)

from processor.genesys import api


def sdk_call(cls: type, method: str) -> tuple[str, str]:
    """(HTTP method, resource path) of one SDK API method, read from its source."""
    src = inspect.getsource(getattr(cls, method))
    path = re.search(r"resource_path = '([^']+)'", src)
    verb = re.search(r"call_api\(resource_path, '([A-Z]+)'", src)
    assert path, method
    assert verb, method
    return verb.group(1), path.group(1)


@pytest.mark.parametrize(
    ("ours", "verb", "cls", "method"),
    [
        (api.CHANNELS, "POST", NotificationsApi, "post_notifications_channels"),
        (api.SUBSCRIPTIONS, "PUT", NotificationsApi, "put_notifications_channel_subscriptions"),
        (api.DETAILS_QUERY, "POST", AnalyticsApi, "post_analytics_conversations_details_query"),
        (api.CONVERSATION, "GET", ConversationsApi, "get_conversation"),
        (
            api.ATTRIBUTES["message"],
            "PATCH",
            ConversationsApi,
            "patch_conversations_message_participant_attributes",
        ),
        (
            api.ATTRIBUTES["chat"],
            "PATCH",
            ConversationsApi,
            "patch_conversation_participant_attributes",
        ),
        (api.QUEUES, "GET", RoutingApi, "get_routing_queues"),
    ],
)
def test_each_endpoint_is_the_sdks(ours: str, verb: str, cls: type, method: str) -> None:
    assert sdk_call(cls, method) == (verb, ours)


def test_bodies_use_the_sdks_wire_names() -> None:
    from PureCloudPlatformClientV2.models import (
        ChannelTopic,
        ConversationQuery,
        PagingSpec,
        ParticipantAttributes,
    )

    wire = set(ConversationQuery().attribute_map.values())
    assert {"interval", "order", "orderBy", "segmentFilters", "paging"} <= wire
    assert {"pageSize", "pageNumber"} <= set(PagingSpec().attribute_map.values())
    assert "id" in ChannelTopic().attribute_map.values()
    assert set(ParticipantAttributes().attribute_map.values()) == {"attributes"}
