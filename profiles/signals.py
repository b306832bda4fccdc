"""Implicit-signal extraction from message text.

Keyphrases come from YAKE (unsupervised, offline, per-language stopwords), language from
lingua (models ship inside the wheel), emoji from the ``emoji`` package. Formality is a small
feature score documented in :func:`formality_score`; there is no maintained offline library for
it, and it only nudges an inferred default that an explicit preference always overrides.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import emoji

# YAKE ships stopword lists for these codes; other languages fall back to a language-neutral
# run (YAKE's "noLang" list) rather than to English stopwords.
_YAKE_LANGS = frozenset(
    ("ar", "bg", "br", "cz", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "hi", "hr")
    + ("hu", "hy", "id", "it", "ja", "lt", "lv", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl")
    + ("sv", "tr", "uk", "zh")
)
MIN_LANGUAGE_CONFIDENCE = 0.75
# Verbs of wanting and liking that YAKE's stopword lists keep ("love jazz"): the interest is
# the object, and "jazz piano" is found anyway.
_CHAT_VERBS = frozenset(("love", "like", "enjoy", "hate", "want", "need", "loving", "liking"))
# Words that are never an interest on their own ("what should I do this weekend?").
_GENERIC_ALONE = frozenset(
    ("weekend", "today", "tomorrow", "tonight", "yesterday", "morning", "evening")
    + ("afternoon", "week", "month", "year", "time", "thing", "things", "stuff", "question")
    + ("questions", "help", "thanks", "idea", "ideas", "tips", "advice", "something")
)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_CONTRACTION = re.compile(r"\b\w+'(?:s|re|ve|ll|d|t|m)\b", re.IGNORECASE)
_CASUAL_TOKENS = frozenset(
    ("lol", "lmao", "haha", "hahaha", "gonna", "wanna", "gotta", "yeah", "yep", "nope", "hey")
    + ("hiya", "thx", "pls", "plz", "btw", "imo", "tbh", "omg", "cool", "awesome", "dude", "ok")
    + ("okay", "kinda", "sorta", "ya", "u", "ur", "np", "idk")
)
_FORMAL_TOKENS = frozenset(
    ("please", "kindly", "regards", "sincerely", "furthermore", "however", "therefore")
    + ("moreover", "would", "could", "appreciate", "grateful", "dear", "thank", "regarding")
    + ("accordingly",)
)


def clean_text(text: str, *, max_chars: int) -> str:
    """NFKC-normalise, drop control and format characters (zero-widths, bidi overrides), keep
    newlines and tabs as spaces, and cut to ``max_chars``; the result is safe to store."""
    text = unicodedata.normalize("NFKC", text[: max_chars * 2])
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\n\t":
            kept.append(ch)
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(ch)
    return "".join(kept)[:max_chars]


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


class SignalExtractor:
    """Thread-safe and cheap to share; heavy models are built once, on first use."""

    def __init__(self, *, max_keyphrases: int = 5, max_chars: int = 4000) -> None:
        self.max_keyphrases = max_keyphrases
        self.max_chars = max_chars
        self._lock = threading.Lock()

    def extract(self, text: str) -> MessageSignals:
        text = clean_text(text, max_chars=self.max_chars)
        emoji_count = emoji.emoji_count(text)
        prose = _INLINE_CODE.sub(" ", _CODE_BLOCK.sub(" ", _URL.sub(" ", text)))
        prose = emoji.replace_emoji(prose, replace=" ")
        words = _WORD.findall(prose)
        language = detect_language(prose) if len(words) >= 3 else None
        topics = self._keyphrases(prose, language) if len(words) >= 4 else ()
        return MessageSignals(
            topics=topics,
            language=language,
            length=len(text),
            word_count=len(words),
            formality=formality_score(text, words, emoji_count),
            emoji_count=emoji_count,
        )

    def _keyphrases(self, prose: str, language: str | None) -> tuple[tuple[str, float], ...]:
        lang = language if language in _YAKE_LANGS else ("noLang" if language else "en")
        extractor = _yake(lang, self.max_keyphrases * 2)
        with self._lock:  # YAKE keeps per-call state on the extractor
            found: list[Any] = extractor.extract_keywords(prose)
        topics: list[tuple[str, float]] = []
        seen: set[str] = set()
        for phrase, _score in found:
            topic = normalise_topic(str(phrase))
            if topic is None or topic in seen or _dangling(topic, lang):
                continue
            # Skip a single word already covered by a kept phrase ("rust" inside "rust async").
            if any(topic in kept.split() for kept in seen):
                continue
            seen.add(topic)
            topics.append((topic, round(1.0 - 0.15 * len(topics), 3)))
            if len(topics) >= self.max_keyphrases:
                break
        return tuple(topics)


@functools.lru_cache(maxsize=64)
def _yake(lang: str, top: int) -> Any:
    import yake  # imported on first use: it pulls networkx and numpy (~1 CPU-s at start-up)

    return yake.KeywordExtractor(lan=lang, n=2, top=top, dedupLim=0.7)


@functools.lru_cache(maxsize=64)
def _stopwords(lang: str) -> frozenset[str]:
    """YAKE's own stopword list for ``lang`` (shipped in the package)."""
    import yake

    folder = Path(yake.__file__).parent / "core" / "StopwordsList"
    try:
        text = (folder / f"stopwords_{lang}.txt").read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return frozenset()
    return frozenset(word.strip().lower() for word in text.splitlines() if word.strip())


def _dangling(topic: str, lang: str) -> bool:
    """A phrase that starts or ends with a stopword ("piano and") is a fragment, not a topic.
    English stopwords always count: chat is full of English even in other languages."""
    words = topic.split()
    if len(words) == 1 and topic in _GENERIC_ALONE:
        return True
    stop = _stopwords(lang) | _stopwords("en") | _CHAT_VERBS
    return words[0] in stop or words[-1] in stop


@functools.lru_cache(maxsize=1)
def _language_detector() -> Any:
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def detect_language(text: str) -> str | None:
    """ISO 639-1 code, or None when the text is too short or ambiguous to say."""
    if len(text.strip()) < 12:
        return None
    ranked = _language_detector().compute_language_confidence_values(text)
    if not ranked or ranked[0].value < MIN_LANGUAGE_CONFIDENCE:
        return None  # short or mixed text: better no guess than a wrong language
    return str(ranked[0].language.iso_code_639_1.name).lower()
