"""Slash commands and their buttons over signed HTTP: acked at once, answered privately via the
command's response_url, /export as a file in the person's DM, /forget with confirm buttons."""

from __future__ import annotations

import json
import re
import time

from adapters.slack.delivery import SENT_TO_DM
from adapters.slack.manifest import build_manifest
from adapters.slack.markup import unescape
from bot.commands.admin import BAD_CHANNEL, NOT_ADMIN
from bot.i18n import t
from profiles.admin_models import AdminAudit, ChannelPolicy
from profiles.models import Consent, Person, Preference, Signal
from tests.adapters.slack.conftest import CHANNEL, DM, USER, SlackWorld, next_ts, rows
from tests.support.fake_slack_api import TEAM_ID
from tests.support.helpers import count

SAVED = "Saved: {key} = {value}. This now overrides anything I infer."


def in_catalog(text: str, msgid: str, locale: str = "fr") -> bool:
    """``text`` is ``msgid`` as the catalog words it in ``locale``, placeholders filled."""
    pattern = re.escape(t(msgid, locale))
    pattern = re.sub(r"\\\{\w+\\\}", ".+", pattern)
    assert t(msgid, locale) != msgid  # really translated
    return re.fullmatch(pattern, text, re.DOTALL) is not None


async def test_every_manifest_command_is_answered(world: SlackWorld) -> None:
    commands = [c["command"] for c in build_manifest(world.core.services.settings)["features"][
        "slash_commands"]]
    for command in commands:
        if command == "/forget":
            continue  # its own test; it would offer to delete the person's data
        sent = await world.command(command)
        assert (sent.status, sent.text) == (200, "")  # acked empty: the answer comes later
    answered = {c.params["response_url"] for c in world.slack.calls_to("response_url")}
    assert len(answered) == len(commands) - 1


async def test_consent_and_prefs_are_private_replies(world: SlackWorld) -> None:
    started = time.perf_counter()
    sent = await world.command("/consent", "grant", drain=False)
    assert sent.status == 200 and time.perf_counter() - started < 3
    await world.adapter.drain()
    await world.command("/prefs", "set tone casual")
    grant, prefs = world.slack.calls_to("response_url")
    assert grant.params["response_type"] == prefs.params["response_type"] == "ephemeral"
    assert prefs.params["text"] == t(SAVED, "fr", key="tone", value="casual")  # Ada: fr-FR
    [consent] = await rows(world.core, Consent)
    assert consent.status == "granted"
    [tone] = await rows(world.core, Preference, Preference.key == "tone")
    assert (tone.value, tone.source) == ("casual", "explicit")
    assert world.slack.calls_to("chat.postMessage") == []


async def test_umbrella_command_reaches_any_core_command(world: SlackWorld) -> None:
    await world.command("/tailorbot", "prefs set verbosity brief")
    await world.command("/tailorbot")
    saved, help_ = world.slack.calls_to("response_url")
    assert saved.params["text"] == t(SAVED, "fr", key="verbosity", value="brief")
    assert "/forget" in help_.params["text"] and t("Commands:", "fr") in help_.params["text"]


async def test_export_arrives_as_a_file_in_the_dm(world: SlackWorld) -> None:
    await world.grant()
    await world.dm("I love Rust programming and distributed systems")
    await world.command("/export", channel=CHANNEL)
    [opened] = world.slack.calls_to("conversations.open")
    assert opened.params["users"] == USER
    [url] = world.slack.calls_to("files.getUploadURLExternal")
    [done] = world.slack.calls_to("files.completeUploadExternal")
    assert done.params["channel_id"] == DM
    assert in_catalog(done.params["initial_comment"],  # Ada's Slack locale is fr-FR
                      "Here is everything I store about you: {rows} rows in {tables} tables.")
    data = json.loads(world.slack.uploads[done.params["files"][0]["id"]])
    assert data["person"]["user_id"] == USER and data["tables"]["signal"]
    assert int(url.params["length"]) == len(world.slack.uploads[done.params["files"][0]["id"]])
    note = world.slack.calls_to("response_url")[-1]
    assert note.params["response_type"] == "ephemeral"
    assert note.params["text"] == t(SENT_TO_DM, "fr")


async def test_export_falls_back_to_dm_messages_when_upload_fails(world: SlackWorld) -> None:
    """The messages carry the person's words escaped as any text: a "<" in them went out
    raw, and Slack reads "<…>" as a link or a mention."""
    await world.grant()
    await world.dm("I write &lt;!channel&gt; tags &amp; css")  # as Slack sends what was typed
    world.slack.fail_next("files.getUploadURLExternal", status=200, error="missing_scope")
    await world.command("/export", channel=DM)
    posts = [p for p in world.slack.calls_to("chat.postMessage")
             if "couldn't attach" in p.params["text"] or p.params["text"].startswith("```")]
    assert posts and all(p.params["channel"] == DM for p in posts)
    assert "couldn't attach" in posts[0].params["text"]
    assert not [p for p in posts if "<" in p.params["text"]]
    body = "".join(p.params["text"].strip("`") for p in posts[1:])
    exported = json.loads(unescape(body))
    assert exported["person"]["user_id"] == USER
    assert "<!channel> tags & css" in json.dumps(exported, ensure_ascii=False)


