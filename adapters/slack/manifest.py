"""The Slack app manifest, built from the same constants the adapter registers listeners with,
so the scopes, events and commands a new user pastes are exactly what the code uses.

Commands: one Slack command per core command (``/prefs``, ``/profile``, ``/consent``,
``/export``, ``/forget`` and every other registered one, e.g. ``/digest`` and ``/recommend``),
as the issue asks, plus one umbrella command named after the bot (``/tailorbot <command>
[args]``). Their names and texts come from ``bot.command_catalog``, plain data kept equal to
the registry by a test, so printing the manifest loads neither the handlers nor the ORM.
The umbrella exists because Slack command names are a workspace-wide namespace: a name Slack
reserves (``/status``, ``/remind``...) or that another app already uses still has a way in,
and so does ``/help``, which is deliberately not registered on its own (too generic: it would
shadow or be shadowed by other apps).
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.command_catalog import CATALOG
from bot.config import Settings

# Bot scopes, each with the code that needs it (kept in docs/slack.md too).
SCOPES: dict[str, str] = {
    "app_mentions:read": "app_mention events: @mentions in channels",
    "assistant:write": "assistant threads: status while thinking, suggested prompts",
    "channels:history": "message.channels (thread follow-ups) and conversations.replies",
    "chat:write": "post, update and stream answers; ephemeral replies",
    "commands": "slash commands",
    "files:write": "/export as a file in the person's DM (files_upload_v2)",
    "groups:history": "message.groups (thread follow-ups in private channels)",
    "im:history": "message.im: direct messages to the bot",
    "im:write": "conversations.open to DM a person (/export)",
    "reactions:read": "reaction_added / reaction_removed (feedback and interest signals)",
    "users:read": "users.info (timezone, locale, names) and user_change events",
}

# Bot events the adapter has listeners for.
BOT_EVENTS: tuple[str, ...] = (
    "app_home_opened",
    "app_mention",
    "app_uninstalled",
    "assistant_thread_started",
    "message.channels",
    "message.groups",
    "message.im",
    "reaction_added",
    "reaction_removed",
    "tokens_revoked",
    "user_change",
)

# Built-in Slack commands that an app cannot register (Slack rejects the manifest).
RESERVED_COMMANDS: frozenset[str] = frozenset({
    "active", "away", "call", "collapse", "dm", "dnd", "expand", "feed", "feedback", "invite",
    "join", "leave", "me", "msg", "mute", "open", "pro", "remind", "remove", "rename", "search",
    "shortcuts", "shrug", "star", "status", "topic", "who",
})
# Core commands reachable only through the umbrella command (see the module docstring).
UMBRELLA_ONLY: frozenset[str] = frozenset({"help"})
MAX_COMMANDS = 50  # Slack's limit per app
_INVALID = re.compile(r"[^a-z0-9_-]")

SUGGESTED_PROMPTS: tuple[dict[str, str], ...] = (
    {"title": "What can you do?",
     "message": "What can you do, and what do you remember about me?"},
    {"title": "Recommend something",
     "message": "Based on what you know about me, what should I read or try next?"},
    {"title": "Talk about my interests",
     "message": "Let's talk about something I'm interested in."},
)
ASSISTANT_DESCRIPTION = (
    "A chat assistant that adapts to you: it learns your interests and style (only with your "
    "consent) and shows, exports or forgets what it knows whenever you ask."
)


def slug(name: str) -> str:
    """A valid Slack command / bot name part: lowercase a-z, 0-9, - and _, 32 characters."""
    return _INVALID.sub("", name.lower().replace(" ", "-")).strip("-_")[:32]


def umbrella_command(settings: Settings) -> str:
    return "/" + (slug(settings.bot_name) or "tailorbot")


def native_commands(settings: Settings) -> list[str]:
    """``/name`` for every registered core command Slack will accept, sorted, within Slack's
    limit (one slot is the umbrella command)."""
    umbrella = umbrella_command(settings)
    names = []
    for name in sorted(CATALOG):
        clean = slug(name)
        if not clean or clean != name or name in RESERVED_COMMANDS or name in UMBRELLA_ONLY:
            continue
        if f"/{clean}" == umbrella:
            continue
        names.append(f"/{clean}")
    return names[: MAX_COMMANDS - 1]


def slash_commands(settings: Settings) -> list[dict[str, Any]]:
    """Manifest entries for every command the adapter registers."""
    umbrella = umbrella_command(settings)
    entries: list[dict[str, Any]] = [{
        "command": umbrella,
        "description": f"Talk to {settings.bot_name}: any of its commands, e.g. prefs, help",
        "usage_hint": "<command> [arguments] (try: help)",
        "should_escape": False,
    }]
    for command in native_commands(settings):
        spec = CATALOG[command[1:]]
        variants = [u.removeprefix(command).strip() for u in spec.usage]
        options = [v for v in variants if v]
        entry: dict[str, Any] = {"command": command, "description": spec.summary[:100]}
        if options:  # Slack's schema refuses an empty usage_hint: leave it out instead
            entry["usage_hint"] = f"[{' | '.join(options)}]"[:1000]
        # /admin names channels: escaped, a picked #channel arrives as <#C123|name> (an id),
        # not as a bare name. Other commands take free text that must stay as typed.
        entry["should_escape"] = command == "/admin"
        entries.append(entry)
    return entries


def build_manifest(settings: Settings, *, request_url: str | None = None) -> dict[str, Any]:
    """The app manifest. Without ``request_url`` the app uses Socket Mode (no public URL);
    with it (``https://host/slack/events``) events, commands and buttons are sent there."""
    name = settings.bot_name[:35] or "tailorbot"
    commands = slash_commands(settings)
    if request_url:
        for command in commands:
            command["url"] = request_url
    event_subscriptions: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url:
        event_subscriptions["request_url"] = request_url
        interactivity["request_url"] = request_url
    oauth_config: dict[str, Any] = {"scopes": {"bot": sorted(SCOPES)}}
    redirect = settings.slack_redirect_uri or (
        request_url.removesuffix("/slack/events") + "/slack/oauth_redirect"
        if request_url and settings.slack_client_id else None
    )
    if redirect:  # distribution: where Slack sends the browser back after "Add to Slack"
        oauth_config = {"redirect_urls": [redirect], **oauth_config}
    return {
        "_metadata": {"major_version": 2, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "A chat bot that remembers you and adapts to you, with your consent.",
            "background_color": "#2c2d30",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": slug(name) or "tailorbot", "always_online": True},
            "assistant_view": {
                "assistant_description": ASSISTANT_DESCRIPTION,
                "suggested_prompts": [],
            },
            "slash_commands": commands,
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": request_url is None,
            "token_rotation_enabled": False,
        },
    }


def render(manifest: dict[str, Any]) -> str:
    """JSON: Slack's "create from manifest" dialog accepts JSON and YAML alike, and JSON needs
    no extra dependency."""
    return json.dumps(manifest, indent=2, ensure_ascii=False)
