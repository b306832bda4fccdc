"""Neutral buttons → Discord components that keep working after a restart.

Every button is an :class:`ActionButton`, a ``discord.ui.DynamicItem``: its ``custom_id``
carries everything needed to answer a press — ``tb:<action_id>:<scope>:<value>`` — and the
client registers the class once (``add_dynamic_items``), so a press on a message sent by a
previous process (or another shard) is routed without any per-message state. Views are sent
with ``timeout=None`` and consist only of dynamic items, which discord.py does not keep in its
per-message view store: no memory grows with the number of replies.

``scope`` is the workspace the button was sent for (a guild id, ``dm``, or empty); see
:mod:`adapters.discord.translate` for why a DM can carry a guild scope.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import discord

from bot.events import Button, ButtonStyle

log = logging.getLogger(__name__)

PREFIX = "tb"
CUSTOM_ID_LIMIT = 100
TEMPLATE = re.compile(rf"{PREFIX}:(?P<action>[\w.-]+):(?P<scope>\d+|dm|):(?P<value>.*)", re.DOTALL)

_STYLES = {
    ButtonStyle.DEFAULT: discord.ButtonStyle.secondary,
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}
_EMOJI_LABELS = {"feedback.up": "👍", "feedback.down": "👎"}


def custom_id(action_id: str, value: str, scope: str) -> str:
    return f"{PREFIX}:{action_id}:{scope}:{value}"


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """A press becomes ``adapter.on_action(interaction, action_id, value, scope)``."""

    def __init__(
        self,
        action_id: str,
        value: str,
        scope: str,
        *,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        emoji: str | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=style, emoji=emoji, custom_id=custom_id(action_id, value, scope)
            )
        )
        self.action_id = action_id
        self.value = value
        self.scope = scope

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ActionButton:
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(
            match["action"], match["value"], match["scope"],
            label=button.label if button else None,
            style=button.style if button else discord.ButtonStyle.secondary,
            emoji=str(button.emoji) if button and button.emoji else None,
        )

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = getattr(interaction.client, "adapter", None)
        if adapter is None:  # a client that is not ours received the press
            log.warning("button %s pressed on a client without a tailorbot adapter", self.custom_id)
            return
        await adapter.on_action(interaction, self.action_id, self.value, self.scope)


def build_view(buttons: Sequence[Button], scope: str) -> discord.ui.View | None:
    """A persistent view of the neutral buttons (at most 25: Discord's limit per message)."""
    view = discord.ui.View(timeout=None)
    for button in buttons[:25]:
        if len(custom_id(button.action_id, button.value, scope)) > CUSTOM_ID_LIMIT:
            log.warning("button %s dropped: its custom_id would exceed 100 characters",
                        button.action_id)
            continue
        emoji = _EMOJI_LABELS.get(button.action_id) if not button.label else None
        view.add_item(ActionButton(
            button.action_id, button.value, scope,
            label=button.label or None,
            style=_STYLES.get(button.style, discord.ButtonStyle.secondary),
            emoji=emoji,
        ))
    return view if view.children else None
