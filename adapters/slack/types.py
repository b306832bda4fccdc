"""The Slack payloads the adapter reads, as TypedDicts (like discord.py's ``discord/types/``).

Why: the adapter used to take ``dict[str, Any]`` everywhere, so a misspelt key or a field
Slack does not send was found only at run time. These types name exactly the fields the
adapter reads (``total=False``: Slack omits many of them depending on the event), so mypy
checks every access. They describe what Slack sends; they validate nothing at run time.

References: Events API (``message``, ``app_mention``, ``reaction_added``/``_removed``,
``user_change``, ``app_home_opened``, ``tokens_revoked``), slash commands, and Block Kit
``block_actions`` interactions.
"""

from __future__ import annotations

from typing import Any, TypedDict


class TeamRef(TypedDict, total=False):
    id: str
    domain: str


class MessageEventPayload(TypedDict, total=False):
    """A ``message``, ``app_mention`` or assistant-thread message event."""

    type: str
    subtype: str
    channel: str
    channel_type: str  # im, mpim, channel, group
    user: str
    text: str
    ts: str
    event_ts: str
    thread_ts: str
    bot_id: str
    bot_profile: dict[str, object]
    hidden: bool
    team: str
    user_team: str


class ReactionItem(TypedDict, total=False):
    type: str  # "message" for reactions to messages
    channel: str
    ts: str


class ReactionEventPayload(TypedDict, total=False):
    """``reaction_added`` / ``reaction_removed``."""

    type: str
    user: str
    reaction: str
    item: ReactionItem
    item_user: str
    event_ts: str


class SlackUserPayload(TypedDict, total=False):
    """The ``user`` object of ``user_change``."""

    id: str
    team_id: str
    name: str
    deleted: bool


class UserChangeEventPayload(TypedDict, total=False):
    type: str
    user: SlackUserPayload


class HomeOpenedEventPayload(TypedDict, total=False):
    type: str
    user: str
    tab: str  # "home" or "messages"


class RevokedTokens(TypedDict, total=False):
    oauth: list[str]
    bot: list[str]


class TokensRevokedEventPayload(TypedDict, total=False):
    type: str
    tokens: RevokedTokens


class EventEnvelope(TypedDict, total=False):
    """The body around every Events API / Socket Mode event."""

    type: str
    team_id: str
    api_app_id: str
    event_id: str
    event_time: int
    event: dict[str, object]  # one of the *EventPayload types above, by its ``type``


class SlashCommandPayload(TypedDict, total=False):
    command: str
    text: str
    team_id: str
    channel_id: str
    channel_name: str
    user_id: str
    user_name: str
    trigger_id: str
    response_url: str


class ActionUser(TypedDict, total=False):
    id: str
    name: str
    team_id: str


class ActionChannel(TypedDict, total=False):
    id: str
    name: str


class ActionContainer(TypedDict, total=False):
    type: str
    channel_id: str
    message_ts: str
    thread_ts: str
    is_ephemeral: bool


class ActionMessage(TypedDict, total=False):
    ts: str
    thread_ts: str
    text: str
    blocks: list[dict[str, Any]]


class SelectedOption(TypedDict, total=False):
    """A chosen option of a menu or checkboxes (only its ``value`` is read)."""

    value: str


class BlockAction(TypedDict, total=False):
    """One pressed element of a ``block_actions`` interaction: a button (``value``), a menu
    (``selected_option``) or checkboxes (``selected_options``)."""

    action_id: str
    block_id: str
    value: str
    action_ts: str
    type: str
    selected_option: SelectedOption
    selected_options: list[SelectedOption]


class BlockActionsPayload(TypedDict, total=False):
    """The body of a Block Kit button press."""

    type: str
    team: TeamRef
    user: ActionUser
    channel: ActionChannel
    container: ActionContainer
    message: ActionMessage
    actions: list[BlockAction]
    trigger_id: str
    response_url: str
