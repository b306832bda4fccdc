"""Workspace defaults through the real core and database (SQLite and PostgreSQL): only the
platform's admins may set them; each is read where its behaviour happens — the consent gate,
the digest builder, the retention purge — for that workspace only; a workspace may be
stricter than the deployment, never looser; every change is audited."""

from __future__ import annotations

from sqlmodel import select

from bot.commands.admin import BAD_CHANNEL, NOT_ADMIN
from bot.core import Core
from bot.events import CommandEvent, PersonRef, PlatformContext, Surface
from bot.i18n import t
from bot.retention import purge_now
from bot.workspace_settings import LONGER_REFUSED, OPT_OUT_REFUSED, retention_key
from profiles.admin_models import AdminAudit, ChannelPolicy, WorkspaceDefault
from profiles.models import ConversationTurn, Interest, Signal
from profiles.workspace_defaults import set_default
from tests.conftest import MakeCore
from tests.profiles.test_retention import NOW, aged
from tests.support.helpers import command, count, grant, message, next_id, person, person_id

BOSS = person("boss")
KUBERNETES = "Kubernetes operators make cluster automation pleasant and reliable"


def admin(who: PersonRef, args: str, *, is_admin: bool = True, locale: str | None = None,
          channel: str = "C1") -> CommandEvent:
    return CommandEvent(event_id=next_id("cmd"), person=who, name="admin", args=args,
                        channel_id=channel, surface=Surface.CHANNEL,
                        context=PlatformContext(admin=is_admin, locale=locale))


async def say(core: Core, who: PersonRef, args: str, **kw: object) -> str:
    [reply] = await core.handle(admin(who, args, **kw))  # type: ignore[arg-type]
    return reply.text


async def audit(core: Core) -> list[AdminAudit]:
    async with core.services.db.session() as session:
        return list(await session.exec(select(AdminAudit).order_by(AdminAudit.id)))


async def test_setting_the_same_value_again_says_nothing_changed(make_core: MakeCore) -> None:
    """Input audit: repeating "/admin set retention conversations ３０" said "Done: this
    workspace's default changed" though it already was that."""
    core = await make_core(retention_conversation_days=90)
    first = await say(core, BOSS, "set retention conversations ３０")
    assert first.startswith("Done: this workspace's default changed.")
    again = await say(core, BOSS, "set retention conversations 30")
    assert again.startswith("Nothing changed: that is already this workspace's default.")
    assert "retention of conversations: 30 days (set for this workspace)" in again
    await say(core, BOSS, "reset retention")
    assert (await say(core, BOSS, "reset retention")).startswith("Nothing changed")
    assert len(await audit(core)) == 2


async def test_only_admins_may_see_or_change_defaults(make_core: MakeCore) -> None:
    core = await make_core()
    alice = person("alice")
    for args in ("defaults", "set consent opt_in", "reset retention",
                 "set retention conversations 7"):
        assert await say(core, alice, args, is_admin=False) == NOT_ADMIN
    assert await count(core, WorkspaceDefault) == 0
    assert await audit(core) == []


async def test_defaults_show_their_source_and_changes_are_audited(make_core: MakeCore) -> None:
    core = await make_core(retention_conversation_days=90)
    shown = await say(core, BOSS, "defaults")
    assert "consent: ask first (opt-in) (deployment default)" in shown
    assert "retention of conversations: 90 days (deployment default)" in shown

    done = await say(core, BOSS, "set retention conversations 30")
    assert "retention of conversations: 30 days (set for this workspace)" in done
    await say(core, BOSS, "set digest-sources rss,channels")
    await say(core, BOSS, "set digest-sources rss,channels")  # unchanged: no second entry
    await say(core, BOSS, "reset retention")
    assert "retention of conversations: 90 days (deployment default)" in await say(
        core, BOSS, "defaults")
    entries = await audit(core)
    assert [(e.action, e.detail["key"], e.detail["value"], e.detail["previous"])
            for e in entries] == [
        ("default.set", "retention.conversation_days", "30", None),
        ("default.set", "digest_sources", "channels,rss", None),
        ("default.reset", "retention.conversation_days", None, "30"),
    ]
    boss_id = await person_id(core, BOSS)
    assert all(e.person_id == boss_id for e in entries)
    shown = await say(core, BOSS, "audit")
    assert "/admin set digest-sources channels,rss (before: the deployment's default)" in shown
    assert "/admin reset retention conversations (before: 30)" in shown


async def test_a_workspace_may_be_stricter_never_looser(make_core: MakeCore) -> None:
    core = await make_core(retention_signal_evidence_days=60)
    refused = await say(core, BOSS, "set consent opt_out")
    assert refused == t(OPT_OUT_REFUSED)
    assert await say(core, BOSS, "set retention signals 365") == t(
        LONGER_REFUSED, kind="signals", limit=60)
    assert "whole number" in await say(core, BOSS, "set retention signals 0")
    assert "Usage" in await say(core, BOSS, "set retention nonsense 3")
    assert "digest source" in await say(core, BOSS, "set digest-sources gossip")
    assert await count(core, WorkspaceDefault) == 0
    assert await audit(core) == []


async def test_refusals_are_in_the_admins_language(make_core: MakeCore) -> None:
    core = await make_core()
    refused = await say(core, BOSS, "set consent opt_out", locale="fr-FR")
    assert refused == t(OPT_OUT_REFUSED, "fr") != t(OPT_OUT_REFUSED, "en")
    assert await say(core, person("alice"), "", is_admin=False, locale="de") == t(
        NOT_ADMIN, "de")


