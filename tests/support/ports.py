"""A TCP port for a server the test cannot ask for port 0 (a bot started as a subprocess, a
runner that takes its port from settings)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port free at the time of asking. Not reserved: until the server binds it (a few
    milliseconds) another worker of the suite could be given it too, but the kernel picks
    ports for ``bind(0)`` spread over the ephemeral range (~28,000), so that is unlikely."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
