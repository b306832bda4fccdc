"""The words for what profiles/ reports as codes: preference errors, the preference keys'
descriptions and valid values, and why a ranked item was picked.

profiles/ never imports bot/, so it cannot translate; it reports a code and its values
(``PreferenceError.code``, ``Reason.code``) and keeps an English wording for logs and the
CLI. Here each code gets its catalog text, translated into the person's language when shown.
A code this module does not know falls back to the English wording from profiles/.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.i18n import N_, nt, t
from profiles.preferences import SPECS, PreferenceError, PreferenceSpec
from profiles.ranking import NOTHING_SPECIAL, Ranked, Reason
from profiles.retention import RetentionPolicy

PREFERENCE_ERRORS = {
    "choice": N_("{key} must be one of: {options}"),
    "language": N_("{key} must be a language code such as en, fr, pt_BR or ja"),
    "timezone": N_("{key} must be an IANA timezone such as Europe/Paris, America/New_York or "
                   "UTC"),
    "topics_empty": N_("{key}: give one or more topics separated by commas, e.g. politics, "
                       "crypto"),
    "topics_limit": N_("{key}: at most 50 topics of at most 60 characters each"),
    "digest": N_("{key} must be off, or daily|weekdays|weekly with an optional HH:MM time"),
    "digest_time": N_("{time} is not a time of day: HH:MM from 00:00 to 23:59"),
    "unknown_key": N_("unknown preference '{given}'; valid keys: {keys}"),
    "needs_value": N_("{key} needs a value: {valid}"),
}

# What each preference is, and the values it takes where they are words to translate (a list
# of options such as ``casual | neutral | formal`` is typed as is, so it stays as is).
DESCRIPTIONS = {
    "tone": N_("how I sound"),
    "verbosity": N_("how long my answers are"),
    "emoji": N_("whether I use emoji"),
    "language": N_("the language I answer in"),
    "timezone": N_("your timezone"),
    "avoid_topics": N_("topics I never bring up"),
    "digest": N_("your digest schedule"),
}
VALID = {
    "language": N_("a language code (en, fr, pt_BR…)"),
    "timezone": N_("an IANA name (Europe/Paris, UTC…)"),
    "avoid_topics": N_("comma-separated topics"),
}

REASONS = {
    "interest": N_("matches your interest in {topic}"),
    "similar_people": N_("liked by people with similar interests"),
    "new": N_("new"),
    "nothing": N_("something new for you"),
    "also_new": N_("also new — not matched to your interests"),
}


def valid_values(spec: PreferenceSpec, locale: str | None) -> str:
    return t(VALID[spec.key], locale) if spec.key in VALID else spec.valid


def describe_key(spec: PreferenceSpec, locale: str | None) -> str:
    return t(DESCRIPTIONS[spec.key], locale) if spec.key in DESCRIPTIONS else spec.description


def preference_error_text(exc: PreferenceError, locale: str | None) -> str:
    text = PREFERENCE_ERRORS.get(exc.code)
    if text is None:
        return str(exc)
    values: dict[str, object] = {"key": "", **exc.values}
    if exc.code == "needs_value" and exc.values.get("key") in SPECS:
        values["valid"] = valid_values(SPECS[exc.values["key"]], locale)
    return t(text, locale, **values)


def preference_error(exc: PreferenceError) -> Callable[[str | None], str]:
    """The error as a CommandError value: worded once the locale is known."""
    return lambda locale: preference_error_text(exc, locale)


def reason_text(reason: Reason, locale: str | None) -> str:
    text = REASONS.get(reason.code)
    return t(text, locale, topic=reason.topic) if text is not None else reason.english


def why(item: Ranked, locale: str | None, separator: str = "; ") -> str:
    """Why ``item`` was picked, in ``locale``."""
    reasons: Sequence[Reason] = item.reasons or (NOTHING_SPECIAL,)
    return separator.join(reason_text(r, locale) for r in reasons)


# Each retention rule by its English label (profiles/retention.py), and what "no limit" means.
RETENTION_LABELS = {
    "conversation turns": N_("conversation turns"),
    "what you asked me to recommend": N_("what you asked me to recommend"),
    "my summary of our conversations": N_("my summary of our conversations"),
    "signal evidence": N_("signal evidence"),
    "channel message excerpts": N_("channel message excerpts"),
    "digest items": N_("digest items"),
    "model-call records": N_("model-call records"),
    "what you asked me to remember": N_("what you asked me to remember"),
    "one-time link codes": N_("one-time link codes"),
    "link attempts": N_("link attempts"),
}
KEPT = {
    "for ever": N_("{label} for ever"),
    "until you remove it": N_("{label} until you remove it"),
}


def retention_sentence(policy: RetentionPolicy, locale: str | None) -> str:
    """What is kept and for how long (/profile's last line), in ``locale``."""
    parts = []
    for rule in policy.rules():
        label = t(RETENTION_LABELS.get(rule.label, rule.label), locale)
        if rule.days:
            parts.append(nt("{label} {n} day", "{label} {n} days", rule.days, locale, label=label))
        else:
            parts.append(t(KEPT.get(rule.kept, "{label} " + rule.kept), locale, label=label))
    return t("What I keep and for how long: {rules}; learned interests, style and preferences "
             "stay until you change or erase them.", locale, rules=", ".join(parts))
