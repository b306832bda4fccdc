"""/admin through the real core and database: only people the platform calls admins may use
it; excluding a channel really stops learning and digest collection there; every change is
in the audit log, which /export shows and /forget removes."""

from __future__ import annotations

import dataclasses

from bot.commands.admin import NOT_ADMIN
from bot.core import Core
from bot.digest import digests_for
from bot.events import CommandEvent, PersonRef, PlatformContext, Surface
from profiles.admin_models import AdminAudit, ChannelPolicy
from profiles.models import ChannelActivity, Interest, Signal
from tests.conftest import MakeCore
from tests.support.helpers import (
    command,
    count,
    grant,
    message,
    next_id,
    person,
    person_id,
)

BOSS = person("boss")
ALICE = person("alice")
ADMIN = PlatformContext(admin=True)
KUBERNETES = "Kubernetes operators make cluster automation pleasant and reliable"


def admin_command(who: PersonRef, args: str, *, admin: bool = True,
                  channel: str = "C1") -> CommandEvent:
    return CommandEvent(event_id=next_id("cmd"), person=who, name="admin", args=args,
                        channel_id=channel, surface=Surface.CHANNEL,
                        context=PlatformContext(admin=admin))


def chatter(who: PersonRef, text: str, channel: str) -> object:
    return message(who, text, surface=Surface.CHANNEL, channel_id=channel)


async def learned_topics(core: Core, who: PersonRef) -> int:
    return await count(core, Interest, person_id=await person_id(core, who))


async def test_only_platform_admins_may_use_admin(make_core: MakeCore) -> None:
    core = await make_core()
    for args in ("", "exclude all here", "include learning here", "audit"):
        [reply] = await core.handle(admin_command(ALICE, args, admin=False))
        assert reply.text == NOT_ADMIN
    assert await count(core, ChannelPolicy) == 0
    assert await count(core, AdminAudit) == 0


async def test_help_offers_admin_only_to_admins(make_core: MakeCore) -> None:
    """/help listed /admin to everyone, who could only be refused (the terminal, where no one
    is an admin, too)."""
    core = await make_core()

    async def help_for(admin: bool) -> str:
        event = CommandEvent(event_id=next_id("cmd"), person=ALICE, name="help", args="",
                             channel_id="C1", surface=Surface.CHANNEL,
                             context=PlatformContext(admin=admin))
        [reply] = await core.handle(event)
        return reply.text

    member, admin = await help_for(False), await help_for(True)
    assert "/admin" not in member and "/forget" in member
    assert "• /admin — " in admin and "/forget" in admin
    # nor does the answer to a mistyped command offer it
    typo = CommandEvent(event_id=next_id("cmd"), person=ALICE, name="hepl", args="",
                        channel_id="C1", surface=Surface.CHANNEL, context=PlatformContext())
    [unknown] = await core.handle(typo)
    assert "/hepl" in unknown.text and "/forget" in unknown.text
    assert "/admin" not in unknown.text


async def test_excluded_channel_is_neither_learned_from_nor_collected(
    make_core: MakeCore,
) -> None:
    core = await make_core()
    digests_for(core.services)  # its observer collects channel activity for digests
    await grant(core, ALICE)
    [done] = await core.handle(admin_command(BOSS, "exclude all here", channel="CSECRET"))
    assert "#CSECRET" in done.text and "excluded from learning and digests" in done.text

    await core.handle(chatter(ALICE, KUBERNETES, "CSECRET"))
    assert await learned_topics(core, ALICE) == 0
    assert await count(core, Signal, person_id=await person_id(core, ALICE)) == 0
    assert await count(core, ChannelActivity) == 0

    await core.handle(chatter(ALICE, KUBERNETES, "COPEN"))  # other channels are unaffected
    assert await learned_topics(core, ALICE) > 0
    assert await count(core, ChannelActivity) == 1


async def test_learning_and_digests_can_be_excluded_separately(make_core: MakeCore) -> None:
    core = await make_core()
    digests_for(core.services)
    await grant(core, ALICE)
    await core.handle(admin_command(BOSS, "exclude learning here", channel="CNOLEARN"))
    await core.handle(chatter(ALICE, KUBERNETES, "CNOLEARN"))
    assert await learned_topics(core, ALICE) == 0
    assert await count(core, ChannelActivity) == 1  # still collected for digests

    await core.handle(admin_command(BOSS, "include learning here", channel="CNOLEARN"))
    assert await count(core, ChannelPolicy) == 0  # back to the default: no row
    await core.handle(admin_command(BOSS, "exclude digest CNODIGEST"))
    await core.handle(chatter(ALICE, "Rust borrow checker lifetimes explained", "CNODIGEST"))
    assert await learned_topics(core, ALICE) > 0
    assert await count(core, ChannelActivity) == 1


