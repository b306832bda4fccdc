"""The App Home tab: a person's profile (lately / lasting interests), preferences (with where
each came from), consent, digest settings and export/forget buttons, published with
``views.publish``; for workspace admins also the workspace's counts, excluded channels and
defaults, with menus that change them.

Published when the person opens the tab (``app_home_opened``) and again whenever a command or
button changed something shown there (a feature's ``on_person_changed``), for people who
opened it since this process started. Buttons and menus are the core's own action ids, so a
press runs the same command as typing it (an admin's menu choice is ``/admin set …``); answers
arrive in the person's DM with the bot. Texts are in the person's language (bot/i18n.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.slack.markup import escape
from bot.effective_prefs import source_kind
from bot.home import HomeView
from bot.i18n import N_, nt, t
from bot.workspace_settings import DIGEST_SOURCES, RETENTION_KINDS, WorkspaceSettings

# User-facing texts (catalog texts; translated with the view's locale).
TITLE = N_("What I know about you")
UNKNOWN = N_("We haven't talked yet. Send me a message, or allow me to learn from you below.")
INTERESTS = N_("*Interests I noticed* (strongest first; they fade when not mentioned)")
LATELY = N_("*Lately:* {topics}")
NOTHING_LATELY = N_("nothing new recently")
LASTING = N_("*Lasting* (what you come back to over time): {topics}")
NO_INTERESTS = N_("No interests learned yet.")
NOT_LEARNING = N_("I'm not learning from your messages, so I only know what you told me.")
PREFERENCES = N_("*How I'll answer you* (change with `/prefs set <key> <value>`)")
CONSENT = {
    "granted": N_("*Consent:* you allowed me to learn from your messages."),
    "revoked": N_("*Consent:* you revoked it; I learn nothing."),
    "unknown": N_("*Consent:* not given yet; I learn nothing."),
}
DIGEST = N_(
    "*Digest:* {value} ({source}) — `/digest subscribe daily 08:00` or `/digest unsubscribe`"
)
ADMIN = N_("*Workspace (admins only)* — `/admin exclude` in a channel stops learning there")
ALLOW, REVOKE = N_("Allow learning"), N_("Stop learning")
EXPORT, FORGET = N_("Export my data"), N_("Forget me")
SOURCE_WORDS = {"explicit": N_("you set it"), "platform": N_("from Slack"),
                "inferred": N_("learned"), "default": N_("default"),
                "linked": N_("shared by your linked identity"),
                "experiment": N_("an experiment's default")}
CONSENT_MENU = N_("Consent mode")
ASK_FIRST, OPT_OUT = N_("Ask first (opt-in)"), N_("Learn unless refused (opt-out)")
DEPLOYMENT_DEFAULT = N_("Deployment default")
SOURCES_LABEL = N_("*Digest sources* (what digests in this workspace draw from)")
SOURCE_NAMES = {"channels": N_("Channel conversations"), "rss": N_("RSS/Atom feeds"),
                "recommendations": N_("Open recommendations")}
RETENTION_MENU = N_("Keep {kind}")
RETENTION_CHOICES = (7, 14, 30, 60, 90, 180, 365)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:75]}


def _button(action_id: str, label: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id,
                              "text": {"type": "plain_text", "text": label}}
    if style:
        button["style"] = style
    return button


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value}


def _select(action_id: str, placeholder: str, options: list[dict[str, Any]],
            initial: str | None) -> dict[str, Any]:
    menu: dict[str, Any] = {"type": "static_select", "action_id": action_id,
                            "placeholder": _plain(placeholder), "options": options}
    chosen = [o for o in options if o["value"] == initial]
    if chosen:
        menu["initial_option"] = chosen[0]
    return menu


def home_view(view: HomeView) -> dict[str, Any]:
    """The ``views.publish`` payload for one person."""
    loc = view.locale

    def tr(text: str, **values: object) -> str:
        return t(text, loc, **values)

    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(tr(TITLE))}]
    if not view.known:
        blocks.append(_section(tr(UNKNOWN)))
    else:
        blocks.append(_section(tr(INTERESTS)))
        if view.interests:
            lines = [f"• {escape(topic)} ({weight:.2f})" for topic, weight in view.interests]
            blocks.append(_section("\n".join(lines)))
            lately = ", ".join(escape(topic) for topic in view.lately)
            parts = [tr(LATELY, topics=lately or tr(NOTHING_LATELY))]
            if view.lasting:
                parts.append(tr(LASTING, topics=", ".join(escape(x) for x in view.lasting)))
            blocks.append(_section("\n".join(parts)))
        else:
            blocks.append(_section(tr(NO_INTERESTS) if view.learning else tr(NOT_LEARNING)))
        blocks.append({"type": "divider"})
        blocks.append(_section(tr(PREFERENCES)))
        blocks.append(_section("\n".join(
            f"• {key}: {escape(value)} _({tr(_source_words(source))})_"
            for key, value, source in view.preferences)))
        value, source = view.digest
        blocks.append(_section(tr(DIGEST, value=escape(value),
                                  source=tr(_source_words(source)))))
    blocks.append({"type": "divider"})
    blocks.append(_section(tr(CONSENT.get(view.consent, CONSENT["unknown"]))))
    consent = (_button("consent.revoke", tr(REVOKE)) if view.learning
               else _button("consent.grant", tr(ALLOW), "primary"))
    blocks.append({"type": "actions", "block_id": "tailorbot.home", "elements": [
        consent, _button("export.run", tr(EXPORT)), _button("forget.ask", tr(FORGET), "danger"),
    ]})
    if view.admin_status is not None:
        blocks.append({"type": "divider"})
        blocks.append(_section(tr(ADMIN)))
        blocks.append(_section(escape(view.admin_status)))
        if view.admin_defaults is not None:
            blocks.append(_section(escape(view.admin_defaults)))
        if view.workspace is not None:
            blocks.extend(admin_controls(view.workspace, tr, loc))
    return {"type": "home", "blocks": blocks[:100]}


def admin_controls(
    workspace: WorkspaceSettings, tr: Callable[..., str], locale: str
) -> list[dict[str, Any]]:
    """Menus for the workspace defaults; each choice runs ``/admin set …`` (or ``reset``
    for "deployment default"), so the core checks, applies and audits it like a command."""
    default = _option(tr(DEPLOYMENT_DEFAULT), "default")
    consent = _select(
        "admin.consent", tr(CONSENT_MENU),
        [_option(tr(ASK_FIRST), "opt_in"), _option(tr(OPT_OUT), "opt_out"), default],
        workspace.consent_mode if workspace.consent_chosen else "default",
    )
    retention = [
        _select(
            f"admin.retention.{kind}", tr(RETENTION_MENU, kind=kind),
            [_option(tr(RETENTION_MENU, kind=kind) + ": "
                     + nt("{n} day", "{n} days", n, locale), str(n))
             for n in RETENTION_CHOICES
             if not workspace.retention_limits[kind] or n <= workspace.retention_limits[kind]]
            + [default],
            str(days) if kind in workspace.retention_chosen else "default",
        )
        for kind, days in workspace.retention.items()
    ]
    sources = [_option(tr(SOURCE_NAMES[name]), name) for name in DIGEST_SOURCES]
    checkboxes: dict[str, Any] = {"type": "checkboxes", "action_id": "admin.digest_sources",
                                  "options": sources}
    initial = [o for o in sources if o["value"] in workspace.digest_sources]
    if initial:
        checkboxes["initial_options"] = initial
    assert len(RETENTION_KINDS) + 1 <= 25  # Slack's limit of elements in one actions block
    return [
        {"type": "actions", "block_id": "tailorbot.admin", "elements": [consent, *retention]},
        _section(tr(SOURCES_LABEL)),
        {"type": "actions", "block_id": "tailorbot.admin.sources", "elements": [checkboxes]},
    ]


def _source_words(source: str) -> str:
    return SOURCE_WORDS.get(source_kind(source), source)
