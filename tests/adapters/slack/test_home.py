"""The App Home tab over signed HTTP: published when opened, republished when a command or a
button changes what it shows, and its buttons run the same commands as typing them."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

from adapters.slack import home
from bot.commands.admin import NOT_ADMIN
from bot.i18n import t
from profiles.admin_models import AdminAudit, WorkspaceDefault
from tests.adapters.slack.conftest import (
    DM,
    OTHER,
    USER,
    MakeWorld,
    SlackWorld,
    action_body,
    fast_options,
    next_ts,
    rows,
)

RUST = "I love Rust programming and distributed systems with async runtimes"


def home_text(world: SlackWorld, user: str = USER) -> str:
    """Every text on the person's Home tab, one per line."""
    view = world.slack.views[user]
    assert view["type"] == "home"
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(view["blocks"])
    return "\n".join(found)


def fr(text: str, **values: object) -> str:
    """Ada's Slack locale is fr-FR: her Home tab speaks French (through the catalog)."""
    return t(text, "fr", **values)


def home_buttons(world: SlackWorld, user: str = USER) -> list[str]:
    return [e["action_id"] for b in world.slack.views[user]["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


async def tell(world: SlackWorld, text: str) -> None:
    """A DM written now (interests fade with age, and the Home tab shows current weights)."""
    await world.event({"type": "message", "channel": DM, "user": USER, "text": text,
                       "ts": f"{time.time():.6f}", "channel_type": "im"})


async def open_home(world: SlackWorld, user: str = USER) -> None:
    await world.event({"type": "app_home_opened", "user": user, "channel": DM, "tab": "home",
                       "event_ts": next_ts()})


async def press_on_home(world: SlackWorld, action_id: str, user: str = USER) -> None:
    """A button on the Home tab: a view container, no channel and no response_url."""
    body: dict[str, Any] = action_body(world.slack, action_id, "", user=user, channel=DM,
                                       message_ts="", ephemeral=False)
    for key in ("channel", "response_url", "message"):
        body.pop(key, None)
    body["container"] = {"type": "view", "view_id": "V1"}
    body["view"] = {"id": "V1", "type": "home"}
    await world.post(urllib.parse.urlencode({"payload": json.dumps(body)}),
                     "application/x-www-form-urlencoded")


async def test_home_is_published_when_opened(world: SlackWorld) -> None:
    await open_home(world)
    text = home_text(world)
    assert fr(home.TITLE) in text and fr(home.UNKNOWN) in text
    assert fr(home.TITLE) != home.TITLE  # really translated, not the English source
    assert home_buttons(world) == ["consent.grant", "export.run", "forget.ask"]
    assert fr(home.ADMIN) not in text  # Ada is not an admin

    await open_home(world, OTHER)  # Grace's Slack locale is en-US
    assert "What I know about you" in home_text(world, OTHER)


async def test_home_follows_every_change(world: SlackWorld) -> None:
    await world.grant()
    await tell(world, RUST)
    await open_home(world)
    text = home_text(world)
    assert "rust" in text.lower() and fr(home.CONSENT["granted"]) in text
    from_slack = fr(home.SOURCE_WORDS["platform"])
    assert f"timezone: Europe/Paris _({from_slack})_" in text  # from users.info
    assert home_buttons(world)[0] == "consent.revoke"

    published = len(world.slack.calls_to("views.publish"))
    await world.command("/prefs", "set tone casual")
    assert len(world.slack.calls_to("views.publish")) == published + 1
    assert f"tone: casual _({fr(home.SOURCE_WORDS['explicit'])})_" in home_text(world)

    await world.command("/digest", "subscribe daily 08:00")
    assert fr(home.DIGEST, value="daily 08:00",
              source=fr(home.SOURCE_WORDS["explicit"])) in home_text(world)

    await press_on_home(world, "consent.revoke")  # a Home button runs the command
    assert fr(home.CONSENT["revoked"]) in home_text(world)
    assert home_buttons(world)[0] == "consent.grant"

    await world.command("/prefs", "set language en")  # her own choice beats Slack's locale
    assert home.CONSENT["revoked"] in home_text(world)


async def test_home_shows_lately_and_lasting_interests(world: SlackWorld) -> None:
    await world.command("/prefs", "set language en", user=USER)
    await world.grant()
    await tell(world, RUST)
    await open_home(world)
    text = home_text(world)
    lately = next(line for line in text.splitlines() if line.startswith("*Lately:*"))
    assert "rust" in lately.lower()
    # What was said long ago is lasting, not lately: age the interests by a year.
    async with world.core.services.db.session() as session:
        from sqlalchemy import update

        from profiles.models import Interest

        year = 365 * 86400.0
        await session.exec(update(Interest).values(  # type: ignore[call-overload]
            updated_ts=Interest.updated_ts - year))
    await world.command("/prefs", "set tone casual")  # any change republishes
    text = home_text(world)
    assert "*Lately:* nothing new recently" in text
    lasting = next(line for line in text.splitlines() if line.startswith("*Lasting*"))
    assert "rust" in lasting.lower()


async def test_forget_from_home_leaves_an_empty_home(world: SlackWorld) -> None:
    await world.grant()
    await tell(world, RUST)
    await open_home(world)
    await press_on_home(world, "forget.ask")
    ask = world.slack.messages[DM][-1]  # no response_url on Home: the question goes to the DM
    assert [e["action_id"] for e in ask["blocks"][-1]["elements"]] == [
        "forget.confirm", "forget.cancel"]
    await press_on_home(world, "forget.confirm")
    assert fr(home.UNKNOWN) in home_text(world)
    assert "rust" not in home_text(world).lower()


async def test_admins_see_the_workspace_on_their_home(world: SlackWorld) -> None:
    world.slack.add_user("U0BOSS", "Boss", is_owner=True)
    await world.grant()
    await open_home(world, "U0BOSS")
    text = home_text(world, "U0BOSS")
    assert "Workspace (admins only)" in text and "1 allows learning" in text
    assert "consent: ask first (opt-in) (deployment default)" in text


def admin_menu(world: SlackWorld, user: str, action_id: str) -> dict[str, Any]:
    return next(e for b in world.slack.views[user]["blocks"] if b["type"] == "actions"
                for e in b["elements"] if e["action_id"] == action_id)


async def choose_on_home(world: SlackWorld, action_id: str, user: str,
                         **choice: Any) -> None:
    """A menu or checkboxes on the Home tab, as Slack sends the choice."""
    body: dict[str, Any] = action_body(world.slack, action_id, "", user=user, channel=DM,
                                       message_ts="", ephemeral=False)
    for key in ("channel", "response_url", "message"):
        body.pop(key, None)
    body["actions"][0].update(type="static_select", **choice)
    body["container"] = {"type": "view", "view_id": "V1"}
    await world.post(urllib.parse.urlencode({"payload": json.dumps(body)}),
                     "application/x-www-form-urlencoded")


async def test_admins_change_workspace_defaults_on_their_home(world: SlackWorld) -> None:
    world.slack.add_user("U0BOSS", "Boss", is_admin=True)
    await open_home(world, "U0BOSS")
    menu = admin_menu(world, "U0BOSS", "admin.retention.conversations")
    assert menu["initial_option"]["value"] == "default"
    assert "365" not in [o["value"] for o in menu["options"]]  # over the deployment's 90

    await choose_on_home(world, "admin.retention.conversations", "U0BOSS",
                         selected_option={"value": "30"})
    assert admin_menu(world, "U0BOSS", "admin.retention.conversations")[
        "initial_option"]["value"] == "30"  # republished with the new value
    assert "retention of conversations: 30 days (set for this workspace)" in home_text(
        world, "U0BOSS")

    await choose_on_home(world, "admin.digest_sources", "U0BOSS",
                         selected_options=[{"value": "rss"}])
    boxes = admin_menu(world, "U0BOSS", "admin.digest_sources")
    assert [o["value"] for o in boxes["initial_options"]] == ["rss"]
    await choose_on_home(world, "admin.digest_sources", "U0BOSS", selected_options=[])
    assert "initial_options" not in admin_menu(world, "U0BOSS", "admin.digest_sources")

    await choose_on_home(world, "admin.consent", "U0BOSS", selected_option={"value": "opt_out"})
    refusal = world.slack.messages["D0BOSS"][-1]["text"]  # Home answers go to the DM
    assert "only its operator" in refusal

    await choose_on_home(world, "admin.consent", USER, selected_option={"value": "opt_in"})
    assert world.slack.messages[DM][-1]["text"] == t(NOT_ADMIN, "fr")
    stored = {row.key: row.value for row in await rows(world.core, WorkspaceDefault)}
    assert stored == {"retention.conversation_days": "30", "digest_sources": ""}
    assert [a.action for a in await rows(world.core, AdminAudit)] == ["default.set"] * 3


def publishes(world: SlackWorld, user: str) -> int:
    return sum(1 for c in world.slack.calls_to("views.publish") if c.params.get("user_id") == user)


async def test_an_admins_change_refreshes_the_other_admins_homes(make_world: MakeWorld) -> None:
    """Boss changes a default (slash command) and excludes a channel (Home menu): Chief, an
    admin whose Home tab is open, sees both; Ada's (no admin) is not republished; with a limit
    of one, only the most recently opened admin Home is."""
    world = await make_world(options=fast_options(home_admin_refresh_limit=1))
    world.slack.add_user("U0BOSS", "Boss", is_admin=True)
    world.slack.add_user("U0CHIEF", "Chief", is_owner=True)
    world.slack.add_user("U0DEPUTY", "Deputy", is_admin=True)
    for user in ("U0DEPUTY", "U0CHIEF", USER, "U0BOSS"):
        await open_home(world, user)
    before = {user: publishes(world, user) for user in ("U0DEPUTY", "U0CHIEF", USER)}

    sent = await world.command("/admin", "set retention conversations 30", user="U0BOSS")
    assert sent.status == 200
    assert "retention of conversations: 30 days (set for this workspace)" in home_text(
        world, "U0CHIEF")
    assert publishes(world, "U0CHIEF") == before["U0CHIEF"] + 1
    assert publishes(world, USER) == before[USER]  # not an admin: nothing of this shown
    assert publishes(world, "U0DEPUTY") == before["U0DEPUTY"]  # over the limit of one

    await choose_on_home(world, "admin.consent", "U0BOSS", selected_option={"value": "opt_in"})
    assert "consent: ask first (opt-in) (set for this workspace)" in home_text(world, "U0CHIEF")
    assert publishes(world, "U0CHIEF") == before["U0CHIEF"] + 2
