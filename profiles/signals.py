"""Implicit-signal extraction from message text.

Topics come from :mod:`profiles.topics` (noun phrases checked against stopwords, word
frequencies, an English lexicon and lemmas), language from lingua (models ship inside the
wheel) with a word-frequency second opinion, emoji from the ``emoji`` package. Formality is a
small feature score documented in :func:`formality_score`; there is no maintained offline
library for it, and it only nudges an inferred default that an explicit preference always
overrides.

Before anything is extracted, the text loses what is not the writer's own subject matter:
mentions and the names of mentioned people (a colleague's ``@mention`` must never teach the bot
anything about a person who has not consented), channel names, links, code, emoji shortcodes
and quoted lines.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from profiles.topics import INTERJECTIONS, NEAR_LANGUAGES, extract_topics, words_of

MIN_LANGUAGE_CONFIDENCE = 0.75
# Below this, a language guess is noise ("haha, what kind of work?" reads as Tagalog).
MIN_LANGUAGE_WORDS = 5
MIN_LANGUAGE_LETTERS = 20
# A text long enough to name whose words are plainly English — at least this share of them
# common in English (Zipf >= PLAIN_ENGLISH_ZIPF) and their mean Zipf at least
# PLAIN_ENGLISH_MEAN — is named English without asking lingua. Why: lingua was ~60 % of
# extraction's CPU, and extraction is the machine's third consumer at maximum ingest (issue
# 16). On chatterbot-corpus (English and 26 other languages) and the bench's workload this
# skips lingua for 89 % of English texts long enough to name, and changes no topic: no
# text lingua read as another language passes, and where lingua was unsure of such a text
# (764 lines, every one English: "My printer is not printing.") it is now named English
# (docs/measurement.md, "Plainly English text without the language detector").
PLAIN_ENGLISH_SHARE = 0.8
PLAIN_ENGLISH_ZIPF = 3.0
PLAIN_ENGLISH_MEAN = 4.5
# NEAR_LANGUAGES (profiles/topics.py): a text more familiar to one of them than to English is
# not plainly English (~9 µs more a long message).
# How much more familiar (mean Zipf) a near language must find a short text's words than
# English does for the English rules not to read it ("Gut, und dir?"); names and borrowings
# keep most English lines below it (see _nearer_elsewhere).
NEAR_MARGIN = 1.0
# wordfreq's lists that familiarity (:func:`_familiarity`) reads: "small", the words of
# frequency 1e-6 and more. Why not "best" (down to 1e-8): a worker loads a language's list the
# first time lingua names that language, even wrongly ("thanks! kuberne" → German), and a
# "best" list took 95–260 ms of that worker and ~28 MB for good — at start a busy bot met
# tens of languages, and every reply waiting for that worker waited out the load; all 40
# languages lingua can name held 1.1 GB a worker. The "small" ones take ~10 ms and 206 MB for
# all 40. On the 20,939 lines of chatterbot-corpus (English and 26 other languages) 120
# answers change: 4 more English lines read as foreign (names: "Moby Dick"), 20 more
# foreign ones recognised (docs/measurement.md, "Language lists that load in milliseconds").
FAMILIARITY_WORDLIST = "small"
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_QUOTED = re.compile(r"^\s*(?:>|&gt;).*$", re.MULTILINE)
_MENTION = re.compile(r"<[@#!][^>\s]*>|(?<![\w.])[@#][\w.\-]+")
_SHORTCODE = re.compile(r":[a-z0-9_+\-]{2,40}:", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_CONTRACTION = re.compile(r"\b\w+'(?:s|re|ve|ll|d|t|m)\b", re.IGNORECASE)
# ASCII's control characters (category Cc) except newline and tab, for str.translate.
_ASCII_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
# Where an emoji can be: a run of non-ASCII characters, with the keycap base before it.
_EMOJI_SPAN = re.compile(r"[#*0-9]?[^\x00-\x7f]+")
_CASUAL_TOKENS = INTERJECTIONS
_FORMAL_TOKENS = frozenset(
    ("please", "kindly", "regards", "sincerely", "furthermore", "however", "therefore")
    + ("moreover", "would", "could", "appreciate", "grateful", "dear", "thank", "regarding")
    + ("accordingly",)
)


def clean_text(text: str, *, max_chars: int) -> str:
    """NFKC-normalise, drop control and format characters (zero-widths, bidi overrides), keep
    newlines and tabs as spaces, and cut to ``max_chars``; the result is safe to store.

    Format characters that are part of what was written stay (joiners: :func:`_joins`;
    tags of whole subdivision flags: :func:`_flag_tags`): without them a family emoji became
    three people, a flag of England a black flag, and a Persian word lost its zero-width
    non-joiner."""
    text = text[: max_chars * 2]
    if text.isascii():  # most chat: NFKC changes nothing and the only ones to drop are Cc
        return text.translate(_ASCII_CONTROLS)[:max_chars]
    text = unicodedata.normalize("NFKC", text)
    if "\u200d" not in text and "\u200c" not in text and _CANCEL_TAG not in text:
        # no format character to keep: one pass with no context (most non-ASCII text)
        category_of = unicodedata.category
        return "".join(
            ch for ch in text if ch in "\n\t" or category_of(ch) not in _DROPPED_CATEGORIES
        )[:max_chars]
    flags = _flag_tags(text) if _CANCEL_TAG in text else frozenset()
    kept: list[str] = []
    for at, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category in _DROPPED_CATEGORIES and ch not in "\n\t" and not (
            category == "Cf"
            and kept
            and (at in flags or _joins(ch, kept[-1], text[at + 1 : at + 2]))
        ):
            continue
        kept.append(ch)
    return "".join(kept)[:max_chars]


_DROPPED_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn"))
_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner
_CANCEL_TAG = "\U000e007f"
# A subdivision flag (England: 🏴 + "gbeng" in tag letters + cancel tag). Tags anywhere else
# are invisible text a model reads and a person does not: never kept.
_SUBDIVISION_FLAG = re.compile(
    "\U0001f3f4([\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,6})\U000e007f"
)
# Scripts whose words are written with joiners (Arabic, Persian; Devanagari to Sinhala).
_JOINING_SCRIPTS = (("\u0600", "\u06ff"), ("\u0750", "\u077f"), ("\u0900", "\u0dff"))


def _flag_tags(text: str) -> frozenset[int]:
    """Positions of the tag characters of whole subdivision flags in ``text``."""
    return frozenset(
        at for flag in _SUBDIVISION_FLAG.finditer(text) for at in range(flag.start(1), flag.end())
    )


def _joins(ch: str, before: str, after: str) -> bool:
    """Whether joiner ``ch`` is part of what was written: inside an emoji sequence (after an
    emoji, its variation selector or skin tone, before an emoji) or between two letters of a
    script written with joiners. Elsewhere (beside ASCII, inside a Cyrillic word) it is the
    invisible kind that hides a word from a reader."""
    if ch not in _JOINERS or not after or before in _JOINERS:
        return False
    if ch == "\u200d" and unicodedata.category(after) == "So":
        return before == "\ufe0f" or unicodedata.category(before) in ("So", "Sk")
    return _joining_script(before) and _joining_script(after)


def _joining_script(ch: str) -> bool:
    return any(low <= ch <= high for low, high in _JOINING_SCRIPTS)


def normalise_topic(phrase: str) -> str | None:
    """Lower-case, collapse whitespace, drop numbers, very short and over-long phrases."""
    phrase = _SPACES.sub(" ", phrase.strip().lower()).strip(" .,;:!?\"'()[]{}<>-_*#")
    if len(phrase) < 3 or len(phrase) > 60:
        return None
    words = phrase.split()
    if all(w.isdigit() for w in words):
        return None
    if len(words) == 1 and len(phrase) < 4:
        return None
    return phrase


@dataclass(frozen=True, slots=True)
class MessageSignals:
    """Everything learned from one message; strengths are in (0, 1]."""

    topics: tuple[tuple[str, float], ...]
    language: str | None
    length: int
    word_count: int
    formality: float
    emoji_count: int


def formality_score(text: str, words: list[str], emoji_count: int) -> float:
    """-1 (very casual) … +1 (very formal), from a handful of stable cues: casual tokens,
    contractions, emoji, exclamation runs and missing capitalisation push down; polite
    connectives and sentence-case push up."""
    if not words:
        return 0.0
    lower = [w.lower() for w in words]
    casual = sum(1 for w in lower if w in _CASUAL_TOKENS)
    formal = sum(1 for w in lower if w in _FORMAL_TOKENS)
    contractions = len(_CONTRACTION.findall(text))
    score = (formal - casual - 0.5 * contractions - emoji_count) / max(len(words), 4) * 4
    stripped = text.lstrip()
    if stripped[:1].isalpha():
        score += 0.15 if stripped[0].isupper() else -0.25
    if "!!" in text or "??" in text:
        score -= 0.2
    return max(-1.0, min(1.0, score))


def strip_non_topical(text: str, names: Sequence[str] = ()) -> str:
    """The writer's own prose: without links, code, quoted lines, emoji and shortcodes,
    mentions, channel names and the given display names (of people mentioned or named by the
    platform), which are never anyone's interest."""
    prose = _CODE_BLOCK.sub(" ", text)
    prose = _INLINE_CODE.sub(" ", _URL.sub(" ", prose))
    prose = _QUOTED.sub(" ", prose)
    for name in sorted({n.strip().lstrip("@") for n in names if n and n.strip()}, key=len)[::-1]:
        prose = re.sub(
            rf"@?(?<!\w){re.escape(name)}(?!\w)", " ", prose, flags=re.IGNORECASE
        )
    prose = _MENTION.sub(" ", prose)
    return replace_emoji(_SHORTCODE.sub(" ", prose))


