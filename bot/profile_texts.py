"""The words for what profiles/ reports as codes: preference errors, the preference keys'
descriptions and valid values, and why a ranked item was picked.

profiles/ never imports bot/, so it cannot translate; it reports a code and its values
(``PreferenceError.code``, ``Reason.code``) and keeps an English wording for logs and the
CLI. Here each code gets its catalog text, translated into the person's language when shown.
A code this module does not know falls back to the English wording from profiles/.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.i18n import N_, t
from profiles.preferences import SPECS, PreferenceError, PreferenceSpec
from profiles.ranking import NOTHING_SPECIAL, Ranked, Reason

PREFERENCE_ERRORS = {
    "choice": N_("{key} must be one of: {options}"),
    "language": N_("{key} must be a language code such as en, fr, pt_BR or ja"),
    "timezone": N_("{key} must be an IANA timezone such as Europe/Paris, America/New_York or "
                   "UTC"),
    "topics_empty": N_("{key}: give one or more topics separated by commas, e.g. politics, "
                       "crypto"),
    "topics_limit": N_("{key}: at most 50 topics of at most 60 characters each"),
    "digest": N_("{key} must be off, or daily|weekdays|weekly with an optional HH:MM time"),
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
