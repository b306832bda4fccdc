"""Set phrases of chat: "good luck", "oh my god", "talk soon", "piece of cake". Their nouns say
nothing about what a person cares about, yet each is a plain noun to every other rule of
:mod:`profiles.topics` ("luck", "god", "talk", "cake"), and on real chat they come back
every day. Cut out before the topic rules read a message, as a clause break: "good luck with
the exam" still teaches "exam".

No installed lexicon lists English idioms (wordfreq and lemminflect know words, VADER knows
sentiment, stopword lists know function words), so the list is by hand, of expressions that
taught a noun (tests/profiles/test_set_phrases.py). An expression is listed only where its
words are the idiom whatever surrounds them: "cup of tea" alone is a drink someone may love,
"not my cup of tea" is not; "it's a long story" is the idiom, "a long story" may be a book.
"""

from __future__ import annotations

import functools

import regex

# A word each of its expressions holds (the noun it would teach, most often), and the
# expressions, each a regular expression over
# lower-case words separated by single spaces (a space here matches any run of spaces); '
# matches either apostrophe. The ``regex`` package, not ``re``: a look-behind of words may
# then have a space of any width.
# Someone else's news congratulated on: their new job or baby is no interest of the one
# who says so ("congrats on the new job!" taught "job"); what they did may be ("congrats on
# the kafka migration" keeps it)
_CONGRATULATED = (
    r"(?:congrats|congratulations) on (?:the |your |ur )?(?:new )?"
    r"(?:job|promotion|baby|wedding|engagement|house|home|graduation|retirement)"
)