# The emoji package walks every character in Python; on ordinary chat that walk was a third of
# extraction's time. Every emoji it knows is non-ASCII after its first character, and its first
# is non-ASCII or one of ``#*0-9`` (keycaps; a test checks both against the package's table):
# it only ever finds them in an _EMOJI_SPAN, and none in ASCII text. The two functions below
# give exactly what the package gives for the whole text.


def count_emoji(text: str) -> int:
    """``emoji.emoji_count(text)``, without scanning what cannot hold one."""
    if text.isascii():
        return 0
    import emoji  # its tables cost ~0.1 CPU-s: loaded on first use, not at start

    return sum(int(emoji.emoji_count(span)) for span in _EMOJI_SPAN.findall(text))


def replace_emoji(text: str) -> str:
    """``emoji.replace_emoji(text, replace=" ")``, without scanning what cannot hold one."""
    if text.isascii():
        return text
    import emoji

    return _EMOJI_SPAN.sub(lambda span: emoji.replace_emoji(span.group(), replace=" "), text)


class SignalExtractor:
    """Thread-safe and cheap to share; lexicons and models load once, on first use."""

    def __init__(self, *, max_keyphrases: int = 5, max_chars: int = 4000) -> None:
        self.max_keyphrases = max_keyphrases
        self.max_chars = max_chars

    def extract(
        self, text: str, *, names: Sequence[str] = (), usual: str | None = None
    ) -> MessageSignals:
        """``names``: display names that must never become topics (mentioned people).
        ``usual``: the language the writer uses, as their platform or preferences say
        (a locale: "de-DE"), if known: a text too short or too mixed to name its language
        is read with that language's rules when its words are at least as familiar there as
        in English ("ich liebe analoge Fotografie" teaches "analoge fotografie"; without it,
        nothing). The message's ``language`` stays unnamed all the same."""
        text = clean_text(text, max_chars=self.max_chars)
        emoji_count = count_emoji(text)
        prose = strip_non_topical(text, names)
        words = _WORD.findall(prose)
        topics: tuple[tuple[str, float], ...]
        language_words = _language_words(prose)
        own = _usual_language(usual)
        if _too_short_to_name(language_words):
            # No language is named either way; lingua would only say whether the English
            # topic rules apply, which matters only when they find a topic. Most chat lines
            # find none ("haha yeah", "sounds good to me") and skip the detector.
            language = None
            if own is not None and _reads_as(language_words, own):
                topics = extract_topics(prose, own, self.max_keyphrases)
            else:
                topics = extract_topics(prose, "en", self.max_keyphrases)
                if topics and _detect(prose)[1]:
                    topics = ()  # too short to tell which language, but not English
        else:
            language, foreign = _detect(prose)
            lang = language or "en"
            if language is None and own is not None and _reads_as(language_words, own):
                lang, foreign = own, False  # lingua unsure; the writer's own language
            topics = () if foreign else extract_topics(prose, lang, self.max_keyphrases)
        return MessageSignals(
            topics=topics,
            language=language,
            length=len(text),
            word_count=len(words),
            formality=formality_score(text, words, emoji_count),
            emoji_count=emoji_count,
        )


