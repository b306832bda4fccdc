"""Fetching a feed's bytes over HTTP, safely (see :mod:`bot.digest.feeds` for why person-added
feeds must only reach public addresses).

A module of its own so that aiohttp loads on the first fetch rather than whenever the
command registry is imported (``tailorbot slack manifest`` needs the registry, not HTTP).
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urljoin

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from bot.digest.feeds import MAX_REDIRECTS, FeedError, ParsedFeed, _is_public, check_url, parse


class PublicOnlyResolver(AbstractResolver):
    """Resolves like the default resolver but keeps only public addresses, so a hostname
    that points (or is re-pointed) at a private or loopback address cannot be reached."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        public = [r for r in results if _is_public(r["host"])]
        if not public:
            raise OSError(f"{host} resolves only to private or local addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


async def fetch(
    url: str,
    *,
    time_limit: float,
    max_bytes: int,
    trusted: bool,
    allow_private: bool = False,
) -> bytes:
    """The feed's bytes. Raises :class:`FeedError` with a short reason."""
    guarded = not trusted and not allow_private
    connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver()) if guarded else None
    client_timeout = aiohttp.ClientTimeout(total=time_limit)
    headers = {
        "User-Agent": "tailorbot-digest/1 (RSS reader)",
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
    }
    try:
        async with aiohttp.ClientSession(
            timeout=client_timeout, connector=connector, headers=headers
        ) as client:
            current = check_url(url, allow_private=not guarded)
            for _ in range(MAX_REDIRECTS + 1):
                async with client.get(current, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location")
                        if not location:
                            raise FeedError(f"redirect without a location ({response.status})")
                        current = check_url(urljoin(current, location), allow_private=not guarded)
                        continue
                    if response.status >= 400:
                        raise FeedError(f"the server answered {response.status}")
                    return await read_limited(response, max_bytes)
            raise FeedError("too many redirects")
    except TimeoutError as exc:
        raise FeedError(f"no answer within {time_limit:g} s") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise FeedError(f"could not fetch it ({exc})") from exc


async def read_limited(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The whole body, however the server splits it into writes, or a FeedError as soon as
    it passes ``max_bytes``. (A single ``read(n)`` returns whatever the first network chunk
    held: a 300-item feed came back as 70 entries and the limit never fired.)"""
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise FeedError(f"the feed is larger than {max_bytes:,} bytes")
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > max_bytes:
            raise FeedError(f"the feed is larger than {max_bytes:,} bytes")
    return bytes(body)


async def fetch_and_parse(
    url: str, *, time_limit: float, max_bytes: int, trusted: bool, allow_private: bool = False
) -> ParsedFeed:
    """Fetch a feed and parse it in a worker thread (feedparser is synchronous)."""
    data = await fetch(
        url,
        time_limit=time_limit,
        max_bytes=max_bytes,
        trusted=trusted,
        allow_private=allow_private,
    )
    return await asyncio.to_thread(parse, data, url)
