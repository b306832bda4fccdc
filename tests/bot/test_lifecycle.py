"""What the core decides on an adapter's facts after a reconnect (bot/lifecycle.py): who of a
workspace is gone, and which workspaces the bot no longer is in. Real databases (SQLite and
PostgreSQL); the outage journal is the core's own file."""

from __future__ import annotations

import pytest

from bot.core import Core
from tests.support.helpers import grant, message, person, person_id


async def known(core: Core, *who: object) -> list[bool]:
    return [await person_id(core, ref) is not None for ref in who]  # type: ignore[arg-type]


async def test_forget_absent_erases_only_who_the_list_lacks_in_that_workspace(
    core: Core,
) -> None:
    alice, bob = person("alice", "G1", "discord"), person("bob", "G1", "discord")
    elsewhere = person("alice", "G2", "discord")
    in_dms = person("alice", "dm", "discord")
    other_platform = person("alice", "G1", "slack")
    for who in (alice, bob, elsewhere, in_dms, other_platform):
        await grant(core, who)

    assert await core.forget_absent("discord", "G1", {"bob"}) == 1

    assert await known(core, alice, bob, elsewhere, in_dms, other_platform) == [
        False, True, True, True, True]


async def test_forget_absent_asks_about_each_person_while_deciding(core: Core) -> None:
    """A live view of the members is asked inside the erasing transaction: whoever it says
    is present then stays, whatever a list taken earlier said."""
    alice, bob = person("alice", "G1", "discord"), person("bob", "G1", "discord")
    for who in (alice, bob):
        await grant(core, who)
    asked: list[str] = []

    class Live:
        def __contains__(self, user_id: object) -> bool:
            asked.append(str(user_id))
            return user_id == "bob"

    assert await core.forget_absent("discord", "G1", Live()) == 1
    assert sorted(asked) == ["alice", "bob"]
    assert await known(core, alice, bob) == [False, True]


async def test_forget_absent_empties_the_journal_of_who_is_gone(core: Core) -> None:
    """Events kept while the database was away, of someone with no row yet, would make them
    a row at the replay: an absent person's go, a present one's stay."""
    journal = core.services.journal
    gone, staying = person("gone", "G1", "discord"), person("staying", "G1", "discord")
    journal.keep(message(gone, "kept during an outage"))
    journal.keep(message(staying, "kept too"))

    assert await core.forget_absent("discord", "G1", {"staying"}) == 0

    assert journal.users("discord", "G1") == {"staying"}


async def test_forget_absent_workspaces_forgets_what_the_list_lacks_among_what_it_covers(
    core: Core,
) -> None:
    """G2 removed the bot; G3 is another process's (not covered); the DM scope is no server
    and never covered; G4 is known only by an event in the journal."""
    listed = person("alice", "G1", "discord")
    removed, removed_too = person("alice", "G2", "discord"), person("bob", "G2", "discord")
    not_ours = person("carol", "G3", "discord")
    in_dms = person("alice", "dm", "discord")
    for who in (listed, removed, removed_too, not_ours, in_dms):
        await grant(core, who)
    core.services.journal.keep(message(person("dave", "G4", "discord"), "waiting"))

    forgotten = await core.forget_absent_workspaces(
        "discord", {"G1"}, covered=lambda workspace: workspace in {"G1", "G2", "G4"})

    assert forgotten == {"G2": 2, "G4": 0}
    assert await known(core, listed, removed, removed_too, not_ours, in_dms) == [
        True, False, False, True, True]
    assert core.services.journal.workspaces("discord") == set()


async def test_a_list_without_any_known_workspace_forgets_none_of_them(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    """Another bot's token, or a new application not yet invited, lists none of the servers
    the people were met in: nothing is forgotten, and the log says why. One workspace alone
    may well have removed the bot."""
    first, second = person("alice", "G1", "discord"), person("bob", "G2", "discord")
    for who in (first, second):
        await grant(core, who)

    everything = await core.forget_absent_workspaces(
        "discord", {"G9"}, covered=lambda workspace: workspace.startswith("G"))

    assert everything == {}
    assert await known(core, first, second) == [True, True]
    assert "lists the bot in none of the 2 workspaces" in caplog.text
    assert await core.forget_absent_workspaces(
        "discord", {"G1"}, covered=lambda workspace: workspace.startswith("G")) == {"G2": 1}
    assert await core.forget_absent_workspaces(
        "discord", set(), covered=lambda workspace: workspace.startswith("G")) == {"G1": 1}
