"""Workspace defaults: what a workspace's admins may choose for their own workspace, and how
each choice combines with the deployment's settings.

Why these rules: the operator's settings are a promise to everyone on the deployment, so an
admin may make them stricter for their workspace, never looser — retention only shorter, and
consent only "ask first" unless the operator allowed admins to choose opt-out
(``workspace_opt_out_allowed``). Digest sources are a choice among the sources the deployment
runs. Values are stored as text in ``workspace_default`` (profiles/workspace_defaults.py) and
read where the behaviour happens: the consent gate (``ProfileEngine.opt_out_in``), the digest
builder (``digest_sources_of``) and the retention purge (:func:`retention_policy_for`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.config import Settings
from bot.i18n import N_, nt, t
from bot.retention import (
    MAX_RETENTION_DAYS,
    RETENTION_PREFIX,
    days_in,
    policy_of,
    retention_policy_for,
)
from profiles.workspace_defaults import CONSENT_KEY, OPT_IN, OPT_OUT

DIGEST_SOURCES_KEY = "digest_sources"
# The built-in digest sources, by the name their class gives (bot/digest/sources.py).
DIGEST_SOURCES = ("channels", "rss", "recommendations")
# Command word → RetentionPolicy field.
RETENTION_KINDS: dict[str, str] = {
    "conversations": "conversation_days",
    "signals": "signal_evidence_days",
    "excerpts": "channel_excerpt_days",
    "digest-items": "digest_item_days",
    "model-calls": "model_call_days",
}
# What an admin types → the stored key.
SETTINGS = ("consent", "digest-sources", "retention")
CONSENT_WORDS = {"opt_in": OPT_IN, "opt-in": OPT_IN, "ask": OPT_IN,
                 "opt_out": OPT_OUT, "opt-out": OPT_OUT}

USAGE_SET = N_(
    "Usage: /admin set consent opt_in|opt_out · /admin set digest-sources "
    "all|none|channels rss recommendations · /admin set retention <kind> <days> "
    "(kinds: {kinds})"
)
OPT_OUT_REFUSED = N_(
    "This deployment asks everyone before learning; only its operator can let workspaces "
    "choose opt-out (setting workspace_opt_out_allowed)."
)
UNKNOWN_SOURCE = N_("I don't know the digest source {name}. Sources: {sources}, all or none.")
BAD_DAYS = N_("Retention is a whole number of days, at least 1: {value} is not.")
LONGER_REFUSED = N_(
    "The deployment keeps {kind} for {limit} days at most; a workspace may choose fewer "
    "days, not more."
)


class InvalidDefault(ValueError):
    """A default an admin may not set; ``message`` is a catalog text with ``values``."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values


def retention_key(kind: str) -> str:
    return RETENTION_PREFIX + RETENTION_KINDS[kind]


def typed_setting(key: str) -> str:
    """A stored key as an admin types it (``retention.signal_evidence_days`` → ``retention
    signals``), for the audit log: it showed the stored names (input audit)."""
    if key == CONSENT_KEY:
        return "consent"
    if key == DIGEST_SOURCES_KEY:
        return "digest-sources"
    for kind, field_name in RETENTION_KINDS.items():
        if key == RETENTION_PREFIX + field_name:
            return f"retention {kind}"
    return key


def typed_value(key: str, value: str) -> str:
    """A stored value as an admin types it (an empty digest-sources list is ``none``)."""
    return "none" if key == DIGEST_SOURCES_KEY and not value else value


def digest_sources_of(stored: str | None) -> frozenset[str] | None:
    """The source names a workspace chose; None: every source the deployment runs."""
    if stored is None:
        return None
    return frozenset(name for name in stored.split(",") if name)


def parse_default(settings: Settings, args: Sequence[str]) -> tuple[str, str]:
    """``["retention", "conversations", "30"]`` → (stored key, stored value), checked against
    the deployment's settings; raises :class:`InvalidDefault`."""
    usage = InvalidDefault(USAGE_SET, kinds=", ".join(RETENTION_KINDS))
    if not args:
        raise usage
    what, rest = args[0].lower(), [a.lower() for a in args[1:]]
    if what == "consent" and len(rest) == 1 and rest[0] in CONSENT_WORDS:
        mode = CONSENT_WORDS[rest[0]]
        if (mode == OPT_OUT and settings.consent_mode == "opt_in"
                and not settings.workspace_opt_out_allowed):
            raise InvalidDefault(OPT_OUT_REFUSED)
        return CONSENT_KEY, mode
    if what == "digest-sources" and rest:
        names = [n for word in rest for n in word.split(",") if n]
        if names == ["all"]:
            names = list(DIGEST_SOURCES)
        elif names == ["none"]:
            names = []
        for name in names:
            if name not in DIGEST_SOURCES:
                raise InvalidDefault(UNKNOWN_SOURCE, name=name, sources=", ".join(DIGEST_SOURCES))
        return DIGEST_SOURCES_KEY, ",".join(n for n in DIGEST_SOURCES if n in names)
    if what == "retention" and len(rest) == 2 and rest[0] in RETENTION_KINDS:
        kind, raw = rest
        days = days_in(raw)
        if days < 1:
            raise InvalidDefault(BAD_DAYS, value=raw[:12])
        # A deployment keeping a kind for ever (0) still bounds a workspace's number: a
        # million days is before year 1, and every purge failed on it.
        limit = getattr(policy_of(settings), RETENTION_KINDS[kind]) or MAX_RETENTION_DAYS
        if days > limit:
            raise InvalidDefault(LONGER_REFUSED, kind=kind, limit=limit)
        return retention_key(kind), str(days)
    raise usage


