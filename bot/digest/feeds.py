"""Fetching and parsing RSS/Atom feeds for digests.

Feeds are fetched with aiohttp (bounded by a timeout and a size limit; see
:mod:`bot.digest.fetch`) and parsed with feedparser in a worker thread, so a large or slow
feed never stalls the event loop. Both load on the first fetch, not when the bot starts.

A feed a *person* added is untrusted: without care the bot would fetch whatever address it is
given, including services on the bot's own network, and show the person what came back. Such
feeds must resolve to public addresses: the resolver drops private and loopback addresses at
connection time (so DNS cannot be switched after a check), redirects are followed by hand
and each hop is checked the same way. Workspace feeds are configured by an operator and
trusted.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import html
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.i18n import N_, t

MAX_REDIRECTS = 3
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


class FeedError(Exception):
    """A feed could not be fetched or parsed; the message is safe to show. When it is a
    catalog text (``N_``) with ``values``, :meth:`text` words it in a person's language."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message = message
        self.values = values

    def text(self, locale: str | None) -> str:
        return t(self.message, locale, **self.values)


class UnsafeFeedURL(FeedError):
    """The URL points somewhere the bot must not fetch for a person."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    key: str
    title: str
    url: str | None
    summary: str
    published_at: dt.datetime | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    url: str
    title: str
    entries: tuple[FeedEntry, ...]


def _is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return bool(ip.is_global)


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host *spells*, without asking DNS. Besides the dotted quad this includes
    the legacy IPv4 forms the C resolver still accepts (``127.1``, ``0x7f000001``,
    ``2130706433``, ``0177.0.0.1``): checking only ``ipaddress`` let them through as
    "hostnames" that then reached loopback."""
    bare = host.strip("[]").split("%", 1)[0].rstrip(".")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if not _LEGACY_IPV4.fullmatch(bare):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}", re.I)
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def check_url(url: str, *, allow_private: bool = True) -> str:
    """Syntax (http/https with a host, at most 1000 characters) and, for untrusted feeds, no
    literal private address in any spelling (hostnames are checked when they are resolved)."""
    url = url.strip()
    if len(url) > 1000:
        raise FeedError(N_("that URL is too long (1000 characters at most)"))
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError as exc:
        raise FeedError(N_("that is not a valid URL ({error})"), error=str(exc)) from None
    if parts.scheme not in ("http", "https") or not host:
        raise FeedError(N_("a feed must be an http:// or https:// URL"))
    if not allow_private:
        address = literal_address(host)
        name = host.lower().rstrip(".")
        if address is None:
            if name in _LOCAL_NAMES or name.endswith(".localhost"):
                raise UnsafeFeedURL(N_("feeds on local addresses are not allowed"))
        elif not address.is_global and host == str(address):
            raise UnsafeFeedURL(N_("feeds on private or local addresses are not allowed"))
        elif not address.is_global:  # another spelling ("0x7f.1"): say which address it is
            raise UnsafeFeedURL(
                N_("feeds on private or local addresses are not allowed ({host} is {address})"),
                host=host, address=str(address),
            )
    return url


def _text(value: Any, limit: int) -> str:
    # NUL too ("&#0;" unescapes to it): PostgreSQL refuses it in text, and one such title
    # failed the recording of a whole page of digests.
    plain = html.unescape(_TAG.sub(" ", str(value or ""))).replace("\x00", "")
    return _SPACES.sub(" ", plain).strip()[:limit]


def _when(entry: Any) -> dt.datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None  # a date past year 9999 (or before 1): the entry stays, undated


def parse(data: bytes, url: str) -> ParsedFeed:
    """Parse bytes into entries (blocking: call it in a thread). A document feedparser cannot
    read as a feed at all is an error; a feed with some broken entries keeps the good ones."""
    import feedparser  # here, not at start-up: it costs ~0.3 CPU-s and parsing is rare

    try:
        parsed = feedparser.parse(data)
    except (UnicodeError, ValueError) as exc:  # "&#xD800;": a lone surrogate in the document
        raise FeedError(f"not a readable RSS/Atom feed ({exc.__class__.__name__})") from exc
    if parsed.get("bozo") and not parsed.entries:
        raise FeedError(f"not a readable RSS/Atom feed ({parsed.get('bozo_exception')})")
    entries: list[FeedEntry] = []
    for entry in parsed.entries:
        title = _text(entry.get("title"), 300)
        link = str(entry.get("link") or "").replace("\x00", "").strip() or None
        if link is not None and urlsplit(link).scheme not in ("http", "https"):
            link = None  # javascript:, data: … never reach a person as a link
        if not title and not link:
            continue
        identity = str(entry.get("id") or link or title)
        key = "rss:" + hashlib.sha1(f"{url}\n{identity}".encode()).hexdigest()[:24]
        tags = tuple(
            dict.fromkeys(
                _text(tag.get("term"), 60).lower()
                for tag in entry.get("tags") or ()
                if tag.get("term")
            )
        )
        entries.append(
            FeedEntry(
                key=key,
                title=title or link or "",
                url=link,
                summary=_text(entry.get("summary") or entry.get("description"), 600),
                published_at=_when(entry),
                tags=tags[:5],
            )
        )
    title = _text(parsed.feed.get("title"), 300) or (urlsplit(url).hostname or url)
    return ParsedFeed(url=url, title=title, entries=tuple(entries))

