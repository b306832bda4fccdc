"""Pure translation rules (payload → event), rendering (Reply → Block Kit) and the manifest."""


import pytest

from adapters.slack import manifest as slack_manifest
from adapters.slack.render import message_payloads
from adapters.slack.translate import (
    BotIdentity,
    action_event,
    command_event,
    message_event,
    reaction_event,
    skip_reason,
    split_umbrella,
)
from bot.command_base import CommandSpec
from bot.commands import REGISTRY
from bot.config import Settings
from bot.events import Button, ButtonStyle, PlatformContext, Reply, ReplyKind, Surface

BOT = BotIdentity(user_id="U0BOT", bot_id="B0BOT")
CTX = PlatformContext(timezone="Europe/Paris", locale="fr-FR")


def body(event: dict) -> dict:
    return {"team_id": "T1", "event_id": "Ev1", "event": event}


@pytest.mark.parametrize(
    ("event", "skipped"),
    [
        ({"type": "message", "user": "U1", "text": "hi"}, False),
        ({"type": "message", "user": "U1", "text": "hi", "subtype": "file_share"}, False),
        ({"type": "message", "user": "U1", "text": "hi", "subtype": "thread_broadcast"}, False),
        ({"type": "message", "user": "U0BOT", "text": "my own answer"}, True),
        ({"type": "message", "bot_id": "B0BOT", "text": "own, no user"}, True),
        ({"type": "message", "user": "U2", "bot_id": "B9", "text": "another bot"}, True),
        ({"type": "message", "subtype": "bot_message", "text": "integration"}, True),
        ({"type": "message", "subtype": "message_changed", "message": {"text": "x"}}, True),
        ({"type": "message", "subtype": "message_deleted", "deleted_ts": "1.0"}, True),
        ({"type": "message", "subtype": "channel_join", "user": "U1", "text": "joined"}, True),
        ({"type": "message", "subtype": "channel_topic", "user": "U1", "text": "topic"}, True),
    ],
)
def test_skip_reason(event: dict, skipped: bool) -> None:
    assert (skip_reason(event, BOT) is not None) is skipped


def test_message_surfaces_and_threads() -> None:
    dm = message_event(body({"type": "message", "user": "U1", "channel": "D1", "ts": "5.1",
                             "channel_type": "im"}), _e("D1", "5.1", channel_type="im"),
                       text="hi", mentioned=False, context=CTX, display_name="Ada")
    assert dm.surface == Surface.DM and dm.thread_id is None and dm.message_id == "5.1"
    assert dm.person.platform == "slack" and dm.person.workspace == "T1"
    assert dm.event_id == "Ev1" and dm.context == CTX
    mention = message_event(body({}), _e("C1", "6.1"), text="hi", mentioned=True, context=CTX)
    assert mention.surface == Surface.CHANNEL and mention.mentioned
    threaded = message_event(body({}), _e("C1", "7.1", thread_ts="6.1"), text="more",
                             mentioned=False, context=CTX)
    assert threaded.surface == Surface.THREAD and threaded.thread_id == "6.1"
    parent = message_event(body({}), _e("C1", "6.1", thread_ts="6.1"), text="x",
                           mentioned=True, context=CTX)
    assert parent.thread_id is None
    assistant = message_event(body({}), _e("D1", "8.1", thread_ts="7.9", channel_type="im"),
                              text="x", mentioned=False, context=CTX)
    assert assistant.surface == Surface.DM and assistant.thread_id == "7.9"
    assert dm.occurred_at.timestamp() == pytest.approx(5.1)


def _e(channel: str, ts: str, **extra: str) -> dict:
    return {"type": "message", "user": "U1", "channel": channel, "ts": ts, "text": "x", **extra}


def test_reaction_event() -> None:
    event = {"type": "reaction_added", "user": "U1", "reaction": "+1::skin-tone-2",
             "item_user": "U0BOT", "item": {"type": "message", "channel": "C1", "ts": "9.1"},
             "event_ts": "9.5"}
    reaction = reaction_event(body(event), event, added=True, target_text="about rust",
                              context=CTX)
    assert reaction is not None
    assert reaction.emoji == "👍🏻" and reaction.target_message_id == "9.1"
    assert reaction.target_text == "about rust" and reaction.target_author_id == "U0BOT"
    custom = dict(event, reaction="partyparrot")
    assert reaction_event(body(custom), custom, added=False, target_text=None,
                          context=CTX).emoji == ":partyparrot:"  # type: ignore[union-attr]
    on_file = dict(event, item={"type": "file", "file": "F1"})
    assert reaction_event(body(on_file), on_file, added=True, target_text=None,
                          context=CTX) is None


