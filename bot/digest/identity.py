"""What "the same item" means across sources and across digests: a key, a canonical URL and,
for long titles, the folded title. Its own module because both ways of choosing a digest's
items (the per-reader rules of :mod:`bot.digest.builder` and the run-wide table of
:mod:`bot.digest.selection`) must agree on it to the character."""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from profiles.ranking import Candidate, tokens

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src)$", re.IGNORECASE)
_TITLE_NOISE = re.compile(r"[\W_]+", re.UNICODE)


@functools.lru_cache(maxsize=65536)
def canonical_url(url: str) -> str:
    """The same article shared with tracking parameters, ``www.``, a fragment or a trailing
    slash is one item."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def fingerprint(candidate: Candidate) -> str:
    """What "the same item" means across sources and across digests."""
    if candidate.url:
        return ("url:" + canonical_url(candidate.url))[:300]
    return candidate.key[:300]


@functools.lru_cache(maxsize=65536)
def _title_key(title: str) -> str | None:
    """Long titles identify an item across sources; short ones ("thanks!") do not."""
    folded = _TITLE_NOISE.sub(" ", title.casefold()).strip()
    return folded if len(folded) >= 24 else None


@functools.lru_cache(maxsize=65536)
def marks(key: str, url: str | None, title: str) -> tuple[str, ...]:
    """Every string by which an item can be recognised: its key, its fingerprint and, for a
    long title, the title. Two items sharing any mark are one item."""
    found = [key, ("url:" + canonical_url(url))[:300] if url else key[:300]]
    folded = _title_key(title)
    if folded is not None:
        found.append("title:" + folded)
    return tuple(found)


def clear_caches() -> None:
    """Drop the memoised titles and URLs (they hold people's words): part of /forget."""
    canonical_url.cache_clear()
    _title_key.cache_clear()
    marks.cache_clear()
    tokens.cache_clear()  # keyed by topics and, for a conversation without any, its title
