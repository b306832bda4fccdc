"""The App Home tab: a person's profile, preferences (with where each came from), consent,
digest settings and export/forget buttons, published with ``views.publish``.

Published when the person opens the tab (``app_home_opened``) and again whenever a command or
button changed something shown there (a feature's ``on_person_changed``), for people who
opened it since this process started. Buttons are the core's own action ids, so a press runs
the same command as typing it; answers arrive in the person's DM with the bot.
"""

from __future__ import annotations

from typing import Any

from adapters.slack.markup import escape
from bot.home import HomeView

# User-facing texts (module constants so they are easy to translate).
TITLE = "What I know about you"
UNKNOWN = "We haven't talked yet. Send me a message, or allow me to learn from you below."
INTERESTS = "*Interests I noticed* (strongest first; they fade when not mentioned)"
NO_INTERESTS = "No interests learned yet."
NOT_LEARNING = "I'm not learning from your messages, so I only know what you told me."
PREFERENCES = "*How I'll answer you* (change with `/prefs set <key> <value>`)"
CONSENT = {"granted": "*Consent:* you allowed me to learn from your messages.",
           "revoked": "*Consent:* you revoked it; I learn nothing.",
           "unknown": "*Consent:* not given yet; I learn nothing."}
DIGEST = "*Digest:* {value} ({source}) — `/digest subscribe daily 08:00` or `/digest unsubscribe`"
ADMIN = "*Workspace (admins only)* — `/admin exclude` in a channel stops learning there"
ALLOW, REVOKE, EXPORT, FORGET = "Allow learning", "Stop learning", "Export my data", "Forget me"
SOURCE_WORDS = {"explicit": "you set it", "platform": "from Slack", "inferred": "learned",
                "default": "default"}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _button(action_id: str, label: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id,
                              "text": {"type": "plain_text", "text": label}}
    if style:
        button["style"] = style
    return button


def home_view(view: HomeView) -> dict[str, Any]:
    """The ``views.publish`` payload for one person."""
    blocks: list[dict[str, Any]] = [{"type": "header",
                                     "text": {"type": "plain_text", "text": TITLE}}]
    if not view.known:
        blocks.append(_section(UNKNOWN))
    else:
        blocks.append(_section(INTERESTS))
        if view.interests:
            lines = [f"• {escape(topic)} ({weight:.2f})" for topic, weight in view.interests]
            blocks.append(_section("\n".join(lines)))
        else:
            blocks.append(_section(NO_INTERESTS if view.learning else NOT_LEARNING))
        blocks.append({"type": "divider"})
        blocks.append(_section(PREFERENCES))
        blocks.append(_section("\n".join(
            f"• {key}: {escape(value)} _({SOURCE_WORDS.get(source, source)})_"
            for key, value, source in view.preferences)))
        value, source = view.digest
        blocks.append(_section(DIGEST.format(value=escape(value),
                                             source=SOURCE_WORDS.get(source, source))))
    blocks.append({"type": "divider"})
    blocks.append(_section(CONSENT.get(view.consent, CONSENT["unknown"])))
    consent = (_button("consent.revoke", REVOKE) if view.learning
               else _button("consent.grant", ALLOW, "primary"))
    blocks.append({"type": "actions", "block_id": "tailorbot.home", "elements": [
        consent, _button("export.run", EXPORT), _button("forget.ask", FORGET, "danger"),
    ]})
    if view.admin_status is not None:
        blocks.append({"type": "divider"})
        blocks.append(_section(ADMIN))
        blocks.append(_section(escape(view.admin_status)))
    return {"type": "home", "blocks": blocks[:100]}
