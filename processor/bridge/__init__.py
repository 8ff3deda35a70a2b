"""The Genesys bridge (``chatstate bridge``): notification channels -> ``genesys.conversations``,
gaps backfilled over REST, one active instance by lease, and the agent told a returning
customer's context (``chat.agent-context`` -> participant attributes)."""

from processor.bridge.backfill import BACKFILL_HEADER, FETCHED_AT_HEADER, Backfiller, as_envelope
from processor.bridge.channels import ChannelManager
from processor.bridge.forwarder import Forwarder
from processor.bridge.gaps import Gap, GapLog, Lease
from processor.bridge.redact import redact_envelope
from processor.bridge.runner import Bridge, LeaseLost
from processor.bridge.topics import chunks, queue_topics

__all__ = [
    "BACKFILL_HEADER",
    "FETCHED_AT_HEADER",
    "Backfiller",
    "Bridge",
    "ChannelManager",
    "Forwarder",
    "Gap",
    "GapLog",
    "Lease",
    "LeaseLost",
    "as_envelope",
    "chunks",
    "queue_topics",
    "redact_envelope",
]
