"""chatstate's HTTP API: issue sessions, answer "where were we?", accept data-action snapshots.

It reads PostgreSQL and writes through Kafka only (issuing a session is the one direct write), so
every change of a session still travels on that session's partition. ``create_app`` wires it.
"""

from __future__ import annotations

from processor.api.app import create_app

__all__ = ["create_app"]
