"""The OAuth2 invite: exactly the scopes and permissions the adapter uses, nothing more.

Scopes: ``bot`` (join the server, receive its events) and ``applications.commands`` (the
slash commands). Permissions, each for a reason in the code:

* ``view_channel`` — see the channels it is mentioned in;
* ``send_messages`` / ``send_messages_in_threads`` — answer, in channels and threads
  (the typing indicator needs no more than that);
* ``read_message_history`` — reply *to* a message (Discord requires it for message
  references) and read the message a reaction was added to when it is not cached;
* ``embed_links`` — ``Reply.native`` embeds built by callers;
* ``attach_files`` — files attached to replies (``Reply.attachment``).

Interaction responses (slash commands, buttons, ephemeral answers) and DMs need no guild
permission. The bot never adds reactions, manages messages or creates threads, so it does
not ask to.
"""

from __future__ import annotations

import base64
import binascii

import discord

SCOPES = ("bot", "applications.commands")


def required_permissions() -> discord.Permissions:
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        read_message_history=True,
        embed_links=True,
        attach_files=True,
    )


def client_id_from_token(token: str) -> int:
    """A bot token's first segment is the bot user's id (= the application's client id),
    base64-encoded without padding."""
    first = token.strip().split(".", 1)[0]
    if first.lower().startswith("bot "):
        first = first[4:]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=False).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("this does not look like a Discord bot token") from exc
    if not decoded.isdigit():
        raise ValueError("this does not look like a Discord bot token")
    return int(decoded)


def invite_url(client_id: int) -> str:
    return discord.utils.oauth_url(
        client_id, permissions=required_permissions(), scopes=SCOPES
    )