SET_PHRASES: dict[str, tuple[str, ...]] = {
    # wishes and sign-offs
    "luck": (r"(?:good|best of) luck", r"wish me luck"),
    "dreams": (r"sweet dreams",),
    "meal": (r"enjoy your meal",),
    "bon": (r"bon app[eé]tit",),
    "birthday": (r"happy birthday",),
    "congrats": (_CONGRATULATED,),
    "congratulations": (_CONGRATULATED, r"congratulations"),
    # praise of work done ("great job everyone" taught "job"), not a job described ("I got
    # a great job at google")
    "job": (
        r"(?<!a |the |my |your |his |her |new )"
        r"(?:good|great|nice|awesome|amazing|excellent|solid) job",
    ),
    "anniversary": (r"happy anniversary",),
    "holidays": (r"happy holidays",),
    "thanksgiving": (r"happy thanksgiving",),
    "easter": (r"happy easter",),
    "christmas": (r"merry christmas",),
    "xmas": (r"merry xmas",),
    "peace": (r"rest in peace",),
    "rest": (r"get some rest", r"(?:the )?rest of"),  # "the rest of the day to you"
    "bed": (r"time for bed",),
    # (not a talk someone gives: "the talk tomorrow about rust")
    "talk": (r"(?<!the |a |this |that |my |your )talk (?:to you )?(?:soon|later|tomorrow)",),
    "speak": (r"speak (?:to you )?(?:soon|later|tomorrow)",),
    "rain": (r"rain check",),
    # agreement, thanks, reassurance
    "worries": (r"no worries",),
    "deal": (r"(?:no )?big deal",),
    "pleasure": (r"my pleasure",),
    "plan": (r"sounds like a (?:good |great )?plan", r"that's the plan", r"what's the plan"),
    "plans": (r"any plans",),
    "update": (r"any update",),
    "updates": (r"any updates",),
    "works": (r"whatever works",),
    "thoughts": (r"my thoughts exactly",),
    "second": (r"on second thoughts?",),
    "taken": (r"point taken",),
    "opinion": (r"in my (?:humble |honest )?opinion",),
    "definition": (r"by definition",),
    "sense": (r"(?:make|makes|made|making) (?:no |any |much |more |some |little |total )?sense",),
    "lesson": (r"lesson learned",),
    "kudos": (r"kudos",),
    "alike": (r"great minds think alike",),
    "blown": (r"minds? blown",),
    "vibes": (r"good vibes",),
    "cents": (r"my two cents",),
    "crossed": (r"fingers crossed",),
    "heads": (r"(?:the|a) heads up",),
    "hugs": (r"sending (?:you )?(?:big )?hugs",),
    "mood": (r"big mood", r"(?:a )?whole mood"),
    "energy": (r"same energy",),
    "cap": (r"no cap",),
    "repeat": (r"on repeat",),
    # exclamations
    "god": (r"(?:oh )?my god", r"oh god", r"thank god", r"for god's sake"),
    "hell": (r"what the hell", r"hell (?:yeah|yes|no)"),
    "cow": (r"holy cow",),
    "wait": (
        r"wait what", r"(?:can't|cant|cannot|can not) wait",
        r"wait (?:a|one) (?:sec|second|minute|moment)",
    ),
    "struggle": (r"the struggle is real",),
    # stories and turns
    # someone who likes what follows: "big fan of baking" (not "the fan of my laptop")
    "fan": (r"(?:a|an|no|such a|big|huge|great|massive|major|biggest|die ?hard|longtime) fan of",),
    "fans": (r"(?:big|huge|great|massive|major|die ?hard|longtime) fans of",),
    "hope": (r"in (?:the )?hope (?:of|that)",),
    "hopes": (r"in (?:the )?hopes",),
    "story": (r"true story", r"long story short", r"it's a long story", r"story of my life"),
    "turn": (r"(?:my|your|his|her|our|their) turn",),
    # figures of speech
    "cake": (r"piece of cake",),
    "leg": (r"break a leg",),
    "flies": (r"time flies",),
    "run": (r"in the long run",),
    "face": (r"in the face of",),
    "seat": (r"(?:take|have|grab) a seat",),
    # news told or asked for ("have you heard the news?", "good news: the build is green"),
    # not news read ("I read the news every morning")
    "news": (
        r"(?:good|great|bad|sad|big|exciting|awesome|amazing|terrible|some|any) news",
        r"heard the news",
    ),
    "nutshell": (r"in a nutshell",),
    "changer": (r"game changer",),
    # how hard something was, or how worn out someone is ("elden ring kicked my butt all
    # weekend", "forearms are toast" taught "butt", "toast"); not a breakfast ("french toast
    # is the best", "the toast was burnt")
    "butt": (r"kick(?:s|ed|ing)? (?:my|your|his|her|our|their) butt",),
    "toast": (r"(?:i'm|im|i am|you're|we're|they're|is|are|was|were) toast",),
    # praise of someone or of how something went ("pogacar is a machine", "the wedding was a
    # dream"), not a machine or a dream spoken of ("the espresso machine is broken", "a dream
    # about sharks", "my dream job")
    "machine": (
        r"(?:is|was|'s|are|were) an? (?:absolute |total |complete )?machine"
        r"(?! (?:for|that|which|to|with))",
    ),
    "dream": (
        r"(?:is|was|'s) (?:an? )?(?:absolute |total )?dream(?! (?:about|of|job|team|house|car))",
        r"like a dream",
        r"dream come true",
    ),
    # what everyone talks about, taken up ("now i get the hype"); "the hype" spoken of alone
    # may still be a subject ("not sure the hype is worth it")
    "hype": (
        r"(?:get|got|understand|see) the hype",
        r"(?:live|lives|lived|living) up to the hype",
        r"worth the hype",
        r"believe the hype",
        r"the hype is real",
    ),
    "glance": (r"at first glance",),
    # a team's courtesies and logistics, said every day ("no rush", "good catch!", "can we hop
    # on a call?", "see thread" each taught its noun)
    "rush": (r"no rush",),
    "catch": (r"(?:good|nice|great) catch",),
    "call": (
        r"(?:hop|hopping|jump|jumping|get|got) on (?:a |the )?(?:quick )?call",
        r"(?:i'm|im|i am|he's|she's|they're|we're|you're|is|are|was|were) on call",
    ),
    "patience": (r"thanks? (?:you )?for (?:your|the) patience",),
    "reply": (r"sorry for the (?:late|slow|delayed) reply",),
    "response": (r"sorry for the (?:late|slow|delayed) response",),
    "blockers": (r"any blockers",),
    "thread": (
        r"(?:see|in|replied in|answered in|check the|check) (?:the )?thread"
        r"(?! (?:dump|dumps|pool|pools|safe|safety|local|count|id|model|leak|starvation))",
    ),
    "pun": (r"no pun intended",),
    "scenario": (r"(?:worst|best) case scenario",),
    "weather": (r"under the weather",),
    "moon": (r"over the moon", r"once in a blue moon"),
    "tea": (r"(?:not|isn't|wasn't) (?:really )?my cup of tea",),
    "hands": (r"my hands are full", r"all hands"),  # (the company meeting, too)
    "loop": (
        r"(?:keep|keeps|kept|keeping|stay|stays|stayed|staying) (?:\w+ )?in the loop",
        r"out of the loop",
    ),
    "page": (r"on the same page",),
    "fruit": (r"low.hanging fruit",),
    "boat": (r"in the same boat",),
    "fence": (r"on the fence",),
    "rocket": (r"rocket science",),
    "court": (r"(?:the )?ball is in (?:your|my|our|their|his|her) court",),
    "ear": (r"play (?:it|this|that|things) by ear",),
    "iceberg": (r"tip of the iceberg",),
    "arm": (r"an arm and a leg",),
    "bridge": (r"cross that bridge",),
    "scratch": (r"from scratch",),
    "cats": (r"raining cats and dogs",),
    "ice": (r"break(?:s|ing)? the ice", r"broke the ice"),
    "road": (r"hit the road",),
    "worlds": (r"(?:the )?best of both worlds",),
    "beans": (r"spill(?:s|ed|ing)? the beans",),
    "radar": (r"under the radar",),
    "cloud": (r"on cloud nine",),
    "base": (r"touch(?:es|ed|ing)? base",),
    "square": (r"back to square one",),
    # greetings of the other languages the bot reads, whose nouns are common enough to be
    # topics there ("buenas noches" taught "noche", "buenos dias" "dias")
    "días": (r"buen(?:os)? días",),
    "dias": (r"buen(?:os)? dias",),
    "tardes": (r"buenas tardes",),
    "noches": (r"buenas noches",),
    "dia": (r"bom dia",),
    "tarde": (r"boa tarde",),
    "noite": (r"boa noite",),
    "giorno": (r"buon giorno",),
    "sera": (r"buona sera",),
    "notte": (r"buona notte",),
    "tag": (r"guten tag",),
    "morgen": (r"guten morgen", r"goede ?morgen"),
    "abend": (r"guten abend",),
    "nacht": (r"gute nacht", r"goede ?nacht"),
    "journée": (r"bonne journée",),
    "soirée": (r"bonne soirée",),
    "nuit": (r"bonne nuit",),
    # … their wishes, congratulations and sign-offs ("¡feliz cumpleaños!", "buon appetito",
    # "parabéns!", "joyeux noël", "frohe Weihnachten", "eet smakelijk" each taught itself)
    "cumpleaños": (r"feliz cumpleaños",),
    "navidad": (r"feliz navidad",),
    "provecho": (r"buen provecho",),
    "auguri": (r"(?:tanti )?auguri",),
    "saluti": (r"(?:cari |tanti )?saluti",),
    "compleanno": (r"buon compleanno",),
    "natale": (r"buon natale",),
    "appetito": (r"buon appetito",),
    "complimenti": (r"complimenti",),
    "aniversário": (r"feliz aniversário",),
    "parabéns": (r"parabéns",),
    "natal": (r"feliz natal",),
    "abraços": (r"(?:um |muitos )?abraços",),
    "beijos": (r"beijos",),
    "anniversaire": (r"(?:joyeux|bon) anniversaire",),
    "noël": (r"joyeux noël",),
    "félicitations": (r"félicitations",),
    "bisous": (r"(?:gros )?bisous",),
    "geburtstag": (r"alles gute zum geburtstag",),
    "weihnachten": (r"fr(?:ohe|öhliche) weihnachten",),
    "wochenende": (r"schönes wochenende",),
    "glückwunsch": (r"herzlichen glückwunsch",),
    "appetit": (r"guten appetit",),
    "kerst": (r"fijne kerst",),
    "smakelijk": (r"eet smakelijk",),
    "hartelijk": (r"hartelijk dank",),
    # Brazilian chat's "hey bro" ("e aí mano?", "fala brother", "eae mano")
    "mano": (r"(?:e a[ií]|eae|eai|fala|salve|opa+|valeu|meu),? mano",),
    "brother": (r"(?:e a[ií]|eae|eai|fala|salve|opa+|valeu),? brother",),
    "fala": (r"fala,? (?:galera|pessoal|gente)",),
    "bola": (r"show de bola",),  # Brazilian "awesome"
    "côté": (r"(?:et )?de ton côté",),  # "and you?" ("rien de nouveau, et de ton côté?")
    "coté": (r"(?:et )?de ton coté",),
    "plaisir": (r"plaisir partagé",),  # "the pleasure is mine"
    "spécial": (r"rien de spécial",),  # "nothing special"
    "special": (r"rien de special",),
    # … and their courtesies ("mucho gusto" taught "gusto", "keine Sorge" "sorge")
    "gusto": (r"(?:mucho|con|me da|qué|que) gusto", r"el gusto es m[ií]o"),
    "souci": (r"(?:pas de|aucun|sans) souci",),
    "sorge": (r"keine sorge",),
    # Spanish "what's new with you?" and "a while" ("¿y tú qué cuentas?" taught "cuenta",
    # "deseando hablar un rato" "rato"; Portuguese "um rato" is a mouse)
    "cuentas": (r"(?:qué|que) (?:me |nos )?cuentas",),
    "rato": (r"(?:un|otro|al|buen) rato",),
    "sentirtelo": (r"(?:felice|contento|contenta) di sentirtelo",),
    # … and news told or asked for, as English's "good news" ("¿qué buena noticia?", "que
    # boa notícia" taught "noticia")
    "noticia": (r"(?:buena|gran|mala|qué) noticia",),
    "noticias": (r"(?:buenas|malas|qué) noticias",),
    "notícia": (r"(?:boa|grande|má) notícia",),
    "notícias": (r"(?:boas|más) notícias",),
    "notizia": (r"(?:buona|bella|brutta|che) notizia",),
    "notizie": (r"(?:buone|belle|brutte) notizie",),
    "nouvelle": (r"(?:bonne|mauvaise|quelle) nouvelle",),
    "nouvelles": (r"(?:bonnes|mauvaises) nouvelles",),
    "nachricht": (r"(?:gute|schlechte) nachricht",),
    "nachrichten": (r"(?:gute|schlechte) nachrichten",),
    "nieuws": (r"(?:goed|slecht) nieuws",),
}

_WORD = regex.compile(r"[^\W\d_]+")
@functools.lru_cache(maxsize=512)
def _pattern(words: frozenset[str]) -> regex.Pattern[str]:
    """The expressions of these words, as one pattern (the words a message holds: compiled
    once per combination met, a few hundred at most)."""
    phrases = (p for word in sorted(words) for p in SET_PHRASES[word])
    body = "|".join(p.replace("'", "['’]").replace(" ", r"\s+") for p in phrases)
    return regex.compile(r"(?<![\w'’])(?:" + body + r")(?![\w'’])", regex.IGNORECASE)


def without_set_phrases(prose: str) -> str:
    """``prose`` with each set phrase replaced by a clause break (a comma). Most messages hold
    none of their words: for them no pattern runs, only a split into words (~5 µs on a
    sentence); the others run the patterns of the words they hold (all of them at once
    took ~20 µs on a sentence, a tenth of an observed message's extraction)."""
    held = SET_PHRASES.keys() & _WORD.findall(prose.lower())
    return _pattern(frozenset(held)).sub(",", prose) if held else prose
