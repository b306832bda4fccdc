"""Sources on the real databases: channel activity (consent, private channels), RSS from a
real local HTTP server, open recommendations, and deduplication across sources and digests."""

import asyncio
import contextlib
import datetime as dt
import logging

import pytest
from aiohttp import web

from bot.digest import store
from bot.digest.builder import dedupe
from bot.digest.cache import SharedCache
from bot.digest.feeds import FeedError
from bot.digest.fetch import PublicOnlyResolver, fetch_and_parse
from bot.digest.sources import (
    ChannelActivitySource,
    DigestCandidate,
    GatherContext,
    RecommendationSource,
    RssSource,
)
from bot.events import MessageEvent, Surface
from profiles.models import ChannelActivity, Person, Recommendation
from tests.bot.digest.conftest import NOW, activity, consenting
from tests.support.helpers import command, count, next_id, person

UTC = dt.UTC


def context(core, since=NOW - dt.timedelta(days=1)):
    return GatherContext(
        db=core.services.db, now=NOW, since=since, consent_opt_out=False, cache=SharedCache()
    )


async def load(core, pid):
    async with core.services.db.session() as session:
        return await session.get(Person, pid)


async def test_channel_activity_respects_consent_and_private_channels(make_digests):
    core, _ = await make_digests(sources=[])
    reader = await consenting(core, person("reader"))
    writer = await consenting(core, person("writer"))
    leaver = await consenting(core, person("leaver"))
    await activity(
        core, writer, "We moved billing to event sourcing", ["event sourcing"], message_id="m1"
    )
    await activity(
        core, writer, "Agreed, replay is great", ["replay"], message_id="m2", thread_id="m1"
    )
    await activity(
        core,
        writer,
        "Salary bands for next year",
        ["salary bands"],
        channel="G-hr",
        private=True,
        message_id="m3",
    )
    await activity(
        core,
        writer,
        "Offsite planning in the leads room",
        ["offsite"],
        channel="G-leads",
        private=True,
        message_id="m4",
    )
    await activity(
        core,
        reader,
        "see you at the offsite",
        ["offsite"],
        channel="G-leads",
        private=True,
        message_id="m5",
        thread_id="m4",
    )
    await activity(core, leaver, "Secret roadmap thoughts on pricing", ["pricing"], message_id="m6")
    await activity(
        core, reader, "my own musings about pricing pages", ["pricing pages"], message_id="m7"
    )
    await activity(
        core,
        writer,
        "Old news about rust",
        ["rust"],
        message_id="m0",
        at=NOW - dt.timedelta(days=3),
    )
    await core.handle(command(person("leaver"), "consent", "revoke"))

    found = await ChannelActivitySource().candidates(await load(core, reader), context(core))

    titles = {c.title: c for c in found}
    assert set(titles) == {
        "We moved billing to event sourcing",  # a public thread of two messages
        "Offsite planning in the leads room",  # private, but the reader posted there
    }
    thread = titles["We moved billing to event sourcing"]
    assert thread.detail == "2 messages" and set(thread.topics) == {"event sourcing", "replay"}
    assert "private channel" in titles["Offsite planning in the leads room"].detail


