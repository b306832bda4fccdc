"""What the bot learns from real-looking chat, end to end through Core.handle on SQLite and
PostgreSQL: subjects rather than filler, memory that survives a pause, feedback about the
bot's answer (not the question), and nothing about people who did not consent."""

import datetime as dt

from sqlmodel import select

from bot.events import CommandEvent, PlatformContext, Surface
from bot.llm import ScriptedBackend
from profiles.models import Interest, Signal
from tests.support.helpers import command, grant, message, person, person_id, reaction

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
FILLER = [
    "yeah haha",
    "lol true",
    "haha yeah that sounds pretty good dude",
    "I guess so, kind of feel the same",
    "ok cool, thanks!!",
    "I dont know man, people are weird",
    "omg yesss that's so good",
    "pretty good, you?",
    "hahaha nice one",
    "yeah I think so too",
]
FILLER_WORDS = {"yeah", "haha", "good", "dude", "kind", "guess", "pretty", "feel", "people"}


def channel(who, text, at, **kw):
    return message(who, text, surface=Surface.CHANNEL, occurred_at=at, **kw)


async def interests_of(core, who, now):
    pid = await person_id(core, who)
    async with core.services.db.session() as session:
        from profiles.models import Person

        found = await session.get(Person, pid)
        snapshot = await core.services.engine.snapshot(session, found, now)
    return snapshot


async def chat(core, who, topical, start, *, filler_per_topic=3):
    """``topical`` messages with filler around each, one every few hours from ``start``."""
    at = start
    for i, text in enumerate(topical):
        for k in range(filler_per_topic):
            await core.handle(channel(who, FILLER[(i * 3 + k) % len(FILLER)], at))
            at += dt.timedelta(minutes=7)
        await core.handle(channel(who, text, at))
        at += dt.timedelta(hours=5)
    return at


async def test_filler_heavy_chat_keeps_the_real_subjects_on_top(core):
    people = {
        "ana": [
            "If I could have any superpowers I'd pick teleportation",
            "teleportation beats flying as superpowers go",
            "which superpowers would you trade for invisibility?",
            "superpowers in comics always come with a cost",
        ],
        "ben": [
            "film noir lighting is incredible in The Third Man",
            "any film noir recommendations from the forties?",
            "I rewatched a film noir classic last night",
            "film noir detectives are my comfort watch",
        ],
    }
    others = [person(n) for n in ("cat", "dan", "eve", "fay", "gus")]
    everyone = [person(n) for n in people] + others
    for who in everyone:
        await grant(core, who)
    # the background: everyone makes small talk, some about their own things
    for n, who in enumerate(others):
        await chat(core, who, [f"my sourdough starter number {n} is alive"], T0)
    for name, topical in people.items():
        await chat(core, person(name), topical, T0)
    now = T0 + dt.timedelta(days=3)
    for name, subject in (("ana", "superpower"), ("ben", "film noir")):
        top = [v.topic for v in (await interests_of(core, person(name), now)).interests]
        assert top and top[0] == subject, (name, top)
        words = {w for topic in top for w in topic.split()}
        assert not words & FILLER_WORDS, (name, top)


async def test_a_paused_person_keeps_lasting_interests(core):
    ann = person("ann")
    await grant(core, ann)
    end = T0
    for week in range(20):  # months of steady talk about one subject
        end = await chat(
            core,
            ann,
            ["practising jazz piano chords tonight"],
            T0 + dt.timedelta(days=7 * week),
            filler_per_topic=1,
        )
    pause = end + dt.timedelta(days=60)
    snapshot = await interests_of(core, ann, pause)
    assert [v.topic for v in snapshot.interests][:1] == ["jazz piano chord"]
    assert [v.topic for v in snapshot.lasting][:1] == ["jazz piano chord"]
    assert snapshot.lately == []  # nothing recent after two months away
    core.services.clock = lambda: pause
    text = (await core.handle(command(ann, "profile")))[0].text
    assert "jazz piano chord" in text and "haven't picked up" not in text
    assert "Lasting" in text


