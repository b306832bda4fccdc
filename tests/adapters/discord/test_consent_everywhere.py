"""One choice allows learning in every server where the bot meets a Discord account, while
each server keeps its own profile (nothing learned in one server shows in another)."""

from __future__ import annotations

import pytest

from profiles.models import Interest, Person
from tests.adapters.discord.conftest import World

pytestmark = pytest.mark.asyncio_loop  # SimCord (conftest.py) needs asyncio's loop


async def _allow_everywhere_in_dm(world: World) -> None:
    await world.alice.user.send_dm("hi")
    notice = world.bot_messages(world.dm(world.alice))[-1]
    assert "every server" in notice.content
    pressed = await world.alice.user.click(notice, label="Allow in every server")
    assert "every server where we meet" in pressed.followups[0].content


async def test_allow_in_every_server_from_the_dm_covers_the_servers(world: World) -> None:
    await _allow_everywhere_in_dm(world)
    assert await world.consent(world.alice.id, "dm") == "granted"

    # Minutes later, in a server the person never spoke in before:
    result = await world.alice.slash(world.channel, "profile")
    assert result.response is not None
    assert "haven't allowed me" not in result.response.content
    assert await world.consent(world.alice.id, str(world.guild.id)) == "granted"

    # The first DM message was answered before consent; the conversation keeps it.
    await world.alice.user.send_dm("and what about rust async runtimes?")
    sent = world.core.services.llm.requests[-1]  # type: ignore[attr-defined]
    assert [t.content for t in sent.turns][:2] == ["hi", "(scripted) you said: hi"]


async def test_a_new_server_is_learned_in_but_stays_apart(world: World) -> None:
    await _allow_everywhere_in_dm(world)
    await world.alice.user.send_dm("I love sourdough bread baking and fermentation")

    other = world.env.create_guild("Gardeners")
    channel = other.create_text_channel("chat")
    alice_there = other.add_member(world.alice.user)
    await world.env.settle()
    # Not addressed to the bot, in a server where Alice never talked to it: still learned
    # from, because she allowed it everywhere.
    await alice_there.send(channel, "Tomato seedlings and companion planting this spring")

    there = await world.person(world.alice.id, str(other.id))
    dm = await world.person(world.alice.id, "dm")
    assert there is not None and dm is not None
    topics_there = await _topics(world, there)
    topics_dm = await _topics(world, dm)
    assert any("tomato" in t for t in topics_there)
    assert not any("sourdough" in t for t in topics_there)  # servers stay apart
    assert not any("tomato" in t for t in topics_dm)


async def test_revoke_everywhere_stops_every_server_and_a_no_here_is_respected(
    world: World,
) -> None:
    await _allow_everywhere_in_dm(world)
    await world.alice.slash(world.channel, "profile")  # meets the bot in the server
    assert await world.consent(world.alice.id, str(world.guild.id)) == "granted"

    here = await world.alice.slash(world.channel, "consent", action="revoke")
    assert here.response is not None
    assert "/consent revoke everywhere" in here.response.content
    assert await world.consent(world.alice.id, str(world.guild.id)) == "revoked"
    assert await world.consent(world.alice.id, "dm") == "granted"

    everywhere = await world.alice.user.slash("consent", action="revoke everywhere")
    assert everywhere.response is not None and "every server" in everywhere.response.content
    assert await world.consent(world.alice.id, "dm") == "revoked"
    assert await world.consent(world.alice.id, str(world.guild.id)) == "revoked"

    # No standing grant is left for servers the bot meets her in later.
    other = world.env.create_guild("Later")
    channel = other.create_text_channel("chat")
    alice_there = other.add_member(world.alice.user)
    await world.env.settle()
    await alice_there.send(channel, "Tomato seedlings and companion planting this spring")
    assert await world.person(world.alice.id, str(other.id)) is None


async def test_allow_here_only_leaves_other_servers_asking(world: World) -> None:
    await world.alice.user.send_dm("hi")
    notice = world.bot_messages(world.dm(world.alice))[-1]
    await world.alice.user.click(notice, label="Allow here only")

    result = await world.alice.slash(world.channel, "profile")
    assert result.response is not None
    assert "haven't allowed me" in result.response.content


async def _topics(world: World, person: Person) -> list[str]:
    from sqlmodel import select

    async with world.core.services.db.session() as session:
        rows = await session.exec(select(Interest.topic).where(Interest.person_id == person.id))
        return [str(r) for r in rows.all()]