async def test_channel_messages_are_recorded_by_the_core_observer(make_digests):
    core, _ = await make_digests(sources=[])
    alice = person("alice")
    pid = await consenting(core, alice)
    bob = person("bob")  # no consent: nothing recorded, not even that he spoke
    for who, text in (
        (alice, "The Kubernetes operator rollout finished without incidents"),
        (bob, "Kubernetes operators are overrated honestly"),
    ):
        event = MessageEvent(
            event_id=next_id(),
            person=who,
            channel_id="C9",
            surface=Surface.CHANNEL,
            text=text,
            message_id=next_id("m"),
            channel_private=True,
            occurred_at=NOW,
        )
        assert await core.handle(event) == []
    assert await count(core, ChannelActivity) == 1
    async with core.services.db.session() as session:
        (row,) = await store.workspace_activity(
            session, "test", "W1", NOW - dt.timedelta(hours=1), consent_opt_out=False
        )
    assert row.author_id == pid and row.private and row.channel_id == "C9"
    assert "kubernetes operator" in " ".join(row.topics)


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Systems Weekly</title><link>http://example.org/</link>
<item><title>Consensus in practice: Raft at scale</title><link>http://example.org/raft?utm_source=rss</link>
<guid>raft-1</guid><pubDate>Thu, 26 Nov 2026 06:00:00 GMT</pubDate>
<category>distributed systems</category>
<description>&lt;p&gt;How &lt;b&gt;Raft&lt;/b&gt; clusters behave under partitions.&lt;/p&gt;
</description></item>
<item><title>An old post</title><link>http://example.org/old</link><guid>old-1</guid>
<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>
<item><title>Script link</title><link>javascript:alert(1)</link><guid>js-1</guid>
<pubDate>Thu, 26 Nov 2026 05:00:00 GMT</pubDate></item>
</channel></rss>"""


@pytest.fixture
async def feed_server():
    hits = []

    async def feed(request):
        hits.append(request.path)
        return web.Response(text=RSS, content_type="application/rss+xml")

    async def broken(request):
        return web.Response(status=500)

    async def redirect(request):
        raise web.HTTPFound("/feed.xml")

    app = web.Application()
    app.add_routes(
        [web.get("/feed.xml", feed), web.get("/broken.xml", broken), web.get("/moved", redirect)]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", hits
    await runner.cleanup()


async def test_rss_from_a_real_local_server(make_digests, feed_server):
    base, hits = feed_server
    core, _ = await make_digests(sources=[])
    reader = await consenting(core, person("reader"))
    async with core.services.db.session() as session:
        await store.add_workspace_feed(session, "test", "W1", f"{base}/moved", at=NOW)
        await store.add_workspace_feed(session, "test", "W1", f"{base}/broken.xml", at=NOW)
    source = RssSource(timeout=5)
    who = await load(core, reader)

    found = await source.candidates(who, context(core))
    again = await source.candidates(who, context(core))

    assert [c.title for c in found] == ["Consensus in practice: Raft at scale", "Script link"]
    raft, script = found
    assert raft.url == "http://example.org/raft?utm_source=rss" and script.url is None
    assert raft.published_at == dt.datetime(2026, 11, 26, 6, tzinfo=UTC)
    assert "distributed systems" in raft.topics and raft.detail == "Systems Weekly"
    assert raft.text == "How Raft clusters behave under partitions."
    assert [c.key for c in again] == [c.key for c in found] and hits == ["/feed.xml"]  # cached


async def test_a_personal_feed_may_not_point_at_local_addresses(make_digests, feed_server, caplog):
    base, hits = feed_server
    core, _ = await make_digests(sources=[])
    alice = person("alice")
    reader = await consenting(core, alice)
    refused = await core.handle(command(alice, "digest", f"sources add {base}/feed.xml"))
    assert "not allowed" in refused[0].text
    async with core.services.db.session() as session:  # even if one got in, it is never fetched
        await store.add_person_feed(session, reader, f"{base}/feed.xml", at=NOW)
    with caplog.at_level(logging.WARNING), pytest.raises(FeedError, match="all 1 feed"):
        await RssSource(timeout=5).candidates(await load(core, reader), context(core))
    assert "private or local addresses are not allowed" in caplog.text
    assert hits == []
    with pytest.raises(OSError, match="private or local"):  # names resolving home, too
        await PublicOnlyResolver().resolve("localhost", 80)
    ok = await core.handle(command(alice, "digest", "sources add https://example.org/feed.xml"))
    assert "Added https://example.org/feed.xml" in ok[0].text


async def test_open_recommendations_become_candidates(make_digests):
    core, _ = await make_digests(sources=[])
    reader = await consenting(core, person("reader"))
    async with core.services.db.session() as session:
        for title, status in (
            ("Designing Data-Intensive Applications", "shown"),
            ("Liked already", "liked"),
        ):
            session.add(
                Recommendation(
                    person_id=reader,
                    request="books",
                    title=title,
                    normalised_title=title.lower(),
                    topics=["databases"],
                    status=status,
                    created_at=NOW - dt.timedelta(days=2),
                )
            )
    found = await RecommendationSource().candidates(await load(core, reader), context(core))
    assert [(c.title, c.topics, c.source) for c in found] == [
        ("Designing Data-Intensive Applications", ("databases",), "recommendations")
    ]


def test_dedupe_across_sources_and_previous_digests():
    a = DigestCandidate(
        key="rss:1", title="Raft at scale", url="https://www.example.org/raft/?utm_source=x#top"
    )
    b = DigestCandidate(key="chat:1", title="someone shared it", url="https://example.org/raft")
    c = DigestCandidate(key="rec:1", title="Designing Data-Intensive Applications")
    d = DigestCandidate(key="rss:2", title="Designing data-intensive applications!")
    e = DigestCandidate(key="rss:3", title="Sent yesterday")
    kept = dedupe([a, b, c, d, e], already_sent={"rss:3"})
    assert [k.key for k in kept] == ["rss:1", "rec:1"]


def _big_rss(items: int) -> bytes:
    body = "".join(
        f"<item><title>Entry number {i}</title><link>http://example.org/{i}</link>"
        f"<guid>g-{i}</guid><description>{'padding ' * 20}</description></item>"
        for i in range(items)
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>'
    return f"{head}{body}</channel></rss>".encode()


@pytest.fixture
async def chunked_server():
    """Serves a feed in 16 KB writes without a Content-Length, the way the faulty read met it."""

    async def feed(request):
        data = _big_rss(int(request.query["items"]))
        response = web.StreamResponse(headers={"content-type": "application/rss+xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 16 * 1024):
            await response.write(data[start : start + 16 * 1024])
            await asyncio.sleep(0.001)
        await response.write_eof()
        return response

    app = web.Application()
    app.add_routes([web.get("/feed.xml", feed)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    await runner.cleanup()


async def test_a_feed_is_read_to_its_end_across_network_chunks(chunked_server):
    parsed = await fetch_and_parse(
        f"{chunked_server}/feed.xml?items=300", time_limit=10, max_bytes=2_000_000, trusted=True
    )
    assert len(parsed.entries) == 300


async def test_the_size_limit_holds_for_a_chunked_feed(chunked_server):
    with pytest.raises(FeedError, match="larger than 100,000 bytes"):
        await fetch_and_parse(
            f"{chunked_server}/feed.xml?items=1000", time_limit=10, max_bytes=100_000, trusted=True
        )


@pytest.mark.parametrize(
    "host",
    [
        "0x7f000001",
        "127.1",
        "2130706433",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "0",
        "10.1",
        "169.254.169.254",
        "[::1]",
        "localhost.",
        "db.localhost",
    ],
)
async def test_personal_feeds_in_any_local_spelling_are_refused(make_digests, host):
    core, _ = await make_digests(sources=[])
    alice = person("alice")
    await consenting(core, alice)
    replies = await core.handle(command(alice, "digest", f"sources add http://{host}/feed.xml"))
    assert "I can't use that feed" in replies[0].text and "not allowed" in replies[0].text
    assert replies[0].purpose == "error"


def test_a_refused_address_is_named_only_when_spelled_otherwise():
    """"(127.0.0.1 is 127.0.0.1)" told a newcomer nothing; "0x7f.1" is worth translating."""
    from bot.digest.feeds import UnsafeFeedURL, check_url

    def refusal(host: str) -> str:
        with pytest.raises(UnsafeFeedURL) as caught:
            check_url(f"http://{host}/feed.xml", allow_private=False)
        return str(caught.value)

    assert refusal("127.0.0.1") == "feeds on private or local addresses are not allowed"
    assert refusal("[::1]") == "feeds on private or local addresses are not allowed"
    assert refusal("0x7f.1").endswith("(0x7f.1 is 127.0.0.1)")


def test_a_feed_s_odd_entries_cost_only_themselves():
    """A NUL in a title ("&#0;") failed the recording of a whole page of digests on
    PostgreSQL; a date past year 9999 raised out of the parse and lost every entry of the
    feed; a lone surrogate ("&#xD800;") escaped as a UnicodeEncodeError, not a FeedError."""
    from bot.digest.feeds import parse

    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Odd</title>'
        b"<item><title>tea&#0; or coffee</title><link>https://example.org/a</link></item>"
        b"<item><title>From the far future</title><link>https://example.org/b</link>"
        b"<pubDate>9999-12-31T23:59:59-14:00</pubDate></item>"
        b"</channel></rss>"
    )
    parsed = parse(feed, "https://example.org/feed")
    assert [e.title for e in parsed.entries] == ["tea or coffee", "From the far future"]
    assert parsed.entries[1].published_at is None
    surrogate = feed.replace(b"&#0;", b"&#xD800;")
    with contextlib.suppress(FeedError):  # read, or refused as a feed: never another error
        parse(surrogate, "https://example.org/feed")
