"""/digest through the core: status, preview (private, nothing marked sent), the "more / less
like this" buttons feeding the profile, collaborative cold start, and /forget."""

import asyncio
import datetime as dt

import pytest
from sqlmodel import select

from bot.digest import store as digest_store
from bot.events import ReplyKind
from bot.llm import ScriptedBackend
from profiles.models import (
    ConversationTurn,
    DigestItem,
    DigestQuote,
    DigestRun,
    DigestSubscription,
    Interest,
    Person,
)
from tests.bot.digest.conftest import NOW, activity, consenting, interests, pause_the_page_once_held
from tests.bot.digest.test_runner import ITEMS, StaticSource, item, subscribed
from tests.profiles.test_privacy import rows_about
from tests.support.helpers import action, command, count, forget_once_held, message, person


async def weights(core, pid):
    async with core.services.db.session() as session:
        rows = await session.exec(select(Interest).where(Interest.person_id == pid))
        return {r.topic: round(r.weight, 3) for r in rows}


async def test_status_before_and_after_a_digest(make_digests, clock):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    status = await core.handle(command(alice, "digest"))
    assert "not subscribed" in status[0].text and "/digest subscribe" in status[0].text
    pid = await subscribed(core, alice, "rust async")
    await digests.fire(pid)
    status = await core.handle(command(alice, "digest"))
    text = status[0].text
    assert "Your digest: daily at 08:00 (UTC). Next one: Friday 27 November, 08:00." in text
    assert "Last one (2026-11-26): sent, 3 items" in text
    assert status[0].kind is ReplyKind.EPHEMERAL


async def test_a_clock_out_of_range_is_named_as_such(make_digests):
    """"daily 24:00" was answered "digest must be off, or …" — "off" is no answer to a
    subscription, and the time was the only fault. Nothing is subscribed."""
    core, _ = await make_digests(sources=[StaticSource(*ITEMS)])
    await consenting(core, person("alice"))
    for words, clock in (("daily 24:00", "24:00"), ("7:60", "7:60")):
        [reply] = await core.handle(command(person("alice"), "digest", f"subscribe {words}"))
        assert reply.purpose == "error"
        assert reply.text.startswith(f"{clock} is not a time of day: HH:MM from 00:00 to 23:59")
        assert "must be off" not in reply.text
    [reply] = await core.handle(command(person("alice"), "prefs", "set digest weekly 25:00"))
    assert "25:00 is not a time of day" in reply.text
    assert await count(core, DigestSubscription) == 0


