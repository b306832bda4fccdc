"""The bot's own texts in the person's language (gettext catalogs, managed with Babel).

Why gettext: translators get standard ``.po`` files, plurals follow each language's rules, and
Babel's extractor finds every wrapped string, so a test can prove no text is missing from a
catalog (``tests/bot/test_i18n.py``).

How to mark a text:

* ``t("Done: {n} rows.", locale, n=3)`` translates now and then fills ``{placeholders}``
  (``str.format``, so a translation may reorder them); ``ctx.t(...)`` in a command handler
  uses the person's language.
* ``nt("{n} row", "{n} rows", n, locale)`` chooses the plural form of the language.
* ``N_("...")`` marks a text defined before any locale is known (module constants, command
  summaries); it returns the text unchanged and ``t(CONSTANT, locale)`` translates it later.

Catalogs live in ``bot/locales/<locale>/LC_MESSAGES/tailorbot.po``; the compiled ``.mo``
files next to them are committed, so a fresh checkout needs no build step (``make i18n``
re-extracts, updates and compiles; a test fails when a ``.mo`` is stale).

Which language: the person's resolved ``language`` preference (explicit > platform >
inferred), else what the platform says about this event, else ``default_locale``. A locale
without a catalog falls back to its language (``fr_CA`` → ``fr``, ``pt`` → ``pt_BR``), then
to English (the source texts).
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Iterable
from pathlib import Path

from profiles.preferences import ResolvedPreferences

DOMAIN = "tailorbot"
LOCALE_DIR = Path(__file__).parent / "locales"
SOURCE_LOCALE = "en"
# Babel extraction keywords (``pybabel extract -k``) for the markers below.
KEYWORDS: dict[str, tuple[int, ...] | None] = {"N_": None, "t": (1,), "nt": (1, 2)}


def N_(message: str) -> str:  # the gettext name for "mark only"
    """Mark ``message`` for extraction without translating it yet."""
    return message


@functools.cache
def available_locales() -> tuple[str, ...]:
    """Locales with a compiled catalog, plus the source language."""
    found = {SOURCE_LOCALE}
    if LOCALE_DIR.is_dir():
        for mo in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"):
            found.add(mo.parent.parent.name)
    return tuple(sorted(found))


@functools.lru_cache(maxsize=4096)
def negotiate(*preferences: str | None) -> str:
    """The first preference we have texts for: exact locale, else same language (``pt`` and
    ``pt_PT`` → ``pt_BR``); English when none matches. Memoised: every text of every
    reply (a digest's reasons, one per item) is looked up through it, with few distinct
    spellings, and the catalogues it chooses from are fixed for the process."""
    available = available_locales()
    by_lower = {loc.lower(): loc for loc in available}
    for raw in preferences:
        if not raw:
            continue
        wanted = raw.strip().replace("-", "_").split(".")[0].split("@")[0].lower()
        if not wanted:
            continue
        if wanted in by_lower:
            return by_lower[wanted]
        language = wanted.split("_")[0]
        if language in by_lower:
            return by_lower[language]
        for loc in available:
            if loc.lower().split("_")[0] == language:
                return loc
    return SOURCE_LOCALE


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """Catalog for an already negotiated locale; the source language is the identity."""
    if locale == SOURCE_LOCALE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale], fallback=True)


def t(message: str, locale: str | None = None, /, **values: object) -> str:
    """``message`` in ``locale`` (any spelling; negotiated), with ``{placeholders}`` filled.
    A text with no translation (or already translated) comes back as it was given."""
    text = translations(negotiate(locale)).gettext(message) if message else message
    return text.format(**values) if values else text


def nt(
    singular: str, plural: str, n: int, locale: str | None = None, /, **values: object
) -> str:
    """Plural-aware :func:`t`; ``n`` is also available to the text as ``{n}``."""
    text = translations(negotiate(locale)).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def join(parts: Iterable[str], locale: str | None = None) -> str:
    """A human list ("a, b and c") in the locale's own words."""
    from babel.lists import format_list

    items = list(parts)
    if not items:
        return ""
    return format_list(items, locale=negotiate(locale))


def person_locale(
    prefs: ResolvedPreferences | None, platform_locale: str | None, default: str
) -> str:
    """The locale of the bot's texts for a person: their resolved ``language`` preference
    unless it is only the default, then what the platform reports for this event (not stored
    for people who have not consented), then the deployment's default."""
    if prefs is not None and prefs.source("language") != "default":
        return negotiate(prefs.get("language"), platform_locale, default)
    return negotiate(platform_locale, default)