def test_command_and_action_events() -> None:
    payload = {"team_id": "T1", "user_id": "U1", "channel_id": "D1",
               "channel_name": "directmessage", "trigger_id": "tr.1", "command": "/prefs"}
    event = command_event(payload, name="prefs", args="set tone casual", context=CTX)
    assert event.event_id == "command:tr.1" and event.surface == Surface.DM
    assert (event.name, event.args) == ("prefs", "set tone casual")
    assert split_umbrella(" Prefs  set tone casual ") == ("prefs", "set tone casual")
    assert split_umbrella("") == ("help", "")
    action = {"action_id": "consent.grant", "action_ts": "3.3"}
    press = {"user": {"id": "U1", "team_id": "T1"}, "team": {"id": "T1"},
             "container": {"message_ts": "2.2", "channel_id": "D1", "is_ephemeral": True},
             "actions": [action]}
    pressed = action_event(press, action, context=CTX)
    assert pressed.event_id == "action:U1:3.3" and pressed.action_id == "consent.grant"
    assert pressed.target_message_id == "2.2" and pressed.person.workspace == "T1"


def test_render_buttons_feedback_and_native() -> None:
    [plain] = message_payloads(Reply(text="Use /prefs set <key> <value>",
                                     kind=ReplyKind.EPHEMERAL))
    assert plain == {"text": "Use /prefs set &lt;key&gt; &lt;value&gt;"}
    [consent] = message_payloads(Reply(
        text="Allow?", buttons=[Button("consent.grant", "Allow", style=ButtonStyle.PRIMARY),
                                Button("consent.decline", "Not now")],
    ))
    section, actions = consent["blocks"]
    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": "Allow?"}}
    assert [e["action_id"] for e in actions["elements"]] == ["consent.grant", "consent.decline"]
    assert actions["elements"][0]["style"] == "primary" and "style" not in actions["elements"][1]
    [chat] = message_payloads(Reply(text="**Hi** " + "x" * 7000, reply_id="turn:7"))
    *sections, feedback = chat["blocks"]
    assert len(sections) == 3 and all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert [(e["action_id"], e["value"]) for e in feedback["elements"]] == [
        ("feedback.up", "turn:7"), ("feedback.down", "turn:7")]
    assert chat["text"].startswith("*Hi*")
    blocks = [{"type": "divider"}]
    assert message_payloads(Reply(text="n", native={"blocks": blocks}))[0]["blocks"] is blocks


@pytest.mark.parametrize("text", [
    "\n\n".join("x" + " " * 1200 for _ in range(200)),  # cuts never far into a section
    "\n\n".join("z" * 999 for _ in range(200)),
    "y" * 130_000,  # one word: nowhere to cut but anywhere
    "```py\n" + "\n".join(f"line {n}" for n in range(20_000)) + "\n```",  # fences reopened
], ids=["spaces", "paragraphs", "one-word", "code"])
def test_a_long_reply_is_messages_slack_takes_whole(text: str) -> None:
    """However the text is cut: each message within Slack's limits (40,000 characters of text,
    50 blocks, sections of 3,000), nothing dropped, the buttons on the last."""
    payloads = message_payloads(Reply(text=text, reply_id="turn:9"))
    assert len(payloads) > 1
    for payload in payloads:
        assert len(payload["text"]) <= 40_000
        blocks = payload.get("blocks") or []
        assert len(blocks) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert [("blocks" in p) for p in payloads] == [False] * (len(payloads) - 1) + [True]
    assert payloads[-1]["blocks"][-1]["block_id"] == "tailorbot.feedback"
    fences = {"```", "```py"}
    said = [w for p in payloads for w in p["text"].split() if w not in fences]
    assert "".join(said) == "".join(w for w in text.split() if w not in fences)


def test_manifest_commands_follow_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handler(ctx, args):  # pragma: no cover - never called
        return []

    for name in ("digest", "recommend", "status"):
        monkeypatch.setitem(REGISTRY, name, CommandSpec(name, f"{name} things", [f"/{name}"],
                                                        handler))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    commands = [c["command"] for c in slack_manifest.build_manifest(settings)["features"][
        "slash_commands"]]
    assert commands[0] == "/tailorbot"
    assert {"/prefs", "/profile", "/consent", "/export", "/forget", "/digest",
            "/recommend"} <= set(commands)
    assert "/status" not in commands  # reserved by Slack: reachable as /tailorbot status
    assert "/help" not in commands  # too generic: /tailorbot help
    assert commands[1:] == slack_manifest.native_commands(settings)