@functools.lru_cache(maxsize=1)
def _language_detector() -> Any:
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def detect_language(text: str) -> str | None:
    """ISO 639-1 code, or None when the text is too short or ambiguous to say. lingua's
    answer is kept only when it is confident and the words are at least as common in that
    language as in English (wordfreq): short chat otherwise gets confident wrong guesses."""
    return _detect(text)[0]


def _detect(text: str) -> tuple[str | None, bool]:
    """(language or None, whether the text is probably in a language other than English
    even though it is too short to say which: its topics are then not read with English
    rules — "jajaja sí, claro" is not about "amigo")."""
    words = _language_words(text)
    if len(words) < 2:
        return None, bool(words) and _nearer_elsewhere(words)
    short = _too_short_to_name(words)
    if not short and _plainly_english(words):
        return "en", False
    ranked = _language_detector().compute_language_confidence_values(text)
    if not ranked:
        return None, _nearer_elsewhere(words)
    code = str(ranked[0].language.iso_code_639_1.name).lower()
    # each language's familiarity with the words, read once: lingua's guess's and English's,
    # and for a text long enough to name every near language's (see _clearly_nearer)
    judged = (code, "en") if short else (*NEAR_LANGUAGES, code, "en")
    scores = {lang: _familiarity(words, lang) for lang in judged}
    nearer = None if short else _clearly_nearer(scores)
    if nearer is not None:
        return nearer, False
    foreign = code != "en" and scores[code] > scores["en"]
    if short or ranked[0].value < MIN_LANGUAGE_CONFIDENCE:
        # short or mixed text: better no guess than a wrong language; foreign all the same
        # when one of the near languages knows its words better than English does, whatever
        # lingua ranked first ("Gut, und dir?" read as Dutch taught "und dir")
        return None, foreign or _nearer_elsewhere(words)
    if code != "en" and not foreign:
        return None, False
    return code, False