async def test_feedback_on_a_reply_moves_the_replys_topics_not_the_question(make_core):
    answers = iter(
        [
            "Here is a Python decorator that adds memoization with functools caching.",
            "Here is a Haskell monad transformer example with garbage collection.",
        ]
    )
    core = await make_core(ScriptedBackend(lambda request: next(answers)))
    alice = person()
    await grant(core, alice)
    pid = await person_id(core, alice)

    async def weights():
        async with core.services.db.session() as session:
            rows = (await session.exec(select(Interest).where(Interest.person_id == pid))).all()
        return {r.topic: r.weight for r in rows}

    first = (await core.handle(message(alice, "Can you show me a code example?")))[0]
    await core.handle(reaction(alice, first.reply_id, "👍"))
    liked = await weights()
    assert liked.get("python decorator", 0) > 0
    assert "show" not in liked and "code example" not in liked

    second = (await core.handle(message(alice, "Show me a Haskell monad example please")))[0]
    before = await weights()
    await core.handle(reaction(alice, second.reply_id, "👎"))
    after = await weights()
    # "not that answer": what the reply brought in loses weight; the subject asked about,
    # "haskell monad", does not
    assert after["haskell monad"] == before["haskell monad"]
    assert after["garbage collection"] < before.get("garbage collection", 0.0)


async def test_mentioning_a_person_who_did_not_consent_teaches_nothing_about_them(core):
    alice, zeb = person("alice"), person("zeb")
    await grant(core, alice)
    await core.handle(message(zeb, "hello"))  # zeb exists but never consented
    await core.handle(
        channel(
            alice,
            "@Zebulon Quartermaine could you review the kubernetes cluster upgrade <@U0ZEB1>",
            T0,
            mentioned_names=("Zebulon Quartermaine",),
        )
    )
    async with core.services.db.session() as session:
        values = [s.value for s in (await session.exec(select(Signal))).all()]
        values += [i.topic for i in (await session.exec(select(Interest))).all()]
    learned = " ".join(values).lower()
    assert "kubernetes cluster" in learned
    for name in ("zebulon", "quartermaine", "u0zeb1"):
        assert name not in learned


async def test_profile_hides_language_noise_and_says_which_timezone_hours_are_in(core):
    bob = person("bob")
    await grant(core, bob)
    at = T0
    for _ in range(25):
        await core.handle(channel(bob, "I have been reading about distributed databases", at))
        at += dt.timedelta(hours=1)
    await core.handle(
        channel(bob, "Je voudrais un café et un croissant, merci beaucoup", at)
    )
    core.services.clock = lambda: at
    text = (await core.handle(command(bob, "profile")))[0].text
    languages = text.split("Languages you write in:")[1].split("\n")[0]
    assert "en 96%" in languages and "fr" not in languages
    assert "UTC — a guess" in text
    await core.handle(command(bob, "prefs", "set timezone Europe/Paris"))
    text = (await core.handle(command(bob, "profile")))[0].text
    assert "(Europe/Paris, your timezone)" in text


async def test_a_short_message_is_read_in_its_writers_language(core):
    """A short line names no language: "ich liebe analoge Fotografie" was read with the
    English rules, which a German text fails (nothing learned), and "Gut, und dir?" taught
    "und dir". The locale the platform reports with the message (Slack's ``users.info``,
    Discord's interaction), or a language preference, says which rules to read it with; a
    person the bot knows no language for keeps the English default, which learns nothing
    from the same lines."""
    lena, mia, tom = person("lena"), person("mia"), person("tom")
    for who in (lena, mia, tom):
        await grant(core, who)
    assert "language" in (await core.handle(command(mia, "prefs", "set language de")))[0].text
    german = PlatformContext(locale="de-DE")
    # each under five words: a longer one whose words are plainly German is named so
    # whoever writes it ("Fotografie mit Film ist toll")
    lines = ("Gut, und dir?", "ich liebe analoge Fotografie", "Fotografie ist so toll")
    at = T0
    for text in lines:
        await core.handle(channel(lena, text, at, context=german))
        await core.handle(channel(mia, text, at))
        await core.handle(channel(tom, text, at))
        at += dt.timedelta(minutes=5)
    # a DM, whose extraction starts before the person's rows are read: the platform's locale
    await core.handle(message(lena, "ich lerne gerade Japanisch", context=german, occurred_at=at))
    await core.services.learner.flush()
    now = at + dt.timedelta(hours=1)

    async def words_of(who):
        found = (await interests_of(core, who, now)).interests
        return {word for interest in found for word in interest.topic.split()}

    for who, wanted in ((lena, {"fotografie", "japanisch"}), (mia, {"fotografie"})):
        words = await words_of(who)
        assert wanted <= words, (who.user_id, words)
        assert not {"und", "dir", "gut", "liebe"} & words, (who.user_id, words)
    assert "fotografie" not in await words_of(tom)


