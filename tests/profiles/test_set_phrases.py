"""Set phrases of chat (profiles/set_phrases.py) teach nothing; what is said around them does."""

from __future__ import annotations

import pytest

from profiles.set_phrases import SET_PHRASES, without_set_phrases
from profiles.signals import SignalExtractor

extractor = SignalExtractor(max_keyphrases=5, max_chars=4000)


def found(text: str) -> list[str]:
    return [t for t, _ in extractor.extract(text).topics]


@pytest.mark.parametrize(
    "text",
    [
        "good luck!", "best of luck", "wish me luck", "sweet dreams", "enjoy your meal",
        "bon appétit", "happy birthday!", "happy holidays", "merry christmas",
        "rest in peace", "talk soon", "talk to you tomorrow", "speak later", "rain check?",
        "no worries", "no big deal", "my pleasure", "sounds like a plan",
        "sounds like a good plan", "that's the plan", "my thoughts exactly", "point taken",
        "lesson learned", "kudos", "great minds think alike", "mind blown", "good vibes",
        "my two cents", "fingers crossed", "oh my god", "thank god", "for god’s sake",
        "what the hell", "hell yeah", "holy cow", "the struggle is real", "true story",
        "long story short", "it's a long story", "story of my life", "your turn",
        "piece of cake", "break a leg", "time flies", "in a nutshell", "game changer",
        "at first glance", "on second thought", "no pun intended", "worst case scenario",
        "feeling under the weather today", "over the moon", "not my cup of tea",
        "my hands are full", "get some rest", "time for bed", "wait what", "whatever works",
        "what's the plan for today?", "any plans for the weekend?", "any update?",
        "in my humble opinion", "by definition", "you are not making sense",
        "that makes total sense", "big fan of", "I'm such a fan of", "huge fans of",
        "in hopes that it works", "in the hope that it helps", "can't wait till friday",
        "wait a sec", "thanks for the heads up", "sending hugs", "big mood", "same energy",
        "no cap", "on repeat", "keep me in the loop", "are we on the same page?",
        "that's the low-hanging fruit", "we're all in the same boat", "i'm on the fence about it",
        "it's not rocket science", "the ball is in your court", "let's play it by ear",
        "that's the tip of the iceberg", "it costs an arm and a leg",
        "we'll cross that bridge when we get there", "made it from scratch",
        "see you at the all hands", "it's raining cats and dogs", "break the ice",
        "hit the road", "the best of both worlds", "once in a blue moon", "spill the beans",
        "under the radar", "on cloud nine", "let's touch base", "back to square one",
        "that boss kicked my butt", "i'm toast", "now i get the hype", "worth the hype",
        "she is an absolute machine", "it was a dream", "a dream come true",
        "congrats on the new job!", "congratulations on your promotion", "Congratulations!",
        "great job everyone", "no rush", "good catch!", "can we hop on a call?",
        "I am on call this week", "thanks for your patience", "sorry for the late reply",
        "any blockers?", "see thread", "lgtm", "wfh today", "And the rest of the day to you.",
        "Have you heard the news?", "What good news?", "please take a seat",
    ],
)
def test_a_set_phrase_teaches_nothing(text: str) -> None:
    """Each taught its noun ("luck", "god", "talk", "cake"...) before the list."""
    assert found(text) == [], text


def test_a_message_without_their_words_is_left_as_it_is() -> None:
    text = "we moved the staging database to postgres"
    assert without_set_phrases(text) is text
    assert without_set_phrases("Good  LUCK with it") == ", with it"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("good luck with your thesis defense", ["thesis defense"]),
        ("what the hell is wrong with kubernetes today", ["kubernetes"]),
        ("oh my god the new zelda game is amazing", ["zelda game"]),
        ("talk soon, going climbing now", ["climbing"]),
        ("my turn to cook tonight, making ramen", ["ramen"]),
        ("happy birthday! hope the sushi dinner was good", ["sushi dinner"]),
        ("that was a piece of cake compared to the terraform migration",
         ["terraform migration"]),
        # the same nouns outside the expressions: kept
        ("the talk tomorrow about rust was great", ["rust", "talk"]),
        ("I love a good cup of tea", ["tea", "cup"]),
        ("I'm playing God of War", ["god of war"]),  # (a title: test_topics)
        ("any update on the kafka migration?", ["kafka migration"]),
        ("in my opinion rust is better", ["rust"]),
        ("by definition that is a bug", ["bug"]),
        ("any plans for the weekend? thinking about hiking", ["hiking"]),
        ("I bought a new bed frame", ["bed frame"]),
        ("we did a long run on sunday, marathon training", ["marathon training", "run"]),
        ("big fan of baking", ["baking"]),
        ("the fan of my laptop is loud", ["laptop", "fan"]),
        ("no cap, this pizza is amazing", ["pizza"]),
        ("i wear a cap every day", ["cap"]),
        ("my toddler wants bluey on repeat", ["bluey", "toddler"]),
        ("this album is on repeat", ["album"]),
        ("the bug is in the loop body", ["loop body", "bug"]),
        ("we built a rocket in the garage", ["rocket"]),
        ("made pasta from scratch with my kids", ["pasta"]),
        ("elden ring dlc kicked my butt all weekend", ["elden ring dlc"]),
        ("forearms are toast after the climbing gym", ["climbing gym"]),
        ("french toast is my favorite breakfast", ["french toast"]),
        ("the toast was burnt", ["toast"]),
        ("pogacar is a machine", ["pogacar"]),
        ("the espresso machine is broken", ["espresso machine"]),
        ("this laptop is a machine for video editing", ["video editing", "laptop", "machine"]),
        ("the wedding was a dream", ["wedding"]),
        ("i had a weird dream about sharks", ["shark", "dream"]),
        ("it's my dream job", ["dream job"]),
        ("tried pickleball and now i get the hype", ["pickleball"]),
        ("not sure the hype is worth it", ["hype"]),
        ("good job on the migration", ["migration"]),
        ("congrats on the kafka migration", ["kafka migration"]),
        ("looking for a good job in data science", ["data science", "job"]),
        ("check the thread dump", ["thread dump"]),
        ("my thread pool is exhausted", ["thread pool"]),
        ("the call with the vendor went well", ["vendor", "call"]),
        ("the catch block swallows errors", ["error", "catch block"]),
        ("the rest of the code is fine", ["code"]),
        ("good news: the build is green", ["build"]),
        ("I read the news every morning", ["news"]),
        ("In the face of ambiguity, refuse the temptation to guess.", ["ambiguity", "temptation"]),
        ("the rest is history podcast", ["history podcast", "rest"]),
    ],
)
def test_what_is_said_around_a_set_phrase_still_teaches(text: str, expected: list[str]) -> None:
    assert found(text) == expected, (text, found(text))