def _usual_language(locale: str | None) -> str | None:
    """The language of a locale ("de-DE", "pt_BR", "fr") when it is not English and wordfreq
    knows it (its familiarity is what :func:`_reads_as` compares); else None."""
    if not locale:
        return None
    code = locale.replace("_", "-").split("-")[0].lower()
    return code if code != "en" and code in _wordfreq_languages() else None


def _reads_as(words: list[str], lang: str) -> bool:
    """Whether ``words`` are at least as familiar to ``lang``'s word list as to English's,
    over the words English knows or that are not plain ASCII (see
    :func:`_nearer_elsewhere`). Without such a word, over all of them: the writer's own
    language is the likelier reading of a word only it knows ("lecker", "delicioso",
    alone, were read with the English rules as unknown nouns); a name is a topic in either
    ("Vermeer")."""
    known = _comparable(words) or words
    return bool(known) and _familiarity(known, lang) >= _familiarity(known, "en")


def _comparable(words: list[str]) -> list[str]:
    """The words whose familiarity says which language a text is in: those English's small
    list knows, or that are not plain ASCII. A plain word English does not know is most often
    a name, which every language's list holds ("Vermeer" 3.6 in Dutch), some more often than
    English's."""
    return [word for word in words if not word.isascii() or _zipf(word, "en") > 0]