async def test_preview_is_private_and_marks_nothing_sent(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await subscribed(core, alice, "rust async")
    preview = await core.handle(command(alice, "digest", "preview"))
    assert preview[0].text.startswith("**Preview of your digest")
    assert "nothing was marked as sent" in preview[0].text
    assert all(r.kind is ReplyKind.EPHEMERAL and not r.buttons for r in preview)
    assert "Rust async runtimes compared" in preview[1].text
    assert await count(core, DigestItem) == 0 and await count(core, DigestRun) == 0
    # the real digest still has everything the preview showed
    assert (await digests.fire(pid)).items == 3
    assert recorder.sent and len(recorder.sent[0][1]) == 4


async def test_preview_with_a_model_is_written_after_the_command(make_digests, clock):
    answer = '{"intro": "Hi!", "blurbs": ["One.", "Two.", "Three."]}'
    core, digests = await make_digests(
        sources=[StaticSource(*ITEMS)], llm=ScriptedBackend([answer])
    )
    later = []

    async def deliver(event, replies):
        later.append((event.person.user_id, replies))

    core.services.deliver = deliver
    alice = person("alice")
    await subscribed(core, alice, "rust async")
    first = await core.handle(command(alice, "digest", "preview"))
    assert "it'll be here in a moment" in first[0].text
    await digests.settle()
    ((who, replies),) = later
    assert who == "alice" and "Hi!" in replies[0].text and "One." in replies[1].text
    assert await count(core, DigestItem) == 0


async def test_preview_needs_consent(make_digests):
    core, _ = await make_digests(sources=[StaticSource(*ITEMS)])
    replies = await core.handle(command(person("dave"), "digest", "preview"))
    assert "I need your consent" in replies[0].text


async def test_more_and_less_like_this_feed_the_profile(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await subscribed(core, alice, "rust async", "distributed systems", "sourdough bread")
    await digests.fire(pid)
    (replies,) = recorder.to("alice")
    by_title = {r.text.split("\n")[0]: r for r in replies[1:]}
    bread = next(r for t, r in by_title.items() if "Sourdough" in t)
    rust = next(r for t, r in by_title.items() if "Rust" in t)
    before = await weights(core, pid)

    more = await core.handle(action(alice, "digest.more", rust.buttons[0].value))
    less = await core.handle(action(alice, "digest.less", bread.buttons[1].value))
    twice = await core.handle(action(alice, "digest.less", bread.buttons[1].value))

    assert "more like “Rust async runtimes compared”" in more[0].text
    assert "less like “Sourdough starter troubleshooting”" in less[0].text
    assert "Already noted" in twice[0].text
    after = await weights(core, pid)
    assert after["rust async"] == before["rust async"] + 0.5
    assert after["sourdough bread"] == before["sourdough bread"] - 0.5
    async with core.services.db.session() as session:
        rows = {r.title: r for r in await session.exec(select(DigestItem))}
    assert rows["Rust async runtimes compared"].feedback == 1
    assert rows["Sourdough starter troubleshooting"].feedback == -1
    assert rows["Rust async runtimes compared"].engaged_at is not None
    assert rows["Distributed consensus with Raft"].engaged_at is None

    # changing one's mind moves the weight back, not further
    await core.handle(action(alice, "digest.more", bread.buttons[0].value))
    assert (await weights(core, pid))["sourdough bread"] == before["sourdough bread"] + 0.5


async def test_a_typed_number_is_the_position_shown_in_the_latest_digest(
    make_digests, clock, recorder
):
    """The digest numbers its items ("**2. …**") but a typed /digest more 2 was read as a row
    id: it judged another digest's item, or none (input audit)."""
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await subscribed(core, alice, "rust async", "distributed systems", "sourdough bread")
    await digests.fire(pid)
    (replies,) = recorder.to("alice")
    second = next(r for r in replies if r.text.startswith("**2. "))
    title = second.text.split("\n")[0].removeprefix("**2. ").removesuffix("**")
    [typed] = await core.handle(command(alice, "digest", "more 2"))
    assert f"more like “{title}”" in typed.text
    [again] = await core.handle(action(alice, "digest.more", second.buttons[0].value))
    assert "Already noted" in again.text  # the same item, by its button
    [beyond] = await core.handle(command(alice, "digest", "more 99"))
    assert "no longer available" in beyond.text


async def test_less_like_this_pushes_similar_items_down_next_time(make_digests, clock, recorder):
    first = StaticSource(item("k1", "Kubernetes operators deep dive", "kubernetes operators"))
    core, digests = await make_digests(sources=[first], digest_items=1)
    alice = person("alice")
    pid = await subscribed(core, alice, "kubernetes", "gardening")
    await digests.fire(pid)
    (replies,) = recorder.to("alice")
    await core.handle(action(alice, "digest.less", replies[1].buttons[1].value))
    await core.handle(action(alice, "digest.less", replies[1].buttons[1].value))
    first.items = [
        item("k2", "Kubernetes operators in production", "kubernetes operators", hours_old=0.5),
        item("g1", "Urban gardening with kids", "urban gardening", hours_old=20),
    ]
    clock.set(NOW + dt.timedelta(days=1))
    await digests.fire(pid)
    second = recorder.to("alice")[1]
    assert "Urban gardening with kids" in second[1].text


async def test_someone_elses_item_cannot_be_rated(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    pid = await subscribed(core, person("alice"), "rust async")
    await digests.fire(pid)
    item_id = recorder.sent[0][1][1].buttons[0].value
    mallory = person("mallory")
    await consenting(core, mallory)
    replies = await core.handle(action(mallory, "digest.more", item_id))
    assert "no longer available" in replies[0].text
    assert (await weights(core, await consenting(core, mallory))) == {}


async def test_cold_start_uses_similar_people_in_the_workspace(make_digests, clock, recorder):
    """A newcomer who mentioned only "postgres replication" gets what people with that
    interest also care about (not what is merely popular), explained as such."""
    items = (
        item("z-wal", "Logical decoding internals", "wal internals", hours_old=30),
        item("a-knit", "Knitting patterns for winter", "knitting", hours_old=30),
    )
    core, digests = await make_digests(sources=[StaticSource(*items)], digest_items=1)
    for i in range(3):
        pid = await consenting(core, person(f"dba{i}"))
        await interests(core, pid, "postgres replication", "wal internals")
    for i in range(5):
        pid = await consenting(core, person(f"crafter{i}"))
        await interests(core, pid, "knitting", "sewing")
    newcomer = await subscribed(core, person("newcomer"), "postgres replication")
    await digests.fire(newcomer)
    (replies,) = recorder.to("newcomer")
    assert "Logical decoding internals" in replies[1].text
    assert "liked by people with similar interests" in replies[1].text


async def test_sources_lists_what_feeds_the_digest(make_digests):
    core, _ = await make_digests()  # the built-in sources
    alice = person("alice")
    await consenting(core, alice)
    await core.handle(command(alice, "digest", "sources add https://example.org/a.xml"))
    replies = await core.handle(command(alice, "digest", "sources"))
    text = replies[0].text
    assert "conversations in channels I can see" in text
    assert "your feeds: https://example.org/a.xml" in text
    assert "things I recommended to you" in text
    removed = await core.handle(
        command(alice, "digest", "sources remove https://example.org/a.xml")
    )
    assert removed[0].text == "Removed."


async def test_forget_leaves_no_digest_rows_and_no_job(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice, bob = person("alice"), person("bob")
    pid = await subscribed(core, alice, "rust async")
    bob_id = await subscribed(core, bob, "rust async")
    await activity(core, pid, "Rust 2027 edition plans", ["rust edition"], message_id="a1")
    await core.handle(command(alice, "digest", "sources add https://example.org/a.xml"))
    await digests.fire(pid)
    await digests.fire(bob_id)
    await core.handle(action(alice, "digest.more", recorder.to("alice")[0][1].buttons[0].value))
    await digests.settle()
    before = await rows_about(core, pid)
    for table in (
        "digest_subscription",
        "digest_run",
        "digest_item",
        "channel_activity",
        "person_feed",
    ):
        assert before[table] > 0, table

    await core.handle(command(alice, "forget", "confirm"))
    await digests.settle()

    after = await rows_about(core, pid)
    assert set(after.values()) == {0}, {k: v for k, v in after.items() if v}
    jobs = await digests.jobs()
    assert await jobs.job(pid) is None and await jobs.job(bob_id) is not None
    assert await digests.fire(pid) is None
    async with core.services.db.session() as session:
        assert [s.person_id for s in await session.exec(select(DigestSubscription))] == [bob_id]


async def test_revoking_consent_says_it_cancels_the_digest(make_digests, clock):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await subscribed(core, alice, "rust async")
    await digests.settle()
    replies = await core.handle(command(alice, "consent", "revoke"))
    assert "cancelled your digest (daily at 08:00 (UTC))" in replies[0].text
    await digests.settle()
    async with core.services.db.session() as session:
        assert await digest_store.subscription(session, pid) is None
    # Nothing to cancel the second time: the reply does not claim it.
    again = await core.handle(command(alice, "consent", "revoke"))
    assert "digest" not in again[0].text


async def test_more_less_with_an_impossible_id_is_a_clear_error(make_digests):
    core, _ = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    for raw in ("99999999999999999999", "12abc"):
        for word in ("more", "less"):
            replies = await core.handle(command(alice, "digest", f"{word} {raw}"))
            assert [r.purpose for r in replies] == ["error"], raw
            assert "Which digest item?" in replies[0].text
            assert f"e.g. /digest {word} " in replies[0].text  # input audit: "less" said "more"


WRITER, READER = person("U-QX9WRITER"), person("bob")


async def a_quoted_conversation(
    core,
    clock,
    text="Quokka xylophonist telemetry dashboards for the heliograph fleet",
    topics=("xylophonist telemetry",),
) -> tuple[int, int]:
    """The writer's channel conversation, which the reader's digest will quote (both
    subscribed to "telemetry"); returns (writer's id, reader's id)."""
    writer_id = await subscribed(core, WRITER, "telemetry")
    bob_id = await subscribed(core, READER, "telemetry")
    await activity(core, writer_id, text, list(topics), message_id="m-quokka")
    clock.advance(minutes=1)
    return writer_id, bob_id


async def test_forget_reaches_the_quotes_in_other_readers_digests(make_digests, clock, recorder):
    """Each reader's digest item copied the author's channel excerpt (title) and keyphrases
    (topics): after the author's /forget, Bob's digest still quoted them word for word."""
    from tests.profiles.test_privacy import columns_containing

    core, digests = await make_digests()  # the real sources: channel conversations
    writer, reader = WRITER, READER
    _, bob_id = await a_quoted_conversation(core, clock)
    await digests.fire(bob_id)
    (sent,) = recorder.to("bob")
    assert any("xylophonist" in r.text.lower() for r in sent)
    needles = ("xylophonist", "heliograph")
    assert "digest_item.title" in (await columns_containing(core, *needles))["heliograph"]

    await core.handle(command(writer, "forget", "confirm"))
    await digests.settle()

    assert await columns_containing(core, *needles) == {}
    async with core.services.db.session() as session:
        (item,) = await session.exec(select(DigestItem).where(DigestItem.person_id == bob_id))
    assert item.title.startswith("A conversation") and item.topics == []
    more = await core.handle(action(reader, "digest.more", str(item.id)))  # buttons still work
    assert more[0].purpose == "ack"


async def test_forget_reaches_the_quotes_after_the_excerpts_expired(make_digests, clock, recorder):
    """Erasure found the items quoting an author through the author's channel excerpts,
    which are kept 14 days while items are kept 180: past 14 days Bob's item kept the
    forgotten author's words (this test failed before digest_quote)."""
    from bot.retention import purge_now
    from tests.profiles.test_privacy import columns_containing

    core, digests = await make_digests()  # the real sources: channel conversations
    writer = WRITER
    writer_id, bob_id = await a_quoted_conversation(core, clock)
    await digests.fire(bob_id)
    clock.advance(days=15)
    removed = await purge_now(core.services)
    assert removed["channel_activity"] == 1
    assert "digest_item.title" in (await columns_containing(core, "heliograph"))["heliograph"]
    assert await count(core, DigestQuote, person_id=writer_id) == 1  # /export lists it

    await core.handle(command(writer, "forget", "confirm"))
    await digests.settle()

    assert await columns_containing(core, "xylophonist", "heliograph") == {}
    assert await count(core, DigestQuote) == 0
    async with core.services.db.session() as session:
        (item,) = await session.exec(select(DigestItem).where(DigestItem.person_id == bob_id))
    assert item.title.startswith("A conversation") and item.topics == []


class AuthorSaysDuringGathering:
    """The channels source, whose author says a command (``/forget confirm`` by default)
    right after the reader's conversations are gathered (the build runs outside any
    transaction)."""

    name = "channels"
    label = "channels"

    def __init__(self, author, says=("forget", "confirm")) -> None:
        from bot.digest.sources import ChannelActivitySource

        self.inner = ChannelActivitySource()
        self.author = author
        self.says = says
        self.core = None

    async def candidates(self, person, context):
        found = await self.inner.candidates(person, context)
        if self.core is not None:
            core, self.core = self.core, None
            assert found  # the author's words are in the build
            (reply,) = await core.handle(command(self.author, *self.says))
            assert reply.purpose != "error", reply.text
        return found


@pytest.mark.parametrize("says", [("forget", "confirm"), ("consent", "revoke")])
async def test_an_item_quoting_someone_gone_during_the_build_is_not_recorded(
    make_digests, clock, recorder, says
):
    """The author's /forget (or revocation) commits while Bob's digest is built from their
    conversation: their erasure could not find an item not written yet, and Bob's item was
    then recorded and sent with their words (this test failed before the page held the
    quoted authors, and for a revocation before it read their consent)."""
    from tests.profiles.test_privacy import columns_containing

    writer = WRITER
    source = AuthorSaysDuringGathering(writer, says)
    core, digests = await make_digests(sources=[source, StaticSource(*ITEMS)])
    _, bob_id = await a_quoted_conversation(core, clock)
    source.core = core

    outcome = await digests.fire(bob_id)

    assert source.core is None and outcome.status == "sent"
    sent = " ".join(r.text for r in recorder.to("bob")[0]).lower()
    assert "xylophonist" not in sent and "heliograph" not in sent
    assert "rust" in sent  # the rest of the digest went out
    stored = await columns_containing(core, "xylophonist", "heliograph")
    if says[0] == "forget":
        assert stored == {}
    else:  # what a revocation keeps is the author's own, never in Bob's items
        assert "digest_item.title" not in stored.get("heliograph", [])


async def test_a_model_s_intro_never_speaks_of_an_item_left_out(make_digests, clock, recorder):
    """The model writes the intro from every item's title and excerpt: with the item quoting
    the forgotten author left out, its intro still went to Bob ("Today: heliograph …")."""
    import json as json_
    import re

    def answer(request):
        n = int(re.search(r"with exactly (\d+) blurbs", request.system).group(1))
        intro = "Today: heliograph fleet telemetry, and more."
        return json_.dumps({"intro": intro, "blurbs": [f"Blurb {i}." for i in range(n)]})

    writer = WRITER
    source = AuthorSaysDuringGathering(writer)
    core, digests = await make_digests(
        sources=[source, StaticSource(*ITEMS)], llm=ScriptedBackend(answer)
    )
    _, bob_id = await a_quoted_conversation(
        core, clock, "Quokka heliograph fleet telemetry", ["telemetry"]
    )
    source.core = core

    outcome = await digests.fire(bob_id)

    assert outcome.status == "sent"
    sent = " ".join(r.text for r in recorder.to("bob")[0]).lower()
    assert "heliograph" not in sent
    assert "blurb" in sent  # the model's blurbs of the items that went out stay


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_an_author_s_forget_while_a_page_is_recorded_waits_and_redacts(
    make_digests, clock, recorder, monkeypatch
):
    """PostgreSQL only: Bob's page has held the people it quotes when the author's /forget
    starts through another worker; the forget waits for the page, then finds Bob's new item
    by its quote and redacts it."""
    from tests.profiles.test_privacy import columns_containing

    core, digests = await make_digests()
    writer = WRITER
    _, bob_id = await a_quoted_conversation(core, clock)
    held, go_on = pause_the_page_once_held(monkeypatch)
    elsewhere, _ = await make_digests()  # another worker, with the digest feature's erasure
    running = asyncio.ensure_future(digests.fire(bob_id))
    forget = await forget_once_held(core, elsewhere, writer, held, go_on)

    assert (await running).status == "sent"
    assert "Done." in (await forget)[0].text
    assert await columns_containing(core, "xylophonist", "heliograph") == {}
    async with core.services.db.session() as session:
        (item,) = await session.exec(select(DigestItem).where(DigestItem.person_id == bob_id))
    assert item.title.startswith("A conversation")


async def test_an_item_s_quotes_go_with_it(make_digests, clock, recorder):
    """Retention deletes old items; their quotes go with them (no row left pointing at
    the author once nothing of theirs is quoted)."""
    from bot.retention import purge_now

    core, digests = await make_digests()
    writer, reader = person("writer"), person("bob")
    writer_id = await subscribed(core, writer, "telemetry")
    bob_id = await subscribed(core, reader, "telemetry")
    await activity(core, writer_id, "Telemetry dashboards", ["telemetry"], message_id="m1")
    clock.advance(minutes=1)
    await digests.fire(bob_id)
    assert await count(core, DigestQuote, person_id=writer_id) == 1
    clock.advance(days=181)
    await purge_now(core.services)
    assert await count(core, DigestItem) == 0
    assert await count(core, DigestQuote) == 0


async def test_forget_reaches_a_reply_that_repeated_a_quoting_title(make_digests, clock):
    """The model can read a reader's digest items (a tool) and its answer is kept in their
    history: a reply repeating the title of an item quoting the author kept their words
    after the item itself was redacted."""
    from tests.profiles.test_privacy import columns_containing

    title = "Quokka xylophonist telemetry dashboards for the heliograph fleet"

    def answer(request):
        if request.purpose == "digest":
            return "not the digest's JSON: written plainly"
        return f'Your last digest had "{title}" — a busy thread.'

    core, digests = await make_digests(llm=ScriptedBackend(answer))
    writer, reader = WRITER, READER
    _, bob_id = await a_quoted_conversation(core, clock, title)
    await digests.fire(bob_id)
    await core.handle(message(reader, "what was in my last digest?"))
    found = await columns_containing(core, "heliograph")
    assert "conversation_turn.text" in found["heliograph"], found

    await core.handle(command(writer, "forget", "confirm"))

    assert await columns_containing(core, "xylophonist", "heliograph") == {}
    async with core.services.db.session() as session:
        (turn,) = await session.exec(
            select(ConversationTurn).where(
                ConversationTurn.person_id == bob_id, ConversationTurn.role == "assistant"
            )
        )
    assert turn.text.startswith("Your last digest had") and "removed" in turn.text


async def test_forget_drops_the_workspace_s_model_of_who_likes_what(make_digests, clock):
    """The collaborative model kept a forgotten person's topics for its ten minutes and went
    on suggesting them to similar readers."""
    core, digests = await make_digests()
    writer, reader = person("writer"), person("bob")
    writer_id = await consenting(core, writer)
    bob_id = await consenting(core, reader)
    await interests(core, writer_id, "rust", "tokio", "quokka telemetry")
    await interests(core, bob_id, "rust", "tokio")
    async with core.services.db.session() as session:
        bob = await session.get(Person, bob_id)
    before = await digests.similarity.neighbourhood(core.services.db, bob, clock())
    assert "quokka telemetry" in before.topics

    await core.handle(command(writer, "forget", "confirm"))

    after = await digests.similarity.neighbourhood(core.services.db, bob, clock())
    assert "quokka telemetry" not in after.topics


async def test_preview_without_a_model_reads_its_sources_after_the_command(make_core, caplog):
    """The built-in sources read the database in tasks of their own: built inside the
    command's write transaction, on SQLite they queued behind it until they timed out and
    the preview came back empty (60 s later, by default)."""
    from bot.digest.service import digests_for
    from bot.llm import NoModelBackend

    core = await make_core(NoModelBackend())
    digests_for(core.services).builder.source_timeout = 5.0  # a deadlock fails, not hangs
    alice = person("alice")
    await core.handle(command(alice, "consent", "grant"))

    replies = await core.handle(command(alice, "digest", "preview"))

    assert replies and replies[0].kind is ReplyKind.EPHEMERAL
    assert not [r for r in caplog.records if "digest source" in r.getMessage()]