def reset_keys(args: Sequence[str]) -> list[str]:
    """``["retention"]`` → every retention key; ``["retention", "signals"]`` → one."""
    usage = InvalidDefault(USAGE_SET, kinds=", ".join(RETENTION_KINDS))
    if not args:
        raise usage
    what = args[0].lower()
    if what == "consent":
        return [CONSENT_KEY]
    if what == "digest-sources":
        return [DIGEST_SOURCES_KEY]
    if what == "retention":
        if len(args) == 1:
            return [retention_key(kind) for kind in RETENTION_KINDS]
        if args[1].lower() in RETENTION_KINDS:
            return [retention_key(args[1].lower())]
    raise usage


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    """The effective defaults of one workspace and, for each, whether the workspace chose
    it (True) or it is the deployment's (False)."""

    consent_mode: str
    consent_chosen: bool
    digest_sources: tuple[str, ...]
    digest_sources_chosen: bool
    retention: dict[str, int]  # command word → days (0: kept for ever)
    retention_chosen: frozenset[str]
    retention_limits: dict[str, int]  # the deployment's (0: no limit); a workspace may go lower


def effective(settings: Settings, stored: Mapping[str, str]) -> WorkspaceSettings:
    mode = stored.get(CONSENT_KEY)
    if mode == OPT_OUT and settings.consent_mode == "opt_in" and not (
            settings.workspace_opt_out_allowed):
        mode = None  # no longer allowed: the deployment's mode applies
    sources = digest_sources_of(stored.get(DIGEST_SOURCES_KEY))
    policy, base = retention_policy_for(settings, stored), policy_of(settings)
    return WorkspaceSettings(
        consent_mode=mode or settings.consent_mode,
        consent_chosen=mode is not None,
        digest_sources=tuple(n for n in DIGEST_SOURCES if sources is None or n in sources),
        digest_sources_chosen=sources is not None,
        retention={kind: getattr(policy, field) for kind, field in RETENTION_KINDS.items()},
        retention_chosen=frozenset(
            kind for kind, field in RETENTION_KINDS.items()
            if getattr(policy, field) != getattr(base, field)
        ),
        retention_limits={kind: getattr(base, field) for kind, field in RETENTION_KINDS.items()},
    )


CONSENT_MODES = {OPT_IN: N_("ask first (opt-in)"), OPT_OUT: N_("learn unless refused (opt-out)")}
CHOSEN = N_("set for this workspace")
DEPLOYMENT = N_("deployment default")
FOREVER = N_("for ever")
DEFAULTS_TITLE = N_("Workspace defaults (change with /admin set, undo with /admin reset):")
CONSENT_LINE = N_("• consent: {mode} ({source})")
SOURCES_LINE = N_("• digest sources: {sources} ({source})")
NO_SOURCES = N_("none")
RETENTION_LINE = N_("• retention of {kind}: {days} ({source})")


def describe(view: WorkspaceSettings, locale: str | None) -> str:
    """The defaults in plain words, for /admin defaults and the Slack Home tab."""

    def source(chosen: bool) -> str:
        return t(CHOSEN if chosen else DEPLOYMENT, locale)

    lines = [
        t(DEFAULTS_TITLE, locale),
        t(CONSENT_LINE, locale, mode=t(CONSENT_MODES[view.consent_mode], locale),
          source=source(view.consent_chosen)),
        t(SOURCES_LINE, locale,
          sources=", ".join(view.digest_sources) or t(NO_SOURCES, locale),
          source=source(view.digest_sources_chosen)),
    ]
    for kind, days in view.retention.items():
        lines.append(t(RETENTION_LINE, locale, kind=kind,
                       days=nt("{n} day", "{n} days", days, locale) if days else t(FOREVER, locale),
                       source=source(kind in view.retention_chosen)))
    return "\n".join(lines)