def _nearer_elsewhere(words: list[str]) -> bool:
    """Whether one of :data:`NEAR_LANGUAGES` knows ``words`` better than English does, by
    NEAR_MARGIN (mean Zipf): "gut", "Ganz okay", "Dankeschön", "bien", "ça va"."""
    known = _comparable(words)
    if not known:
        return False
    english = _familiarity(known, "en")
    return any(_familiarity(known, lang) > english + NEAR_MARGIN for lang in NEAR_LANGUAGES)


def _clearly_nearer(scores: dict[str, float]) -> str | None:
    """The near language (:data:`NEAR_LANGUAGES`) whose list knows a text's words better
    than every other language of ``scores`` (each near language, lingua's guess, English:
    their :func:`_familiarity` with the words) by NEAR_MARGIN (mean Zipf); None when none
    does. lingua's fast mode, which the bot runs, takes short Spanish for its neighbours:
    "me encanta la música clásica y el café" was Portuguese (0.98; Spanish's list knows its
    words 1.5 Zipf better), "ayer vi una pelicula de terror" Latin (0.94), "estoy aprendiendo
    a programar en python" French (0.71, so unnamed), and were read with the wrong rules or
    not at all. A guess outside the near languages that
    its own list knows as well stays ("bon dia, com estàs?" in Catalan)."""
    best = max(scores, key=lambda lang: scores[lang])
    if best not in NEAR_LANGUAGES:
        return None
    runner_up = max(score for lang, score in scores.items() if lang != best)
    return best if scores[best] >= runner_up + NEAR_MARGIN else None


def _language_words(text: str) -> list[str]:
    return [w.lower() for w in words_of(text) if not w.isdigit()]


def _too_short_to_name(words: list[str]) -> bool:
    """Too few words or letters for any language guess to be kept (see :func:`_detect`)."""
    return len(words) < MIN_LANGUAGE_WORDS or sum(map(len, words)) < MIN_LANGUAGE_LETTERS


def _plainly_english(words: list[str]) -> bool:
    """Whether ``words`` read as English to wordfreq alone (see PLAIN_ENGLISH_SHARE): on every
    corpus measured, lingua's verdict on such a text was English or unsure, never another
    language. Short texts are not asked: there lingua decides whether a found topic is
    foreign, and a short Spanish line can be plain English to wordfreq ("Bien y a ti")."""
    zipfs = [_zipf(word, "en") for word in words]
    common = sum(1 for zipf in zipfs if zipf >= PLAIN_ENGLISH_ZIPF)
    if common < PLAIN_ENGLISH_SHARE * len(zipfs) or sum(zipfs) < PLAIN_ENGLISH_MEAN * len(zipfs):
        return False
    # French or Spanish made of words English also uses ("Tu es un grand fan de football et
    # de rugby") is more familiar to its own language's list (review): then lingua decides.
    english = sum(zipfs) / len(zipfs)
    return all(_familiarity(words, lang) < english for lang in NEAR_LANGUAGES)


def _familiarity(words: list[str], lang: str) -> float:
    """Mean Zipf frequency of ``words`` in ``lang`` (0 when wordfreq lacks the language),
    from wordfreq's :data:`FAMILIARITY_WORDLIST` lists."""
    if lang not in _wordfreq_languages():
        return 0.0
    try:
        return sum(_zipf(w, lang) for w in words) / len(words)
    except ImportError:  # Japanese and Korean need MeCab, which is optional
        return 0.0


@functools.lru_cache(maxsize=1)
def _wordfreq_languages() -> frozenset[str]:
    import wordfreq

    return frozenset(wordfreq.available_languages(wordlist=FAMILIARITY_WORDLIST))


@functools.lru_cache(maxsize=100_000)
def _zipf(word: str, lang: str) -> float:
    import wordfreq

    return float(wordfreq.zipf_frequency(word, lang, wordlist=FAMILIARITY_WORDLIST))


def warm_up() -> None:
    """Load the lexicons and the language model now rather than on the first message (a few
    CPU-seconds once per process): for servers before they take traffic, and test sessions."""
    SignalExtractor().extract("Warming up the jazz piano lexicons before the first message")
