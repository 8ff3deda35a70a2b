"""The supervisor's dealer: connections go to the processes in turn, and a failed accept does
not end the dealing (an API that stopped accepting would still look alive)."""

from __future__ import annotations

import errno
import os
import socket
import threading

import pytest

from processor.api.serve import _deal


class _Listener:
    """Accepts what it is given; an OSError in the list is raised as a failed accept."""

    def __init__(self, results: list[socket.socket | OSError], stopping: threading.Event) -> None:
        self.results, self.stopping = results, stopping

    def accept(self) -> tuple[socket.socket, None]:
        if not self.results:
            self.stopping.set()
            raise OSError(errno.EINVAL, "listener closed")
        result = self.results.pop(0)
        if isinstance(result, OSError):
            raise result
        return result, None


def _received(channel: socket.socket) -> int:
    _, fds, _, _ = socket.recv_fds(channel, 1, 8)
    for fd in fds:
        os.close(fd)
    return len(fds)


def test_connections_are_dealt_in_turn_and_a_failed_accept_is_survived() -> None:
    channels = [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(2)]
    pairs = [socket.socketpair() for _ in range(4)]
    stopping = threading.Event()
    listener = _Listener([pairs[0][0], OSError(errno.EMFILE, "Too many open files"),
                          pairs[1][0], pairs[2][0], pairs[3][0]], stopping)
    _deal(listener, [ours for ours, _ in channels], stopping)  # type: ignore[arg-type]
    for _, theirs in channels:
        theirs.setblocking(False)
        assert _received(theirs) + _received(theirs) == 2  # two each: the failure took no turn
        with pytest.raises(BlockingIOError):
            _received(theirs)
    for a, b in [*channels, *pairs]:
        a.close()
        b.close()
