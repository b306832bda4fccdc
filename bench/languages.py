"""Topics of chat in other languages: ``python -m bench --profiles`` (its last part).

Why: the profile-quality figures above are English only, and a review of chatterbot-corpus's
German, Spanish, French, Portuguese, Italian and Dutch files (forty-first session) found the
profile learning greetings, verbs and pronouns there ("und dir", "dankeschön", "benutze",
"qué pasa", "stai"): short lines no language could be named for were read with the English
rules, and no rule knew those languages' verbs. There are no labels for these files, so the
figures are proxies, printed with the topics themselves for a reader to judge, each language
read twice: as from a writer whose language the bot does not know, and as from one whose
platform reports it (``SignalExtractor.extract``'s ``usual``). They are the share of
small-talk lines (the ``greetings`` and ``conversations`` files, where English teaches 34 %,
nearly all real nouns: "cake", "python") that teach any topic, with the commonest of those
topics, and the share of lines of the subject files (food, movies, history…) that teach one.
"""

from __future__ import annotations

from collections import Counter

from bench.profiles import corpus

# chatterbot-corpus's folder → the locale a writer of it would have on their platform
LANGUAGES = {
    "english": None, "german": "de", "spanish": "es", "french": "fr", "portuguese": "pt",
    "italian": "it", "dutch": "nl",
}
SMALL_TALK = ("greetings", "conversations")
SHOWN = 8  # commonest small-talk topics printed per language


def lines_of(language: str) -> tuple[list[str], list[str]]:
    """(small-talk lines, subject lines) of one language of chatterbot-corpus, distinct."""
    small: list[str] = []
    subjects: list[str] = []
    files = corpus(language)
    for name in sorted(files):
        kept = small if name in SMALL_TALK else subjects
        for conversation in files[name]:
            kept.extend(conversation)
    return list(dict.fromkeys(small)), list(dict.fromkeys(subjects))


def run_languages() -> None:
    from profiles.signals import SignalExtractor

    extractor = SignalExtractor()
    for language, locale in LANGUAGES.items():
        small, subjects = lines_of(language)
        # unknown: no locale or preference says the writer's language; known: one does
        for usual in (None, locale) if locale else (None,):
            found: Counter[str] = Counter()
            taught = 0
            for text in small:
                topics = [topic for topic, _ in extractor.extract(text, usual=usual).topics]
                taught += bool(topics)
                found.update(topics)
            subject_taught = sum(
                bool(extractor.extract(text, usual=usual).topics) for text in subjects
            )
            shown = ", ".join(f"{topic} ({n})" for topic, n in found.most_common(SHOWN))
            label = f"{language}, {usual}" if usual else language
            print(f"{label:<15} small talk: {taught:>3} of {len(small):>3} lines teach a "
                  f"topic ({taught / max(len(small), 1):.0%}); subject lines: "
                  f"{subject_taught} of {len(subjects)} "
                  f"({subject_taught / max(len(subjects), 1):.0%})")
            print(f"                {shown or 'none'}")