GERMAN_LONGER = (
    "Ich habe am Wochenende mit meinem Bruder im Garten gearbeitet und danach gegrillt",
    "Morgen fahren wir mit dem Zug nach Hamburg, um meine Großeltern zu besuchen",
)


async def test_a_short_message_is_read_in_the_language_of_its_writers_longer_ones(core):
    """Discord reports no locale with a message: a person who never ran a command and set no
    language had their short lines read with the English rules ("ich liebe analoge
    Fotografie" taught nothing). Their longer messages name their language, and two of them
    in German say how the short ones are read — in a channel and in a DM. Nothing is noted
    for someone who declined, and a /forget or a revocation drops what was."""
    ida, kai, leo = person("ida"), person("kai"), person("leo")
    for who in (ida, leo):
        await grant(core, who)
    await core.handle(command(kai, "consent", "deny"))
    at = T0
    for who in (ida, kai, leo):
        for text in GERMAN_LONGER:
            await core.handle(channel(who, text, at))
            at += dt.timedelta(minutes=5)
    await core.services.learner.flush()
    await core.handle(channel(ida, "ich liebe analoge Fotografie", at))
    await core.handle(message(ida, "ich lerne gerade Japanisch", occurred_at=at))
    await core.services.learner.flush()
    found = (await interests_of(core, ida, at + dt.timedelta(hours=1))).interests
    words = {word for interest in found for word in interest.topic.split()}
    assert {"fotografie", "japanisch", "großeltern", "garten"} <= words, words
    written = core.services.written

    def usual(who):
        return written.usual((who.platform, who.workspace, who.user_id))

    assert (usual(ida), usual(leo), usual(kai)) == ("de", "de", None)
    await core.handle(command(ida, "forget", "confirm"))
    await core.handle(command(leo, "consent", "revoke"))
    assert (usual(ida), usual(leo)) == (None, None)


async def test_a_commands_locale_is_the_language_its_messages_are_read_in(core):
    """Discord reports a locale with an interaction (a slash command, a button), never with
    a message: stored as the platform's language once the person allows learning, it is the
    language their later short messages are read in. Never stored for someone who declines,
    nor by a command that runs before anyone answered."""
    ines, otto = person("ines"), person("otto")
    german = PlatformContext(locale="de")

    def slash(who, name, args):
        return CommandEvent(
            event_id=f"{who.user_id}-{name}-{args}", person=who, name=name, args=args,
            context=german,
        )

    assert "lerne" in (await core.handle(slash(ines, "consent", "grant")))[0].text
    await core.handle(slash(otto, "consent", "deny"))
    at = T0
    for who in (ines, otto):
        await core.handle(channel(who, "ich liebe analoge Fotografie", at))
    await core.services.learner.flush()
    found = (await interests_of(core, ines, at)).interests
    words = {word for interest in found for word in interest.topic.split()}
    assert "fotografie" in words, words
    otto_id = await person_id(core, otto)
    async with core.services.db.session() as session:
        from profiles.models import Preference

        stored = (await session.exec(
            select(Preference.key).where(Preference.person_id == otto_id)
        )).all()
    assert stored == [], stored  # nothing about someone who declined