async def test_forget_asks_with_buttons_and_confirm_deletes(world: SlackWorld) -> None:
    await world.grant()
    await world.dm("I love Rust programming and distributed systems")
    assert await count(world.core, Signal) > 0
    await world.command("/forget")
    ask = world.slack.calls_to("response_url")[-1]
    assert ask.params["response_type"] == "ephemeral"
    buttons = ask.params["blocks"][-1]["elements"]
    assert [(b["action_id"], b.get("style")) for b in buttons] == [
        ("forget.confirm", "danger"), ("forget.cancel", None)]
    await world.press("forget.confirm", channel=CHANNEL, ephemeral=True)
    done = world.slack.calls_to("response_url")[-1]
    assert done.params["replace_original"] is True
    assert in_catalog(done.params["text"], "Done. I deleted everything about you ({total} rows). "
                      "If you talk to me again, I'll start from scratch and ask before learning "
                      "anything.")
    assert await count(world.core, Person) == 0
    assert await count(world.core, Signal) == 0


async def test_cancel_keeps_everything(world: SlackWorld) -> None:
    await world.grant()
    await world.press("forget.cancel", channel=CHANNEL, ephemeral=True)
    assert world.slack.calls_to("response_url")[-1].params["text"] == t(  # Ada: fr-FR
        "Okay, nothing was deleted.", "fr")
    assert await count(world.core, Person) == 1


async def test_admin_is_recognised_from_slack_roles(world: SlackWorld) -> None:
    """users.info says who administers the workspace; /admin works for them only, and the
    exclusion it sets stops learning from that channel's messages."""
    world.slack.add_user("U0BOSS", "Boss", is_admin=True)
    world.slack.add_user("U0OWNER", "Owner", is_owner=True)
    await world.command("/admin", "exclude learning here", user=USER, channel=CHANNEL)
    refused = world.slack.calls_to("response_url")[-1]
    assert refused.params["text"] == t(NOT_ADMIN, "fr")  # Ada's Slack locale is fr-FR
    assert await rows(world.core, ChannelPolicy) == []

    await world.command("/admin", "exclude learning here", user="U0BOSS", channel=CHANNEL)
    done = world.slack.calls_to("response_url")[-1]
    assert done.params["response_type"] == "ephemeral"
    assert f"#{CHANNEL} is now excluded from learning" in done.params["text"]
    [policy] = await rows(world.core, ChannelPolicy)
    assert (policy.workspace, policy.channel_id, policy.learn) == (TEAM_ID, CHANNEL, False)
    await world.command("/admin", "", user="U0OWNER", channel=CHANNEL)
    assert "1 allow learning" not in world.slack.calls_to("response_url")[-1].params["text"]
    assert f"#{CHANNEL}: no learning" in world.slack.calls_to("response_url")[-1].params["text"]

    await world.grant()
    await world.event({"type": "message", "channel": CHANNEL, "user": USER, "ts": next_ts(),
                       "text": "Kubernetes operators make cluster automation pleasant",
                       "channel_type": "channel"})
    assert await count(world.core, Signal) == 0
    assert [a.action for a in await rows(world.core, AdminAudit)] == ["channel.exclude"]


async def test_admin_names_a_channel_by_slack_mention(world: SlackWorld) -> None:
    """/admin is registered with should_escape, so Slack sends a picked #channel as
    <#C…|name>: an admin can exclude a channel without running the command in it. A bare
    name (the umbrella command is not escaped) is refused rather than guessed."""
    manifest = build_manifest(world.core.services.settings)["features"]["slash_commands"]
    escaped = {c["command"]: c["should_escape"] for c in manifest}
    assert escaped["/admin"] is True and escaped["/memory"] is False
    world.slack.add_user("U0BOSS", "Boss", is_admin=True)
    await world.command("/admin", "exclude digest <#C0RANDOM1|random>", user="U0BOSS",
                        channel=DM)
    assert "#C0RANDOM1 is now excluded from digests" in world.slack.calls_to(
        "response_url")[-1].params["text"]
    [policy] = await rows(world.core, ChannelPolicy)
    assert (policy.channel_id, policy.learn, policy.digest) == ("C0RANDOM1", True, False)

    await world.command("/admin", "exclude all #random", user="U0BOSS", channel=DM)
    assert world.slack.calls_to("response_url")[-1].params["text"] == t(
        BAD_CHANNEL, "en", word="#random")
    assert len(await rows(world.core, ChannelPolicy)) == 1


async def test_more_private_replies_than_a_response_url_takes_reach_the_person(
    world: SlackWorld,
) -> None:
    """Slack takes five posts to a response_url: a /digest preview is seven private replies.
    The sixth and seventh went to chat.postEphemeral, which a channel the bot is not in
    refuses (not_in_channel): they were lost. Now they go by DM."""
    from adapters.slack.translate import Origin
    from bot.events import Reply, ReplyKind

    ws = await world.adapter.workspaces.get(TEAM_ID)
    assert ws is not None
    origin = Origin(TEAM_ID, USER, "C0NOTJOINED", response_url=world.slack.response_url("r7"),
                    from_command=True)
    world.slack.fail_next("chat.postEphemeral", status=200, error="not_in_channel")
    world.slack.fail_next("chat.postEphemeral", status=200, error="not_in_channel")
    replies = [Reply(text=f"part {n}", kind=ReplyKind.EPHEMERAL) for n in range(1, 8)]
    await ws.deliverer.deliver(origin, replies)

    private = [c.params["text"] for c in world.slack.calls_to("response_url")]
    assert private == [f"part {n}" for n in range(1, 6)]
    in_dm = [c.params["text"] for c in world.slack.calls_to("chat.postMessage")
             if c.params["channel"] == DM]
    assert in_dm == ["part 6", "part 7"]
