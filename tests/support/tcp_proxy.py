"""A TCP proxy that can be cut and restored, to make a real database "go away and come back"
without touching the server other tests use; or frozen and thawed, to make it *hang*."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._serving: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and cut every open one, like a database that went down."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.cut()
        # Each connection's pumps see their sockets closed and end: none is left for the
        # event loop's teardown to cancel (Python 3.11 logs that as an error).
        await asyncio.gather(*self._serving, return_exceptions=True)

    def cut(self) -> None:
        """:meth:`stop` from synchronous code (a SQLAlchemy event hook): the listening socket
        closes at once, open connections as the event loop next runs."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._pipes):
            writer.close()
        self._pipes.clear()
        self._flowing.set()  # pipes held by hang() see their sockets closed, and end

    def hang(self) -> None:
        """Freeze the database without closing anything, like a server stopped with SIGSTOP
        or a network that drops packets: connections stay open and new ones are accepted,
        but no byte crosses in either direction. Bytes sent meanwhile wait here, in order,
        as they would in a stopped server's socket buffers, and go on when :meth:`thaw` is
        called (a statement sent into the hang, a COMMIT among them, then takes effect).
        Synchronous, so a SQLAlchemy event hook can freeze the database before a statement
        it sees is sent."""
        self._flowing.clear()

    def thaw(self) -> None:
        """The database answers again: what waited in :meth:`hang` goes on, in order."""
        self._flowing.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)
        self._pipes.add(writer)
        await self._flowing.wait()  # a frozen server accepts, then answers nothing
        if self._server is None:  # stopped meanwhile: cut() closed the connection
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            self._pipes.discard(writer)
            return
        self._pipes.add(up_writer)
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
            await self._flowing.wait()  # the end of the stream is held back like its bytes
        writer.close()
        self._pipes.discard(writer)


async def proxied_database(postgres_url: str) -> tuple[TcpProxy, str]:
    """An emptied test database reached through a started proxy: (the proxy, the URL that goes
    through it). Stop the proxy to make the database "go away"; start it to bring it back;
    :meth:`TcpProxy.hang` it to make it hang."""
    from sqlalchemy.engine import make_url

    from tests.support.databases import truncate_all

    truncate_all(postgres_url)
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    return proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


class ProxyInAThread:
    """:func:`proxied_database` served by an event loop of its own, in a thread: for tests of
    code that may block the test's own event loop (which then could neither forward a byte
    nor thaw the proxy). :meth:`hang` and :meth:`thaw` may be called from any thread."""

    def __init__(self, postgres_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.proxy, self.url = self._run(proxied_database(postgres_url))

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def hang(self) -> None:
        self._loop.call_soon_threadsafe(self.proxy.hang)

    def thaw(self) -> None:
        self._loop.call_soon_threadsafe(self.proxy.thaw)

    def close(self) -> None:
        self._run(self.proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