def test_each_listed_word_is_in_its_expressions() -> None:
    """A message is searched only for the expressions of the words it holds: an expression
    without its word would never be found."""
    for word, phrases in SET_PHRASES.items():
        for phrase in phrases:
            assert word in phrase, (word, phrase)


@pytest.mark.parametrize(
    ("text", "usual"),
    [
        ("¡Feliz cumpleaños!", "es"), ("Feliz Navidad a todos", "es"), ("Buen provecho", "es"),
        ("Tanti auguri!", "it"), ("Saluti", "it"), ("Buon compleanno!", "it"),
        ("Buon appetito", "it"), ("Complimenti!", "it"),
        ("Feliz aniversário!", "pt"), ("Parabéns!", "pt"), ("Abraços", "pt"), ("Beijos", "pt"),
        ("Joyeux anniversaire!", "fr"), ("Joyeux Noël", "fr"), ("Félicitations!", "fr"),
        ("Bisous", "fr"),
        ("Alles Gute zum Geburtstag!", "de"), ("Frohe Weihnachten", "de"),
        ("Schönes Wochenende", "de"), ("Herzlichen Glückwunsch", "de"), ("Guten Appetit", "de"),
        ("Fijne kerst", "nl"), ("Eet smakelijk", "nl"), ("Hartelijk dank", "nl"),
        # Brazilian chat's greetings, and German's "likewise" (interjections: topics.py)
        ("E aí mano?", "pt"), ("Fala brother", "pt"), ("Eae mano", "pt"), ("Eae irmão", "pt"),
        ("Opaa, como vai você?", "pt"), ("Danke, gleichfalls.", "de"),
        ("Show de bola", "pt"), ("Génial!", "fr"), ("Rien de spécial.", "fr"), ("Prima", "de"),
        # news told, as "good news" (the corpus's small talk)
        ("¿Qué buena noticia?", "es"), ("Que boa notícia?", "pt"),
        ("Das sind gute Nachrichten!", "de"), ("Nada interesante, ¿y tú qué cuentas?", "es"),
        ("Deseando hablar un rato.", "es"), ("Rien de nouveau, et de ton coté?", "fr"),
        ("Merci. Plaisir partagé.", "fr"),
    ],
)
def test_the_other_languages_wishes_teach_nothing(text: str, usual: str) -> None:
    """Each taught itself ("feliz cumpleaños", "auguri", "parabéns", "joyeux noël", "frohe
    weihnachten", "smakelijk"), as "happy birthday" and "bon appétit" did in English."""
    assert [t for t, _ in extractor.extract(text, usual=usual).topics] == [], text


@pytest.mark.parametrize(
    ("text", "usual", "expected"),
    [
        ("Feliz cumpleaños, disfruta la fotografía analógica", "es", ["fotografía analógica"]),
        ("Ich selbst benutze auch ein bisschen Python.", "de", ["python"]),
        ("ho tutto a portata di mano", "it", ["portata di mano"]),  # "mano": a hand
        ("Goed nieuws, de build is groen", "nl", ["build"]),
        ("Las cuentas del banco están mal", "es", ["cuenta"]),
        ("Comprei um rato sem fio", "pt", ["rato"]),
    ],
)
def test_what_follows_another_languages_wish_still_teaches(
    text: str, usual: str, expected: list[str]
) -> None:
    assert [t for t, _ in extractor.extract(text, usual=usual).topics] == expected
