"""A local Genesys Cloud for tests and demos: OAuth, notification channels and their
websockets, queues, analytics details, conversations and participant attributes, fed by the
simulator and able to misbehave on request (drop sockets, announce socket_closing, expire
tokens, answer 429, stall)."""

from processor.emulator.app import create_app
from processor.emulator.feed import Feed, queue_ids
from processor.emulator.org import Org
from processor.emulator.server import EmulatorServer, free_port

__all__ = ["EmulatorServer", "Feed", "Org", "create_app", "free_port", "queue_ids"]
