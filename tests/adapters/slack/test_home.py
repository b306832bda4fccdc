"""The App Home tab over signed HTTP: published when opened, republished when a command or a
button changes what it shows, and its buttons run the same commands as typing them."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

from tests.adapters.slack.conftest import (
    DM,
    USER,
    SlackWorld,
    action_body,
    next_ts,
)

RUST = "I love Rust programming and distributed systems with async runtimes"


def home_text(world: SlackWorld, user: str = USER) -> str:
    view = world.slack.views[user]
    assert view["type"] == "home"
    return json.dumps(view, ensure_ascii=False)


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
    assert "What I know about you" in text and "haven't talked yet" in text
    assert home_buttons(world) == ["consent.grant", "export.run", "forget.ask"]
    assert "Workspace (admins only)" not in text  # Ada is not an admin


async def test_home_follows_every_change(world: SlackWorld) -> None:
    await world.grant()
    await tell(world, RUST)
    await open_home(world)
    text = home_text(world)
    assert "rust" in text.lower() and "you allowed me to learn" in text
    assert "timezone: Europe/Paris _(from Slack)_" in text  # from users.info
    assert home_buttons(world)[0] == "consent.revoke"

    published = len(world.slack.calls_to("views.publish"))
    await world.command("/prefs", "set tone casual")
    assert len(world.slack.calls_to("views.publish")) == published + 1
    assert "tone: casual _(you set it)_" in home_text(world)

    await world.command("/digest", "subscribe daily 08:00")
    assert "*Digest:* daily 08:00" in home_text(world)

    await press_on_home(world, "consent.revoke")  # a Home button runs the command
    assert "you revoked it" in home_text(world)
    assert home_buttons(world)[0] == "consent.grant"


async def test_forget_from_home_leaves_an_empty_home(world: SlackWorld) -> None:
    await world.grant()
    await tell(world, RUST)
    await open_home(world)
    await press_on_home(world, "forget.ask")
    ask = world.slack.messages[DM][-1]  # no response_url on Home: the question goes to the DM
    assert [e["action_id"] for e in ask["blocks"][-1]["elements"]] == [
        "forget.confirm", "forget.cancel"]
    await press_on_home(world, "forget.confirm")
    assert "haven't talked yet" in home_text(world)
    assert "rust" not in home_text(world).lower()


async def test_admins_see_the_workspace_on_their_home(world: SlackWorld) -> None:
    world.slack.add_user("U0BOSS", "Boss", is_owner=True)
    await world.grant()
    await open_home(world, "U0BOSS")
    text = home_text(world, "U0BOSS")
    assert "Workspace (admins only)" in text and "1 allow learning" in text