async def test_a_mention_in_an_excluded_channel_is_answered_without_learning(
    make_core: MakeCore,
) -> None:
    core = await make_core()
    await grant(core, ALICE)
    await core.handle(admin_command(BOSS, "exclude learning here", channel="CQUIET"))
    replies = await core.handle(message(ALICE, KUBERNETES, surface=Surface.CHANNEL,
                                        channel_id="CQUIET", mentioned=True))
    assert replies and replies[0].purpose == "chat"
    assert await learned_topics(core, ALICE) == 0


async def test_status_counts_and_audit(make_core: MakeCore) -> None:
    core = await make_core()
    await grant(core, ALICE)
    await core.handle(message(person("bob"), "hello"))  # known, never consented
    await core.handle(message(person("carol", workspace="W2"), "hi"))  # other workspace
    await core.handle(admin_command(BOSS, "exclude digest here", channel="CRANDOM"))
    [status] = await core.handle(admin_command(BOSS, ""))
    # boss, alice and bob are known in W1; only alice allows learning
    assert "3 people known, 1 allows learning, 0 get a digest" in status.text
    assert "#CRANDOM: no digests" in status.text
    [audit] = await core.handle(admin_command(BOSS, "audit"))
    assert ("Boss: /admin exclude digest #CRANDOM (now excluded from digests (I still "
            "learn from it))") in audit.text

    [entry] = await _audit_rows(core)
    assert entry.person_id == await person_id(core, BOSS)
    assert entry.detail == {"channel": "CRANDOM", "scope": "digest", "learn": True,
                            "digest": False}


async def test_status_counts_have_their_plurals(make_core: MakeCore) -> None:
    """Input audit: "/admin" alone in a workspace said "1 people known"."""
    core = await make_core()
    [status] = await core.handle(admin_command(BOSS, ""))
    assert "1 person known, 0 allow learning, 0 get a digest." in status.text
    french = dataclasses.replace(admin_command(BOSS, ""),
                                 context=PlatformContext(admin=True, locale="fr"))
    [status] = await core.handle(french)
    assert "1 personne connue, 0 autorise l'apprentissage, 0 reçoit un résumé." in status.text


async def test_here_in_a_dm_asks_for_a_channel(make_core: MakeCore) -> None:
    core = await make_core()
    event = dataclasses.replace(admin_command(BOSS, "exclude all"), surface=Surface.DM)
    [reply] = await core.handle(event)
    assert "Run this in the channel" in reply.text
    assert await count(core, ChannelPolicy) == 0


async def _audit_rows(core: Core) -> list[AdminAudit]:
    from sqlmodel import select

    async with core.services.db.session() as session:
        return list(await session.exec(select(AdminAudit)))


async def test_the_audit_says_each_change_as_the_command_that_made_it(make_core: MakeCore) -> None:
    """It showed stored names and Python's None, untranslated: "default.reset
    key=digest_sources, value=None, previous=", "key=retention.signal_evidence_days,
    value=20, previous=None" (input audit)."""
    core = await make_core()
    for args in ("set retention signals 20", "set digest-sources none",
                 "reset digest-sources"):
        await core.handle(admin_command(BOSS, args))
    [audit] = await core.handle(admin_command(BOSS, "audit"))
    lines = audit.text.splitlines()
    assert lines[0].endswith("Boss: /admin reset digest-sources (before: none)")
    assert lines[1].endswith(
        "Boss: /admin set digest-sources none (before: the deployment's default)")
    assert lines[2].endswith(
        "Boss: /admin set retention signals 20 (before: the deployment's default)")
    assert "None" not in audit.text and "key=" not in audit.text
    await core.handle(command(BOSS, "prefs", "set language fr"))
    [french] = await core.handle(admin_command(BOSS, "audit"))
    assert "/admin reset digest-sources (avant : none)" in french.text
    assert "(avant : la valeur par défaut du déploiement)" in french.text