async def test_opt_out_workspace_learns_without_asking_only_there(make_core: MakeCore) -> None:
    core = await make_core(workspace_opt_out_allowed=True)
    assert "learn unless refused (opt-out) (set for this workspace)" in await say(
        core, BOSS, "set consent opt_out")
    here, elsewhere = person("alice"), person("alice", workspace="W2")

    replies = await core.handle(message(here, KUBERNETES))
    assert [r.purpose for r in replies] == ["chat"]  # no consent notice in W1
    assert await count(core, Interest, person_id=await person_id(core, here)) > 0

    replies = await core.handle(message(elsewhere, KUBERNETES))
    assert replies[-1].purpose == "consent_notice"  # W2 still asks first
    assert await count(core, Interest, person_id=await person_id(core, elsewhere)) == 0

    await say(core, BOSS, "set consent default")  # back to the deployment's opt-in
    bob = person("bob")
    replies = await core.handle(message(bob, KUBERNETES))
    assert replies[-1].purpose == "consent_notice"
    assert await count(core, Interest, person_id=await person_id(core, bob)) == 0


async def test_an_opt_out_the_operator_no_longer_allows_stops_at_once(
    make_core: MakeCore,
) -> None:
    allowing = await make_core(workspace_opt_out_allowed=True)
    await say(allowing, BOSS, "set consent opt_out")
    strict = await make_core()  # same database, the operator turned the permission off
    alice = person("alice")
    replies = await strict.handle(message(alice, KUBERNETES))
    assert replies[-1].purpose == "consent_notice"
    assert await count(strict, Interest, person_id=await person_id(strict, alice)) == 0
    assert "ask first (opt-in) (deployment default)" in await say(strict, BOSS, "defaults")


async def test_opt_in_workspace_asks_in_an_opt_out_deployment(make_core: MakeCore) -> None:
    core = await make_core(consent_mode="opt_out")
    await say(core, BOSS, "set consent ask")
    here, elsewhere = person("alice"), person("alice", workspace="W2")
    await core.handle(message(elsewhere, KUBERNETES))
    assert await count(core, Interest, person_id=await person_id(core, elsewhere)) > 0
    replies = await core.handle(message(here, KUBERNETES))
    assert replies[-1].purpose == "consent_notice"
    assert await count(core, Interest, person_id=await person_id(core, here)) == 0
    # channel chatter of someone who never answered is not learned from either
    await core.handle(message(here, "Rust borrow checker lifetimes explained",
                              surface=Surface.CHANNEL, channel_id="C9"))
    assert await count(core, Signal, person_id=await person_id(core, here)) == 0


async def test_shorter_retention_purges_that_workspace_only(make_core: MakeCore) -> None:
    core = await make_core(retention_conversation_days=90)
    core.services.clock = lambda: NOW
    mine, theirs = person("alice"), person("alice", workspace="W2")
    for who in (mine, theirs):
        await grant(core, who)
        pid = await person_id(core, who)
        assert pid is not None
        for days in (3, 20, 45):
            await aged(core, pid, days, f"d{days}")
    await say(core, BOSS, "set retention conversations 14")

    await purge_now(core.services)

    async def turns(who: PersonRef) -> list[str]:
        pid = await person_id(core, who)
        async with core.services.db.session() as session:
            rows = await session.exec(select(ConversationTurn.text).where(
                ConversationTurn.person_id == pid))
            return sorted(text for text in rows if text.startswith("d"))

    assert await turns(mine) == ["d3"]
    assert await turns(theirs) == ["d20", "d3", "d45"]  # W2 keeps the deployment's 90 days


async def test_channel_arguments_are_mentions_or_ids_never_bare_names(
    make_core: MakeCore,
) -> None:
    core = await make_core()
    assert await say(core, BOSS, "exclude learning #general") == t(BAD_CHANNEL, word="#general")
    assert await count(core, ChannelPolicy) == 0
    done = await say(core, BOSS, "exclude learning <#C0RANDOM1|random>", channel="C1")
    assert "#C0RANDOM1" in done
    done = await say(core, BOSS, "exclude digest <#123456789012>")  # Discord's mention
    assert "#123456789012" in done
    async with core.services.db.session() as session:
        rows = list(await session.exec(select(ChannelPolicy.channel_id)))
    assert sorted(rows) == ["123456789012", "C0RANDOM1"]


async def test_profile_states_the_workspaces_own_retention(make_core: MakeCore) -> None:
    core = await make_core(retention_conversation_days=90)
    alice, elsewhere = person("alice"), person("alice", workspace="W2")
    await say(core, BOSS, "set retention conversations 30")
    [here_reply] = await core.handle(command(alice, "profile"))
    [there_reply] = await core.handle(command(elsewhere, "profile"))
    assert "conversation turns 30 days" in here_reply.text
    assert "conversation turns 90 days" in there_reply.text


async def test_retention_days_beyond_any_date_are_refused(make_core: MakeCore) -> None:
    """A deployment keeping conversations for ever accepted a million days, and every purge
    then failed (a date before year 1); a digit int() refuses raised instead of answering."""
    core = await make_core(retention_conversation_days=0)
    assert await say(core, BOSS, "set retention conversations 1000000") == t(
        LONGER_REFUSED, kind="conversations", limit=36_500)
    assert await say(core, BOSS, "set retention conversations " + "9" * 5000) == t(
        LONGER_REFUSED, kind="conversations", limit=36_500)
    assert "whole number" in await say(core, BOSS, "set retention conversations ፩")
    assert await count(core, WorkspaceDefault) == 0
    # one stored before the bound (as /admin set then allowed): bounded when read
    async with core.services.db.session() as session:
        await set_default(session, "test", "W1", retention_key("conversations"), "1000000", NOW)
    await purge_now(core.services)  # raised OverflowError before
