"""Running the emulator: in a thread of the caller's process (tests, ``chatstate run``) or as
``chatstate emulator``. It binds 127.0.0.1 only: it accepts a fixed demo secret."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn

from processor.emulator.app import create_app
from processor.emulator.org import Org

__all__ = ["EmulatorServer", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmulatorServer:
    """``with EmulatorServer(org) as emu:`` serves on ``emu.url`` in a background thread."""

    def __init__(self, org: Org | None = None, port: int = 0, host: str = "127.0.0.1") -> None:
        self.org = org or Org()
        self.host, self.port = host, port or free_port()
        self.url = f"http://{host}:{self.port}"
        self.app = create_app(self.org, f"ws://{host}:{self.port}")
        config = uvicorn.Config(
            self.app,
            host=host,
            port=self.port,
            log_level="warning",
            log_config=None,  # uvicorn's own config would take its loggers off the masked chain
            lifespan="off",
            ws="websockets-sansio",
            ws_ping_interval=None,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def env(self) -> dict[str, str]:
        """The bridge's settings for this emulator."""
        return {
            "GENESYS_API_BASE_URL": self.url,
            "GENESYS_LOGIN_BASE_URL": self.url,
            "GENESYS_CLIENT_ID": self.org.client_id,
            "GENESYS_CLIENT_SECRET": self.org.client_secret,
        }

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` (a coroutine function) on the emulator's loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), self.loop).result(30)

    def __enter__(self) -> EmulatorServer:
        def run() -> None:
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(self.server.serve())

        self._thread = threading.Thread(target=run, name="genesys-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Genesys emulator did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
