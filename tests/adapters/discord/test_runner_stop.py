"""A cancelled Discord runner stops even when the client drops the cancellation
(adapters/discord/runner.py ``_connect``)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from adapters.discord.runner import _connect


class SwallowingClient:
    """Stands in for discord.py's ``Client.connect`` loop at the moment Python 3.11's
    ``asyncio.wait_for`` returns a completed handshake and drops the cancellation that came
    with it: the loop goes on until the client is closed. The real race needs a cancellation
    to land in the same loop turn as the handshake's end, which no test can arrange."""

    def __init__(self) -> None:
        self.closed = False
        self.polling = asyncio.Event()

    def is_closed(self) -> bool:
        return self.closed

    async def close(self) -> None:
        self.closed = True

    async def connect(self, *, reconnect: bool) -> None:
        while not self.closed:
            try:
                self.polling.set()
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue  # dropped, as wait_for drops it


async def test_a_cancelled_runner_stops_though_the_client_drops_the_cancellation() -> None:
    client = SwallowingClient()
    running = asyncio.create_task(_connect(cast(Any, client)))
    await client.polling.wait()
    running.cancel()
    try:
        done, _ = await asyncio.wait({running}, timeout=5)
        assert done and running.cancelled()
        assert client.closed  # closing ended the client's own loop
    finally:
        await client.close()  # (without the fix: lets the client's loop, and the test, end)
