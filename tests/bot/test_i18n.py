"""Translated bot texts: every wrapped text is in every catalog, translated, with the same
placeholders; the committed .mo files match their .po; the person's language picks them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.i18n import KEYWORDS, LOCALE_DIR, available_locales, negotiate, nt, t
from tests.support.helpers import command, message, person

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("en", "fr", "de", "es", "pt_BR", "ja")
TRANSLATED = tuple(loc for loc in REQUIRED if loc != "en")
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def extracted() -> dict[str | tuple[str, str], list[str]]:
    """What Babel finds in the source, with the same mapping and keywords as `make i18n`."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str | tuple[str, str], list[str]] = {}
    for filename, _lineno, message_id, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault(message_id, []).append(filename)
    return found


def catalog(locale: str):
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "tailorbot.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def test_the_required_languages_have_catalogs():
    assert set(REQUIRED) <= set(available_locales())


@pytest.mark.parametrize("locale", REQUIRED)
def test_every_wrapped_text_is_in_the_catalog_and_translated(locale):
    texts = extracted()
    assert len(texts) > 20  # the extraction itself works
    po = catalog(locale)
    missing = [text for text in texts if text not in po]
    assert missing == [], f"not in {locale}.po (run `make i18n`): {missing[:10]}"
    if locale == "en":
        return
    for text in texts:
        entry = po[text]
        assert "fuzzy" not in entry.flags, text
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(strings), f"untranslated in {locale}: {text!r}"
        ids = text if isinstance(text, tuple) else (text,)
        wanted = {name for i in ids for name in PLACEHOLDER.findall(i)}
        for string in strings:
            got = set(PLACEHOLDER.findall(string))
            assert got <= wanted | {"n"}, f"{locale}: placeholders {got} in {string!r}"
            if not isinstance(text, tuple):
                assert got == wanted, f"{locale}: placeholders of {text!r} in {string!r}"


@pytest.mark.parametrize("locale", REQUIRED)
def test_committed_mo_files_match_their_po(locale):
    po = catalog(locale)
    mo_path = LOCALE_DIR / locale / "LC_MESSAGES" / "tailorbot.mo"
    with mo_path.open("rb") as handle:
        mo = read_mo(handle)
    want = {_key(m.id): _key(m.string) for m in po if m.id and m.string and any(m.string)}
    got = {_key(m.id): _key(m.string) for m in mo if m.id}
    assert got == want, f"{mo_path} is stale: run `make i18n`"


def _key(value):
    """Plural entries are lists in a read .mo and tuples in a read .po."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_negotiation_falls_back_by_language_then_to_english():
    assert negotiate("pt-BR") == "pt_BR"
    assert negotiate("pt") == "pt_BR"
    assert negotiate("fr_CA") == "fr"
    assert negotiate("de-AT") == "de"
    assert negotiate("ja_JP") == "ja"
    assert negotiate("tlh") == "en"
    assert negotiate(None, "", "es") == "es"


def test_translation_and_plural_forms():
    assert t("Allow", "fr") == "Autoriser"
    assert t("Allow", "xx") == "Allow"
    assert t("daily at {time} ({timezone})", "de", time="08:00", timezone="UTC") == (
        "täglich um 08:00 (UTC)"
    )
    assert t("Autoriser", "fr") == "Autoriser"  # already translated: unchanged
    assert nt("{n} row", "{n} rows", 1, "en") == "1 row"
    assert nt("{n} row", "{n} rows", 2, "en") == "2 rows"


async def test_bot_texts_follow_the_persons_language(core):
    alice = person("alice")
    await core.handle(command(alice, "prefs", "set language fr"))
    replies = await core.handle(command(alice, "consent", "grant"))
    assert replies[0].text.startswith("Merci !") and replies[0].locale == "fr"

    # Without a stored preference, the platform's locale for this event is used…
    bruno = person("bruno")
    notice = await core.handle(message(bruno, "oi", context=_context(locale="pt-BR")))
    assert notice[-1].text.startswith("Oi! Posso me adaptar")
    assert [b.label for b in notice[-1].buttons] == ["Permitir", "Agora não"]
    # …and an explicit preference wins over the platform.
    await core.handle(command(bruno, "prefs", "set language ja"))
    status = await core.handle(command(bruno, "consent"))
    assert status[0].text.startswith("同意")


def _context(**kw):
    from bot.events import PlatformContext

    return PlatformContext(**kw)


async def test_unknown_commands_and_stale_buttons_follow_the_language_setting(core):
    """Answered without creating anyone: the person's setting when they are known, the
    platform's locale for someone the bot has never met."""
    from bot.events import ActionEvent, CommandEvent

    def unknown(who, locale):
        return CommandEvent(event_id=f"cmd-{who.user_id}-{locale}", person=who,
                            name="frobnicate", args="", context=_context(locale=locale))

    carla = person("carla")
    await core.handle(command(carla, "prefs", "set language de"))
    [answer] = await core.handle(unknown(carla, "en-US"))
    assert answer.locale == "de" and answer.text.startswith("/frobnicate kenne ich nicht")
    english_platform = _context(locale="en-US")
    stale = ActionEvent(event_id="act-stale", person=carla, action_id="no.such.button",
                        context=english_platform)
    [ack] = await core.handle(stale)
    assert ack.text == t("That button is no longer active.", "de") != (
        "That button is no longer active.")

    stranger = person("stranger")
    [answer] = await core.handle(unknown(stranger, "ja"))
    assert answer.locale == "ja" and answer.text != t(
        "I don't know /{name}. Commands: {names}. Try /help.", "en", name="frobnicate",
        names="")
