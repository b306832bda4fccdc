"""Turning a ranked draft into what people read.

Without a model the digest is a clean, ranked list with a one-line intro. With a model
(``services.llm.configured``) an intro and one blurb per item are written in the person's
language and tone from ``prompts/templates/digest_intro.j2`` (sandboxed; every user- or
feed-derived value goes through the ``data`` filter). The model's answer is shaped like a
chat reply (avoided topics dropped, emoji stripped when off); if the model fails or answers
something unusable, the plain digest goes out instead: a digest is never lost to the model.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime

from bot.context import day_part
from bot.digest.builder import DigestDraft
from bot.digest.sources import DigestCandidate
from bot.events import Button, ButtonStyle, Reply, ReplyKind
from bot.i18n import N_, negotiate, nt, t
from bot.llm.base import LLMBackend, LLMRequest, LLMResult, Turn
from bot.profile_texts import why
from bot.shape import drop_avoided, strip_emoji
from profiles.ranking import Ranked
from prompts.render import PromptRenderer

log = logging.getLogger(__name__)

MORE, LESS = "digest.more", "digest.less"
BLURB_CHARS = 300
INTRO_CHARS = 500
SOURCE_NAMES = {"channels": N_("channels"), "rss": N_("feed"),
                "recommendations": N_("recommended")}


@dataclass(frozen=True, slots=True)
class Written:
    intro: str
    blurbs: list[str]
    result: LLMResult | None = None  # set when a model wrote it


def _locale(language: str) -> str:
    try:
        Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        return "en"
    return language


def texts_locale(draft: DigestDraft) -> str:
    """The locale of the digest's own texts: the reader's language setting, as far as the
    catalogs go (a model writes the intro and blurbs in the language itself)."""
    return draft.reader.locale or negotiate(draft.reader.language)


def local_moment(draft: DigestDraft) -> dt.datetime:
    return draft.now.astimezone(ZoneInfo(draft.reader.timezone))


def heading(draft: DigestDraft, *, preview: bool = False, localized: bool = False) -> str:
    """The date in the person's language: the model's (``localized``, any language Babel
    knows) or else that of the catalogs."""
    locale = _locale(draft.reader.language) if localized else texts_locale(draft)
    day = format_date(local_moment(draft).date(), "EEEE d MMMM", locale=locale)
    title = N_("Preview of your digest · {day}") if preview else N_("Your digest · {day}")
    return t(title, texts_locale(draft), day=day)


def plain(draft: DigestDraft) -> Written:
    """The model-free digest: a one-line intro; items speak through their reasons."""
    count = len(draft.items)
    locale = texts_locale(draft)
    since = format_datetime(
        draft.since.astimezone(ZoneInfo(draft.reader.timezone)), "EEE d MMM HH:mm", locale=locale
    )
    if count == 0:
        return Written(
            t("Nothing new for you since {since}. I'll look again next time.", locale,
              since=since), [])
    return Written(
        nt("{n} thing picked for you since {since}.", "{n} things picked for you since {since}.",
           count, locale, since=since), [""] * count)


def _item_values(item: Ranked) -> dict[str, object]:
    candidate = item.candidate
    return {
        "title": candidate.title,
        "source": SOURCE_NAMES.get(candidate.source, candidate.source),
        "topics": list(candidate.topics),
        "why": item.why,
        "text": candidate.text[:400],
    }


def render_request(
    renderer: PromptRenderer,
    draft: DigestDraft,
    *,
    bot_name: str,
    max_tokens: int,
) -> LLMRequest:
    reader = draft.reader
    local = local_moment(draft)
    system = renderer.render(
        "digest_intro.j2",
        bot_name=bot_name,
        platform=reader.person.platform,
        language=reader.language,
        tone=reader.tone,
        emoji=reader.emoji,
        verbosity=reader.verbosity,
        local_weekday=format_date(local.date(), "EEEE", locale="en"),
        local_date=local.date().isoformat(),
        day_part=day_part(local.hour),
        display_name=reader.person.display_name,
        interests=list(reader.interests)[:10],
        avoid_topics=reader.avoid,
        items=[_item_values(item) for item in draft.items],
    )
    return LLMRequest(
        system=system,
        turns=[Turn("user", "Write the digest now.")],
        max_tokens=max_tokens,
        purpose="digest",
    )


def parse_answer(text: str, expected: int) -> tuple[str, list[str]]:
    """The JSON object in the model's answer; ValueError if it is missing or malformed."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the answer")
    data = json.loads(text[start : end + 1])
    intro, blurbs = data.get("intro"), data.get("blurbs")
    if not isinstance(intro, str) or not isinstance(blurbs, list):
        raise ValueError("the answer lacks an intro or blurbs")
    if len(blurbs) != expected or not all(isinstance(b, str) for b in blurbs):
        raise ValueError(f"expected {expected} blurbs, got {len(blurbs)}")
    return intro, blurbs


