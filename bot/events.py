"""Platform-neutral events and replies.

Adapters translate platform payloads into these types and render :class:`Reply` back into
native messages. Nothing in here knows about Slack or Discord; fields that a platform cannot
provide are simply left empty so the core degrades instead of guessing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def utcnow() -> dt.datetime:
    """Timezone-aware now; one helper so tests can reason about a single clock source."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class PersonRef:
    """Who sent an event. The triple (platform, workspace, user_id) is a person's identity:
    the same human in two workspaces is two people unless they link accounts on purpose."""

    platform: str
    workspace: str
    user_id: str
    display_name: str | None = None


class Surface(StrEnum):
    DM = "dm"
    CHANNEL = "channel"
    THREAD = "thread"


@dataclass(frozen=True, slots=True)
class PlatformContext:
    """What the platform itself knows about the person right now (all optional)."""

    timezone: str | None = None
    locale: str | None = None
    device: str | None = None
    activity: str | None = None
    # The platform's own role says this person administers the workspace/guild (Slack admin or
    # owner, Discord "Manage Server"); only then may they use /admin.
    admin: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Common envelope. ``event_id`` is the platform's own id, used to drop retries."""

    event_id: str
    person: PersonRef
    channel_id: str = ""
    occurred_at: dt.datetime = field(default_factory=utcnow)
    context: PlatformContext = field(default_factory=PlatformContext)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEvent(Event):
    """``mentioned`` means *addressed to the bot*: an @-mention, or a follow-up in a thread
    the bot takes part in. DMs are always addressed. Other channel messages are observed
    (with the author's consent) and never answered. ``channel_private`` marks private
    channels and group DMs, whose content never reaches people outside them.
    ``mentioned_names`` are the display names of people (and groups) the text mentions, as
    the adapter rendered them: the core removes them before learning, so nothing is learned
    about someone through another person's message."""

    text: str
    surface: Surface = Surface.DM
    message_id: str | None = None
    thread_id: str | None = None
    mentioned: bool = False
    channel_private: bool = False
    mentioned_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionEvent(Event):
    """A reaction added to or removed from ``target_message_id``."""

    target_message_id: str
    emoji: str
    added: bool = True
    target_author_id: str | None = None
    target_text: str | None = None
    # Display names the reacted-to text mentions, which must never become the reactor's
    # topics (as ``MessageEvent.mentioned_names``; "@Ada Lovelace" taught "lovelace")
    target_mentioned_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandEvent(Event):
    """A slash command such as ``/prefs set tone casual``; ``name`` has no leading slash."""

    name: str
    args: str = ""
    surface: Surface = Surface.DM


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionEvent(Event):
    """A button press or other structured interaction, e.g. ``consent.grant``."""

    action_id: str
    value: str = ""
    target_message_id: str | None = None


class Gone(StrEnum):
    """Who a :class:`DepartureEvent` says is gone."""

    PERSON = "person"  # one person of one workspace: left, removed, deactivated
    ACCOUNT = "account"  # one account, in every workspace of its platform
    WORKSPACE = "workspace"  # everyone of a workspace that removed the bot


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartureEvent(Event):
    """A platform's notice that someone is gone, whose erasure (``forget_on_leave``) met
    the database away: the core keeps it in the outage journal and erases them once the
    database answers (bot/lifecycle.py ``depart``). Adapters never build one; they call the
    core's ``forget_*``. ``person`` names who is gone: its ``user_id`` is empty for a
    workspace, its ``workspace`` for an account. Identifiers only, never words."""

    gone: Gone = Gone.PERSON

    @classmethod
    def of(
        cls, gone: Gone, platform: str, workspace: str = "", user_id: str = ""
    ) -> DepartureEvent:
        """One per who is gone (its ``event_id`` says who): a notice repeated while the first
        waits (a platform's retry, the next reconnect's check) is kept once."""
        return cls(
            event_id=f"departure:{gone.value}:{user_id}",
            person=PersonRef(platform, workspace, user_id),
            gone=gone,
        )


class ReplyKind(StrEnum):
    MESSAGE = "message"
    EPHEMERAL = "ephemeral"
    DM = "dm"
    EDIT = "edit"


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    """A neutral button; adapters render it as Block Kit or a Discord view component.
    Pressing it comes back as an :class:`ActionEvent` with the same ``action_id``/``value``."""

    action_id: str
    label: str
    value: str = ""
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(slots=True, kw_only=True)
class Reply:
    """What the core wants said. ``reply_id`` is set when the core stored the reply and wants
    to hear about reactions to it: adapters call ``Core.bind_reply`` with the platform id.

    ``attachment`` carries a named payload (``/export`` JSON) that adapters deliver as a file
    where the platform supports it. ``native`` is an escape hatch for platform UI (Block Kit,
    Discord views) that a caller builds itself; the core never fills it."""

    text: str
    kind: ReplyKind = ReplyKind.MESSAGE
    thread_id: str | None = None
    channel_id: str | None = None
    edit_of: str | None = None
    reply_id: str | None = None
    buttons: list[Button] = field(default_factory=list)
    attachment: tuple[str, bytes] | None = None
    native: dict[str, Any] | None = None
    purpose: str = "chat"
    # The language the text is in, so an adapter can word its own additions to match.
    locale: str | None = None


AnyEvent = MessageEvent | ReactionEvent | CommandEvent | ActionEvent
JournaledEvent = AnyEvent | DepartureEvent  # what the outage journal keeps (bot/journal.py)
