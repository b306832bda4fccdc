"""Slack payloads → neutral core events (and the :class:`Origin` needed to answer them).

Pure functions only: no I/O, so every rule about which Slack message reaches the core is
visible and testable in one place. Text arrives here already normalised (see ``markup``);
the adapter resolves mention names and the sender's profile first, because those need API
calls.

Identity: ``PersonRef(platform="slack", workspace=<team id>, user_id=<user id>)`` where the team
is the workspace the interaction happened in, the same for events, commands and buttons, so a
person's DMs, slash commands and button presses land on one profile.

Dedupe ids (the core drops an event whose id it has seen): Events API and Socket Mode
envelopes carry Slack's ``event_id``, identical on every retry (``X-Slack-Retry-Num``); slash
commands use their ``trigger_id`` (unique per invocation; Slack does not retry commands);
buttons use the press's ``action_ts`` plus the presser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.markup import emojize
from adapters.slack.types import (
    BlockAction,
    BlockActionsPayload,
    EventEnvelope,
    MessageEventPayload,
    ReactionEventPayload,
    SlashCommandPayload,
)
from bot.events import (
    ActionEvent,
    CommandEvent,
    MessageEvent,
    PersonRef,
    PlatformContext,
    ReactionEvent,
    Surface,
    utcnow,
)

PLATFORM = "slack"

# Message subtypes that are a person saying something: plain messages, a message with a file,
# a thread reply also sent to the channel, and /me.
ACCEPTED_SUBTYPES: frozenset[str | None] = frozenset(
    {None, "file_share", "thread_broadcast", "me_message"}
)

# Subtypes ignored on purpose, with the reason (also used in logs and docs/slack.md):
IGNORED_SUBTYPES: dict[str, str] = {
    "bot_message": "written by a bot or integration: answering bots risks loops and it is "
    "not a person's signal",
    "message_changed": "an edit: the original was already answered and learned from; "
    "processing it again would double-count and answer twice",
    "message_deleted": "a deletion notice, not something said; what was learned stays until "
    "/forget (the core has no per-message retraction)",
    "channel_join": "a system notice that someone joined",
    "channel_leave": "a system notice that someone left",
    "group_join": "a system notice that someone joined",
    "group_leave": "a system notice that someone left",
    "message_replied": "a legacy thread bookkeeping notice",
}


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is in this workspace (from ``auth.test``, via Bolt's context)."""

    user_id: str | None
    bot_id: str | None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an event came from, i.e. everything delivery needs to answer it in place.

    ``thread_ts`` is the thread the triggering message sits in (None at top level);
    ``response_url`` exists for slash commands and buttons and is the only way to reach a
    person privately in a channel the bot is not a member of; ``ephemeral_container`` says the
    pressed button sat on an ephemeral message, which can only be replaced via that URL."""

    team_id: str
    user_id: str
    channel_id: str | None
    thread_ts: str | None = None
    response_url: str | None = None
    ephemeral_container: bool = False
    from_command: bool = False
    is_dm: bool = False


def slack_time(ts: str | None) -> dt.datetime:
    """Slack ``ts`` ("1712345678.000200") → aware UTC datetime; now when absent or odd."""
    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC) if ts else utcnow()
    except (TypeError, ValueError, OverflowError):
        return utcnow()


def team_of(body: Mapping[str, Any]) -> str:
    """Workspace id from any payload shape (events, commands, block actions)."""
    team = body.get("team_id") or body.get("team")
    if isinstance(team, dict):
        team = team.get("id")
    if not team and isinstance(body.get("user"), dict):
        team = body["user"].get("team_id")
    if not team and isinstance(body.get("event"), dict):
        team = body["event"].get("team") or body["event"].get("user_team")
    return str(team or "")


def person(team_id: str, user_id: str, name: str | None = None) -> PersonRef:
    return PersonRef(platform=PLATFORM, workspace=team_id, user_id=user_id, display_name=name)


def is_dm_channel(event: MessageEventPayload) -> bool:
    """``channel_type`` when present (message events); else Slack's id prefix (D = DM), which
    is what ``app_mention`` and ``reaction_*`` payloads offer."""
    channel_type = event.get("channel_type")
    if channel_type:
        return bool(channel_type == "im")
    return str(event.get("channel", "")).startswith("D")


def is_private(channel_type: str | None) -> bool:
    """Slack ``channel_type``: ``channel`` is public; ``group`` (private channel), ``mpim``,
    ``im`` and unknown are treated as private."""
    return channel_type != "channel"


def thread_of(event: MessageEventPayload) -> str | None:
    """The thread a message is in; a thread's parent carries ``thread_ts == ts`` and is itself
    top level."""
    thread_ts = event.get("thread_ts")
    return thread_ts if thread_ts and thread_ts != event.get("ts") else None


def skip_reason(event: MessageEventPayload, bot: BotIdentity) -> str | None:
    """Why a ``message``/``app_mention`` event must not reach the core, or None to process.

    Bolt already drops the bot's own events; this repeats the check because a missed one
    would make the bot answer itself forever."""
    subtype = event.get("subtype")
    if subtype not in ACCEPTED_SUBTYPES:
        return IGNORED_SUBTYPES.get(str(subtype), f"subtype {subtype!r} is not a person's message")
    if event.get("bot_id") or event.get("bot_profile"):
        return IGNORED_SUBTYPES["bot_message"]
    user = event.get("user")
    if not user:
        return "no author"
    if bot.user_id and user == bot.user_id:
        return "the bot's own message"
    if event.get("hidden"):
        return "a hidden system message"
    if event.get("edited"):
        # Slack sends app_mention again, under a new event id, when a message mentioning the
        # bot is edited: it was answered and learned from when it was first written.
        return "an edit of a message already handled"
    return None


def message_event(
    body: EventEnvelope,
    event: MessageEventPayload,
    *,
    text: str,
    mentioned: bool,
    context: PlatformContext,
    display_name: str | None = None,
    private: bool = False,
    mentioned_names: tuple[str, ...] = (),
) -> MessageEvent:
    """Any message a person wrote where the bot can read it. ``mentioned`` means addressed to
    the bot (an @mention, or a follow-up in a thread the person started with it): the core
    answers DMs and addressed messages and silently learns from the rest (with consent).
    DMs stay DMs even inside a thread (an assistant thread is a private conversation); in
    channels a threaded message is THREAD."""
    thread = thread_of(event)
    surface = Surface.DM if is_dm_channel(event) else Surface.THREAD if thread else Surface.CHANNEL
    channel = str(event.get("channel", ""))
    ts = event.get("ts")
    return MessageEvent(
        event_id=str(body.get("event_id") or f"msg:{channel}:{ts}"),
        person=person(team_of(body), str(event["user"]), display_name),
        channel_id=channel,
        occurred_at=slack_time(ts or event.get("event_ts")),
        context=context,
        text=text,
        surface=surface,
        message_id=ts,
        thread_id=thread,
        mentioned=mentioned,
        channel_private=private or is_dm_channel(event),
        mentioned_names=mentioned_names,
    )


def message_origin(body: EventEnvelope, event: MessageEventPayload) -> Origin:
    return Origin(
        team_id=team_of(body),
        user_id=str(event.get("user", "")),
        channel_id=event.get("channel"),
        thread_ts=thread_of(event),
        is_dm=is_dm_channel(event),
    )


def reaction_emoji(name: str) -> str:
    """Slack reaction name (``+1``, ``heart``, ``+1::skin-tone-3``) → unicode when it is a
    standard emoji, else ``:name:`` (custom emoji keep their code)."""
    code = f":{name}:"
    converted = emojize(code)
    return converted if converted != code else code


def reaction_event(
    body: EventEnvelope,
    event: ReactionEventPayload,
    *,
    added: bool,
    target_text: str | None,
    context: PlatformContext,
    target_author: str | None = None,
) -> ReactionEvent | None:
    """``reaction_added``/``reaction_removed`` on a message; None for files and other items.
    ``target_author``: who wrote ``target_text``, as the adapter kept it (Slack's
    ``item_user`` otherwise) — the core learns from a text only if its author allows it."""
    item = event.get("item") or {}
    if item.get("type") != "message" or not item.get("ts") or not event.get("user"):
        return None
    return ReactionEvent(
        event_id=str(body.get("event_id") or f"reaction:{event['user']}:{event.get('event_ts')}"),
        person=person(team_of(body), str(event["user"])),
        channel_id=str(item.get("channel", "")),
        occurred_at=slack_time(event.get("event_ts")),
        context=context,
        target_message_id=str(item["ts"]),
        emoji=reaction_emoji(str(event.get("reaction", ""))),
        added=added,
        target_author_id=target_author or event.get("item_user"),
        target_text=target_text,
    )


def command_surface(payload: SlashCommandPayload) -> Surface:
    channel_name = payload.get("channel_name")
    if channel_name == "directmessage" or str(payload.get("channel_id", "")).startswith("D"):
        return Surface.DM
    return Surface.CHANNEL


def command_event(
    payload: SlashCommandPayload,
    *,
    name: str,
    args: str,
    context: PlatformContext,
    display_name: str | None = None,
) -> CommandEvent:
    """A slash command. ``name``/``args`` come from the caller because ``/tailorbot prefs set``
    and ``/prefs set`` both arrive here."""
    trigger = payload.get("trigger_id") or f"{payload.get('user_id')}:{utcnow().timestamp()}"
    return CommandEvent(
        event_id=f"command:{trigger}",
        person=person(team_of(payload), str(payload["user_id"]), display_name),
        channel_id=str(payload.get("channel_id", "")),
        context=context,
        name=name,
        args=args,
        surface=command_surface(payload),
    )


def command_origin(payload: SlashCommandPayload) -> Origin:
    return Origin(
        team_id=team_of(payload),
        user_id=str(payload.get("user_id", "")),
        channel_id=payload.get("channel_id"),
        response_url=payload.get("response_url"),
        from_command=True,
        is_dm=command_surface(payload) == Surface.DM,
    )


def action_event(
    body: BlockActionsPayload, action: BlockAction, *, context: PlatformContext
) -> ActionEvent:
    """A Block Kit button press; ``action_id``/``value`` are the core's own button ids."""
    user = body.get("user") or {}
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    user_id = str(user.get("id", ""))
    return ActionEvent(
        event_id=f"action:{user_id}:{action.get('action_ts') or body.get('trigger_id')}",
        person=person(team_of(body), user_id, user.get("name")),
        channel_id=str(channel),
        occurred_at=slack_time(action.get("action_ts")),
        context=context,
        action_id=str(action.get("action_id", "")),
        value=action_value(action),
        target_message_id=container.get("message_ts"),
    )


def action_value(action: BlockAction) -> str:
    """A button's ``value``; a menu's chosen option; checkboxes' chosen options joined with
    commas (``none`` when all were cleared, so "nothing" is still a choice)."""
    if action.get("value"):
        return str(action["value"])
    if "selected_option" in action:
        return str(action["selected_option"].get("value") or "")
    if "selected_options" in action:
        chosen = [str(o.get("value")) for o in action["selected_options"] if o.get("value")]
        return ",".join(chosen) or "none"
    return ""


def action_origin(body: BlockActionsPayload) -> Origin:
    user = body.get("user") or {}
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return Origin(
        team_id=team_of(body),
        user_id=str(user.get("id", "")),
        channel_id=channel,
        thread_ts=message.get("thread_ts") or container.get("thread_ts"),
        response_url=body.get("response_url"),
        ephemeral_container=bool(container.get("is_ephemeral")),
        is_dm=str(channel or "").startswith("D"),
    )


def split_umbrella(text: str) -> tuple[str, str]:
    """``/tailorbot prefs set tone casual`` → ``("prefs", "set tone casual")``; empty → help."""
    name, _, rest = text.strip().partition(" ")
    name = name.strip().lstrip("/").lower()
    return (name or "help"), rest.strip()