def _shape(text: str, limit: int, *, emoji: str, avoid: list[str]) -> str:
    text = drop_avoided(" ".join(text.split()), avoid) if text.strip() else ""
    if emoji == "off":
        text = strip_emoji(text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def with_model(
    llm: LLMBackend,
    renderer: PromptRenderer,
    draft: DigestDraft,
    *,
    bot_name: str,
    max_tokens: int,
) -> Written:
    """Raises (LLMUnavailable, ValueError…) when the model cannot give a usable answer."""
    request = render_request(renderer, draft, bot_name=bot_name, max_tokens=max_tokens)
    result = await llm.generate(request)
    intro, blurbs = parse_answer(result.text, len(draft.items))
    reader = draft.reader
    return Written(
        intro=_shape(intro, INTRO_CHARS, emoji=reader.emoji, avoid=reader.avoid),
        blurbs=[_shape(b, BLURB_CHARS, emoji=reader.emoji, avoid=reader.avoid) for b in blurbs],
        result=result,
    )


def item_text(position: int, item: Ranked, blurb: str, locale: str | None = None) -> str:
    candidate = item.candidate
    detail = candidate.detail if isinstance(candidate, DigestCandidate) else ""
    name = SOURCE_NAMES.get(candidate.source)
    source = t(name, locale) if name else candidate.source
    lines = [f"**{position}. {candidate.title}**"]
    if blurb:
        lines.append(blurb)
    meta = " · ".join(part for part in (source, detail) if part)
    reasons = why(item, locale)
    lines.append("_" + (t("{source} — why: {reasons}", locale, source=meta, reasons=reasons)
                        if meta else t("Why: {reasons}", locale, reasons=reasons)) + "_")
    if candidate.url:
        lines.append(candidate.url)
    return "\n".join(lines)


def replies(
    draft: DigestDraft,
    written: Written,
    *,
    item_ids: Mapping[str, int] | None,
    kind: ReplyKind,
    preview: bool = False,
    channel_id: str | None = None,
) -> list[Reply]:
    """One message for the intro, then one per item with its "more / less like this"
    buttons (their value is the stored item id, so only sent items get buttons)."""
    localized = written.result is not None
    locale = texts_locale(draft)
    head = f"**{heading(draft, preview=preview, localized=localized)}**\n{written.intro}"
    if preview:
        head += "\n" + t("(Preview: nothing was marked as sent.)", locale)
    out = [Reply(text=head, kind=kind, purpose="digest", channel_id=channel_id)]
    for position, (item, blurb) in enumerate(
        zip(draft.items, written.blurbs, strict=True), start=1
    ):
        item_id = item_ids.get(item.candidate.key[:300]) if item_ids is not None else None
        buttons = []
        if item_id is not None:
            buttons = [
                Button(MORE, t("More like this", locale), value=str(item_id),
                       style=ButtonStyle.PRIMARY),
                Button(LESS, t("Less like this", locale), value=str(item_id)),
            ]
        out.append(
            Reply(
                text=item_text(position, item, blurb, locale),
                kind=kind,
                buttons=buttons,
                purpose="digest",
                channel_id=channel_id,
                reply_id=f"digest:{item_id}" if item_id is not None else None,
            )
        )
    return out
