"""Topics, not tokens: which phrases of a message say what it is *about*.

Chat is mostly filler ("yeah", "haha", "pretty good", "I guess"); an interest is a noun phrase
that names something ("jazz piano", "superpowers", "distributed systems"). The rules below
use maintained resources instead of hand lists wherever one exists:

* **stopwords** per language: YAKE's lists (shipped in its wheel) plus ``stopwordsiso`` for
  languages YAKE lacks; English ones always count too, because chat mixes English in. In
  English, stopwords-iso also names the function words YAKE's list lacks ("versus"), and a
  countable noun YAKE's list holds ("value") is part of a compound ("key value store").
* **word frequency** (``wordfreq``, Zipf scale: 7 = "the", 3 = one in a million words): a
  phrase needs at least one word that is not everyday vocabulary, and a single word on its own
  must be rarer still. Specific words also weigh more (see :func:`specificity`).
* **part of speech** for English (``lemminflect``'s lexicon): a phrase must end in a noun and
  may not start with a common adjective, adverb or a verb used as one ("I *love* jazz"); a
  verb after a modal or auxiliary ("we should *switch*", "CI is *failing*"), after "to"
  (unless the verb before takes a "to" object: "listen to *jazz*"), before its object ("the
  api *returns* a 500") or, in its -s form, between its subject and object ("my daughter
  *loves* minecraft") is no topic. An everyday gerund is no topic alone ("learning") but
  heads a compound when the lexicon lists it as a noun too ("machine learning", "deep
  learning"). In a clause "if" or "when" opens, a word that agrees with the noun before it
  is the clause's verb ("if the weather *holds*"). A gerund whose regular past tense is
  commoner than itself names an errand, not an activity ("grabbing lunch", "switching";
  "hiking" stays).
* **everyday nouns** bound by their neighbours are no topic alone: one that frames what
  follows ("any *opinions* on sqlite", "a *book* about robots") or is cut from an everyday
  compound ("a small side *project*").
* **light verbs**: an everyday singular noun with no determiner, alone after a common verb
  that carries no sentiment, is part of the verb ("that makes *sense*", "take *care*"; "I
  love *music*" keeps its object).
* **lemmas** (``lemminflect`` for English nouns, ``simplemma`` for 54 languages):
  "superpowers"/"superpower" and "runtimes"/"runtime" are one topic; a plural the lexicon
  does not know folds when wordfreq finds its singular clearly commoner ("monads").
* **sentiment** (VADER's lexicon, shipped in ``vaderSentiment``): evaluative words ("good",
  "favorite", "awesome", "haha", "love", and gerunds of such verbs: "failing", "crashing")
  say how someone feels or something goes, not what about; they never open or close a topic
  nor stand alone as one.

* **given names** (the 1990 US census's, :mod:`profiles.given_names`): a word the lexicon does
  not know, as common as "kevin" (Zipf 4 to 5), is a person spoken of when its use as a name
  accounts for its frequency ("i'll ask kevin"; "mac" and "florida" are mostly other things);
  so is such a name capitalised and standing alone ("lunch with Kevin and Maria"), but not
  beside another capitalised word ("Kevin Durant") nor after a preposition of place.
* **address**: a name after a greeting, thanks or an honorific is the person spoken to or of
  ("thanks Sarah!", "Hello Mr. Davis"), up to the first word the lexicon knows.
* **the calendar** (CLDR's English names, shipped in ``babel``): a weekday, a month or a unit
  of time says when, not what about ("see you on Friday", "just a sec").

Chat interjections and laughter ("lol", "haha", "jajaja", "kkkk") are not in any stopword
list; :data:`INTERJECTIONS` and :data:`_LAUGHTER` cover them, and :data:`CLIPPED` the few
clipped words ("info", "pic") and link schemes ("https") no resource marks. What everyone in a
workspace says is removed later, at read time, against the workspace's background
(profiles/background.py).
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from profiles.accents import with_accents
from profiles.contractions import without_apostrophes
from profiles.given_names import country_name, given_name
from profiles.language_names import language_name
from profiles.set_phrases import without_set_phrases
from profiles.time_words import calendar_words, length_unit, time_word

# Chat interjections, address terms and texting shorthand: the words stopword lists (written
# for edited prose) do not contain. Shared with the formality score.
INTERJECTIONS = frozenset(
    ("lol", "lmao", "lmfao", "rofl", "haha", "hahaha", "hehe", "gonna", "wanna", "gotta")
    + ("yeah", "yea", "yeh", "yep", "yup", "nope", "nah", "hey", "hiya", "thx", "pls", "plz")
    + ("btw", "imo", "imho", "tbh", "omg", "cool", "awesome", "dude", "bro", "ok", "okay")
    + ("kinda", "sorta", "ya", "u", "ur", "np", "idk", "ikr", "hmm", "hm", "um", "umm", "uh")
    + ("oh", "ah", "aw", "wow", "whoa", "yay", "meh", "ugh", "oops", "huh", "hi", "hello")
    + ("bye", "thanks", "thank", "ty", "welcome", "sure", "alright", "anyway", "anyways")
    + ("dont", "cant", "wont", "didnt", "doesnt", "isnt", "im", "ive", "youre", "thats")
    + ("guys", "guy", "folks", "mate", "buddy", "yes", "no", "please", "sorry", "haha")
    + ("brb", "gtg", "ttyl", "afk", "gotcha", "lemme", "gimme", "dunno", "smh", "fyi", "asap")
    + ("tho", "til", "outta", "legit", "ngl", "tbf", "lmk", "idc", "ofc", "irl", "nvm", "omw")
    + ("wyd", "hbu", "hbd", "tysm", "yall", "bruh", "fam", "lowkey", "sus", "welp", "yikes")
    + ("oof", "rip", "ggs", "cheers", "tfw", "mfw", "afaik", "iirc", "fwiw", "gg", "ez")
    + ("jk", "yw", "istg", "hmu", "rn", "smth", "till")  # ("till next week": "until")
    # a team's shorthand ("lgtm", "wfh today", "ptal", "by eod"), and "let's" typed without
    # its apostrophe ("lets sync tomorrow" taught "lets sync")
    + ("lgtm", "wfh", "ptal", "eod", "eow", "tldr", "afaict", "lets")
    # adverbs as chat spells them ("she's *definately* my kid", "*prolly* gonna skip it",
    # "*defo* going" taught each)
    + ("definately", "definatly", "definetly", "defo", "deffo", "prolly", "probs", "obvs")
    # … and how much: "that game is *hella* grindy" taught "hella grindy"
    + ("hella", "highkey")
    # greetings and thanks in the other languages the bot detects most
    + ("bonjour", "salut", "merci", "hola", "gracias", "hallo", "danke", "ciao", "grazie")
    + ("obrigado", "obrigada", "oi", "tschüss", "adios", "adiós", "bonsoir", "coucou")
    + ("dankeschön", "servus", "moin", "buongiorno", "buonasera", "buonanotte", "salve")
    + ("goedemorgen", "goedemiddag", "goedenavond", "goedenacht", "goedendag", "hoi", "ehi")
    + ("olá", "valeu", "saludos", "saudações", "enchanté", "enchantée", "encantado")
    + ("gehts", "gibts")  # "wie gehts?": German chat's contractions, without the apostrophe
    + ("schade", "leid")  # "schade!", "tut mir leid": German's "what a pity", "sorry"
    # Brazilian chat's "hey" and "whoa" ("eae amigo", "opaa, como vai?" taught "eae
    # amigo", "opaa"; its "bro" is a set phrase: "mano" is a hand in es and it)
    + ("eae", "eai", "opa", "opaa", "eita", "vish")
    # German's "likewise", "a bit", "ever" ("danke, gleichfalls", "ein bisschen Python")
    + ("gleichfalls", "bisschen", "jemals")
    # "great!" answered alone: French "génial", German and Dutch "prima"
    + ("génial", "prima")
)
# Words that name no subject on their own ("what should I do this weekend?"); in a phrase
# they are fine ("weekend hiking").
GENERIC_ALONE = frozenset(
    ("weekend", "today", "tomorrow", "tonight", "yesterday", "morning", "evening", "night")
    + ("afternoon", "week", "month", "year", "day", "time", "thing", "stuff", "question")
    + ("help", "idea", "tips", "tip", "advice", "something", "example", "sound", "way")
    + ("lot", "bit", "kind", "sort", "guess", "point", "fact", "reason", "problem", "chance")
    + ("second", "minute", "hour", "moment", "place", "part", "side", "end", "start")
    # what one asks for or gives about a subject: "any recommendations?", "pushed a fix"
    + ("suggestion", "suggestions", "recommendation", "recommendations", "fix", "fixes")
    + ("opinion", "opinions", "person")
    # … and how many goes it took ("third *attempt* cracked again", "on the first try")
    + ("attempt", "attempts", "try", "tries")
    # what a person says they care about is the pastime named with it, not the word itself:
    # "my hobby is painting", "my passion is music" taught "hobby" and "passion" too
    + ("hobby", "passion")
)
# The commonest complaints chat reports ("out sick with the flu", "my kid has a fever",
# "nursing a hangover" taught "flu", "fever", "hangover"): how someone is, not what they care
# about — and a profile keeping it would hold health data nobody asked it to. Heads of a
# phrase too ("a killer headache"); a phrase they open is a subject ("flu vaccine").
_AILMENTS = frozenset(
    ("flu", "fever", "cough", "headache", "migraine", "hangover", "nausea", "sniffle")
)
# Where one is in a series, before its number: "on book 4 of 14", "the mandalorian season
# 3", "week 6 now", "stuck on act 2", "chapter 12 of dune" taught "book", "mandalorian
# season", "chapter". Neither a topic nor part of the title before it.
_SERIAL = frozenset(
    ("book", "season", "episode", "ep", "chapter", "volume", "vol", "part", "act", "scene")
    + ("page", "level", "stage", "round", "week", "day", "session", "lesson", "version")
)
# Where in a home or a street something happened, after a preposition of place and a
# determiner: "the bananas on the *counter*", "found her in the laundry *basket*", "a maple
# in the front *yard*", "ramen near the *station*" (each taught the place). A place someone
# cares about for what is done there stays, as the pastime it stands for ("in the garden",
# "in the kitchen", "at the gym"), and so does a place with a name ("near Shibuya station")
# or one opening a compound ("in the garden center", "at the office party").
_HOME_PLACES = frozenset(
    ("room", "bedroom", "bathroom", "hallway", "basement", "attic", "garage", "closet")
    + ("cupboard", "fridge", "freezer", "counter", "countertop", "desk", "shelf", "couch")
    + ("sofa", "armchair", "bed", "nightstand", "dresser", "floor", "rug", "carpet", "ceiling")
    + ("windowsill", "doorstep", "porch", "patio", "balcony", "yard", "backyard", "lawn")
    + ("driveway", "fence", "roof", "stair", "staircase", "basket", "hamper", "shed", "corner")
    + ("street", "sidewalk", "station", "office", "avenue", "road")
    # … and the woods one walks into ("foraging in the *woods* behind the house"; as written:
    # "wood" is a material, "made from the wood of an old oak")
    + ("woods",)
)
_LOCATIVES = frozenset(
    ("on", "in", "at", "by", "near", "off", "under", "behind", "beside", "inside", "outside")
    + ("around", "from", "onto", "into")
)
_ORDINAL_ENDINGS = frozenset(("st", "nd", "rd", "th"))  # "5th", split from its number
_PLACE_DETERMINERS = frozenset(("the", "my", "our", "your", "his", "her", "their", "a", "an"))
# … and the conditions someone lives with, health data too ("my dad has cancer", "my
# anxiety is bad today", "got covid again", "my kid has adhd"): what a phrase they open
# names stays ("cancer research", "adhd coaching app"), and "depression" is left out (the
# economy's: "the great depression")
_CONDITIONS = frozenset(
    ("covid", "insomnia", "asthma", "diabetes", "adhd", "autism", "anxiety", "cancer")
    + ("pregnancy", "miscarriage", "suicide", "dementia", "alzheimer", "alzheimers")
)
# … and the body they are felt in ("legs are dead", "forearms are toast", "my knee is
# acting up" taught "leg", "forearm", "knee"): as a phrase's head or alone; a phrase they
# open names something else ("leg day", "arm wrestling", "ear training")
_BODY_PARTS = frozenset(
    ("leg", "forearm", "knee", "shoulder", "neck", "ankle", "wrist", "elbow", "hip")
    + ("calf", "foot", "toe", "finger", "thumb", "hamstring", "quad", "glute", "shin", "spine")
    + ("stomach", "tummy", "belly", "throat", "tooth", "jaw", "hand", "eye", "ear")
)
# Meals, a time of day as much as a thing: alone no subject ("brb grabbing *lunch*", "what's
# for *dinner*" taught "lunch", "dinner"); in a phrase they are ("breakfast burrito",
# "dinner party"), so not GENERIC_ALONE, whose words no phrase opens with.
_MEALS = frozenset(("breakfast", "lunch", "dinner", "supper", "lunchtime", "dinnertime"))
_MEAL_TIMES = frozenset(("break", "time", "hour"))  # "lunch break", "dinner time"
# Clipped words and a link's scheme, unknown to the lexicon and rare enough to count: no
# subject alone ("any info on that?", "send me the pic", "see https stuff"), part of one in a
# phrase ("http client"). No resource marks a clipping (simplemma's Wiktionary maps only
# inflections), and a prefix rule would take "app" for "approach"; "www" has laughter's shape.
CLIPPED = frozenset(("info", "pic", "pics", "rec", "http", "https"))


@functools.lru_cache(maxsize=100_000)
def generic_alone(word: str, lang: str = "en") -> bool:
    """Names no subject on its own: one of :data:`GENERIC_ALONE`, or a word of the calendar
    or the clock ("friday", "june", "min": :mod:`profiles.time_words`), in English or in
    ``lang`` ("freitag", "vendredi")."""
    return word in GENERIC_ALONE or time_word(word) or (
        lang != "en" and (word in calendar_words(lang) or lemma(word, lang) in calendar_words(lang))
    )

# Laughter and stretched words in several languages: haha, jajaja, hehe, kkkk, rsrs, xD, 555.
_LAUGHTER = re.compile(
    r"^(?:([hjk][aeiou])\1+h?|[hk]{3,}|(?:rs){2,}|x+d+|5{3,}|w{3,}|lo+l+|l+m+f*a+o+|"
    r"a*h+a+h*|m+d+r+|o+h+|a+w+|u+g+h+|h+m+|u+m+|e+r+m+)$"
)
_STRETCHED = re.compile(r"([^\W\d_])\1\1")  # "soooo", "yesss" (not "hal9000")
# A word written with digits in it, letters first ("k8s", "ec2", "mp3", "i18n", "gpt4"), is
# one token: split, "our k8s cluster" taught "cluster", "uploading to s3" nothing, "the i18n
# strings" nothing. A word of the lexicon or a letter before a number is a version or a
# label, split as before ("python3" → "python", "q3", "v2", "x86"); see _versions_apart.
_WITH_DIGITS = r"[^\W\d_]+\d[^\W_]*"
TOKEN = re.compile(_WITH_DIGITS + r"|[^\W\d_]+(?:['’][^\W\d_]+)*|\d+", re.UNICODE)
_VERSIONED = re.compile(r"([^\W\d_]+)(\d+)", re.UNICODE)
_LETTER_THEN_DIGIT = re.compile(r"[^\W\d_]\d", re.UNICODE)
# English topic rules read a hyphenated compound as one word ("sci-fi", "t-shirt",
# "open-source", "on-call"): split, its halves taught "fi", "shirt", "source project" and
# "call burnout". Judged like any word the lexicon does not know, by wordfreq's own count of
# the compound: "k-pop" (4.6) names a thing, "follow-up" (5.1) and "check-in" (5.3) are
# everyday, "full-time" and "real-time" (5.5) too common to open a topic.
# Not after a number: "20th-century" is "20" and "th", "century" as before.
_HYPHENATED_TOKEN = re.compile(
    _WITH_DIGITS
    + r"|(?<!\d)[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+)*|[^\W\d_]+(?:['’][^\W\d_]+)*|\d+",
    re.UNICODE,
)


def words_of(text: str, pattern: re.Pattern[str] = TOKEN) -> list[str]:
    """The tokens of ``text``, a word written with digits in it kept whole unless it is a
    version or a label (:func:`_versions_apart`)."""
    tokens = pattern.findall(text)
    return _versions_apart(tokens) if _LETTER_THEN_DIGIT.search(text) else tokens


def _versions_apart(tokens: list[str]) -> list[str]:
    """"python3", "web3", "q3", "x86": a word the English lexicon knows, or one letter,
    before a number is a version or a label — the word and the number, as they were read
    before such words were kept whole; "ec2", "mp3", "gpt4", "k8s" stay one word."""
    apart: list[str] = []
    for token in tokens:
        # (most tokens hold no digit, or only digits: no pattern for them)
        versioned = (
            _VERSIONED.fullmatch(token) if token[-1].isdigit() and not token.isdigit() else None
        )
        if versioned and (len(versioned[1]) == 1 or _pos(versioned[1].lower())):
            apart.extend(versioned.groups())
        else:
            apart.append(token)
    return apart


_SENTENCE_END = re.compile(r"[.!?…\n]")
_BREAKS = re.compile(r"[.!?;:,()\[\]{}\"“”«»…/|\n\t*_~=+<>]+|\s[-–—]+\s")
# Words a verb follows: "I love", "we talk", "to work", "let me check" — the next word is a
# verb, not a topic.
_SUBJECTS = frozenset(
    ("i", "you", "we", "they", "he", "she", "to", "dont", "don't", "i'd", "i'll", "i'm")
    + ("can", "could", "would", "should", "will", "might", "must", "lets", "let's", "just")
    + ("am", "is", "are", "was", "were", "be", "been", "being", "i've", "we're", "you're")
    + ("please", "pls", "plz", "let")
    + ("gonna", "wanna", "gotta")  # "gotta *run*", "wanna *grab* lunch?"
    # a negated auxiliary, its subject left out: "can't *sleep* again", "didn't *sleep* at
    # all" taught "sleep" (with and without the apostrophe: see contractions.py)
    + ("can't", "cant", "cannot", "won't", "wont", "couldn't", "couldnt", "wouldn't")
    + ("wouldnt", "shouldn't", "shouldnt", "didn't", "didnt", "doesn't", "doesnt")
    # "does anyone *play* pickleball?" taught "play pickleball"
    + ("anyone", "anybody", "someone", "somebody", "everyone", "everybody", "nobody")
)
# Verbs whose "to" opens their object, seldom an infinitive: "listen to *jazz*", "switched to
# *rust*", "addicted to *chess*". After "to" a word that can be a verb is read as one ("need
# to *run*"); after these it is their object. Neither lemminflect nor wordfreq knows which
# verbs take a "to" object, so the list is short and by hand: verbs of listening, of moving or
# changing to something, and of giving oneself to it. Not "go" ("going to *cook*"), "use" ("I
# used to *play*"), "return" or "come": each takes an infinitive as often.
_TO_OBJECT_VERBS = frozenset(
    ("listen", "switch", "move", "migrate", "convert", "upgrade", "subscribe", "addict")
    + ("devote", "dedicate", "introduce")
)
# Numbers spelled out, which YAKE's list holds only some of: "my grandma turned *ninety*",
# "*sixty* people came", "a *hundred* bucks" taught "ninety", "sixty", "hundred buck".
_NUMBERS = frozenset(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    + ("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen")
    + ("eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy")
    + ("eighty", "ninety", "hundred", "hundreds", "thousand", "thousands", "million")
    + ("millions", "billion", "billions", "dozen", "dozens")
)
# How many, as a number says it: "*fewer* crowds", "*lots* of snow", "*plenty* of room"
# ("fewer crowd" was a topic); "less", "more", "most" are the stopword lists'.
_QUANTIFIERS = frozenset(("fewer", "lots", "plenty"))
# The people of one's family and circle (see is_filler): English, singular and plural.
_KIN = frozenset(
    word + ending
    for word in (
        "son", "daughter", "wife", "husband", "kid", "mom", "mum", "dad", "mother", "father",
        "parent", "brother", "sister", "sibling", "boyfriend", "girlfriend", "fiance",
        "fiancee", "spouse", "grandma", "grandpa", "grandmother", "grandfather", "cousin",
        "aunt", "uncle", "niece", "nephew", "stepson", "stepdaughter", "partner",
        # and the people one lives and works beside: "my friend Jessica loves climbing"
        "friend", "bestie", "roommate", "flatmate", "housemate", "coworker", "colleague",
        "neighbor", "neighbour",
    )
    for ending in ("", "s")
) | frozenset(("child", "children"))
# Plurals that name something of their own, not many of the singular: a music genre, a
# team or trade, a field, a game ("the blues" is no "blue", "sales" no "sale").
_PLURAL_NAMES = frozenset(
    ("blues", "sales", "statistics", "darts", "dominoes", "billiards", "checkers", "marbles")
    + ("operations", "communications", "relations", "humanities", "logistics", "olympics")
)
# Verbs of the senses that link a noun to how it is (see _linking), with their -s forms
_LINKING_VERBS = frozenset(
    verb + ending
    for verb in ("taste", "smell", "sound", "look", "feel", "seem")
    for ending in ("", "s")
)
# Forms of "be": after them a verb is a participle ("is failing"), else a noun follows.
_BE = frozenset(("am", "is", "are", "was", "were", "be", "been", "being"))
# A determiner means a noun phrase follows: "are my comfort watch" → "comfort" is no verb.
_DETERMINERS = frozenset(
    ("my", "your", "his", "her", "our", "their", "the", "a", "an", "these", "those", "some")
    + ("any", "every", "each", "no", "its")
)
# A clause that opens with a verb-able word followed by one of these is an instruction:
# "check the cable", "hold it", "plug in the router", "catch you later".
# The first two are an object, the third a particle: after a verb ("I love *exploring* my
# hardware", "the build keeps *timing* out") a gerund before one is still a verb, before a
# preposition it is not ("enjoy *programming* in").
_OBJECT_NOUNS = _DETERMINERS | frozenset(("it", "that", "this", "them", "me", "us", "him", "you"))
_PARTICLES = frozenset(("out", "up", "off", "down"))
_OBJECTS = _OBJECT_NOUNS | _PARTICLES | frozenset(("in", "on", "if", "whether", "for"))
# What opens a verb's object ("returns *a* 500", "updates *the* index") …
_OBJECT_ARTICLES = frozenset(
    ("a", "an", "the", "my", "your", "his", "her", "our", "their", "its", "half")
)
# … unless it opens a measure of time or amount: "letters *a* day", "notes *the* same way".
_MEASURES = frozenset(
    ("day", "week", "month", "year", "weekend", "night", "morning", "evening", "hour", "minute")
    + ("time", "lot", "bit", "few", "couple", "same", "while", "moment")
)
# Before "bed" ending its phrase: where one sleeps, or when ("before *bed*", "out of *bed*")
_BED_PREPOSITIONS = frozenset(("before", "after", "in", "to", "for", "from", "of", "till", "until"))
# Words that say how much of a quality something has
_INTENSIFIERS = frozenset(("so", "very", "too", "super", "quite", "extremely", "incredibly"))
# … and the other adverbs before how something is, after which a word the lexicon does not
# know is an adjective chat made up ("my code is really *janky*", "the raid is kinda
# *grindy*" each taught it); after "still" only one made with "-y" ("my bowls are still
# *wonky*"): "still" goes with nouns as well ("the best game is still *zelda*")
_DEGREE = _INTENSIFIERS | frozenset(
    ("really", "pretty", "kinda", "sorta", "hella", "lowkey", "highkey", "fairly", "rather")
    + ("totally", "somewhat", "slightly", "bit", "little", "way", "mega")
)
# Doing again, or all at once, what another verb says: never a subject ("*rewatching*
# breaking bad" taught "rewatching breaking", "*rewatching* the office" "rewatching")
_REDOING = frozenset(
    ("rewatching", "rewatched", "rewatch", "rereading", "reread", "replaying", "replayed")
    + ("binging", "bingeing", "binged")
)
# Nouns of a quantity, a portion or a container, which before "of" say how much of what
# follows, not what (a closed class: "a cup of coffee", "a batch of cookies"); after a noun
# they head a compound of their own ("the world cup of 2022")
_PARTITIVES = frozenset(
    ("cup", "cups", "glass", "glasses", "mug", "mugs", "bowl", "bowls", "plate", "plates")
    + ("slice", "slices", "piece", "pieces", "pair", "pairs", "batch", "batches", "bunch")
    + ("bunches", "box", "boxes", "bag", "bags", "bottle", "bottles", "can", "cans", "jar")
    + ("jars", "pot", "pots", "pack", "packs", "packet", "packets", "handful", "loaf")
    + ("loaves", "bar", "bars", "spoonful", "pinch", "dozen", "dozens", "ton", "tons")
    + ("load", "loads", "pile", "piles", "stack", "stacks", "heap", "heaps", "bucket")
    + ("buckets", "basket", "baskets", "carton", "cartons", "scoop", "scoops", "shot", "shots")
    # … and which sort of it, as "kind" and "sort" (generic alone) say: "identify the *type*
    # of bird in the photo" taught "type"
    + ("type", "types", "variety", "varieties")
    # … and by which sense: "love the *smell* of fresh bread", "the *taste* of homemade
    # pasta" taught "smell", "taste"
    + ("smell", "smells", "scent", "taste", "aroma", "sight", "feel")
)
# Greetings, thanks and honorifics: the names right after one are a person spoken to or of,
# not what a message is about ("thanks Sarah!", "hey mike, how was the concert?", "ask
# Dr. Smith"); see _addressee.
_HONORIFICS = frozenset(("mr", "mrs", "ms", "mx", "dr", "prof"))
_GREETINGS = _HONORIFICS | frozenset(
    ("hi", "hey", "hello", "hiya", "yo", "thanks", "thank", "thx", "ty", "bye", "welcome")
    + ("congrats", "cheers")
)
# What a greeting goes on with before the name: "thank you so much Anna", "hey there Tom".
_GREETING_TAIL = frozenset(
    ("you", "u", "ya", "so", "much", "very", "a", "lot", "again", "there", "dear", "all", "too")
)
# Conjunctions that open a clause with its own finite verb (not "since", "after": also
# prepositions).
_SUBORDINATORS = frozenset(
    ("if", "when", "whenever", "unless", "until", "because", "whether")
    # … and a question's word opening a clause inside a sentence: "explain how dns *works*",
    # "no idea why postgres *crashes*" (they taught "dns work", "postgres crash")
    + ("how", "why")
)
# Verbs of saying and thinking whose object is a clause with its own verb, its "that" left
# out: "Kevin said the tests *pass*", "I think the build *works*" (taught "tests pass").
_REPORTING = frozenset(
    ("said", "says", "say", "think", "thinks", "thought", "heard", "hear", "guess", "bet")
    + ("reckon", "reckons", "hope", "hopes", "noticed", "believe", "believes", "claims")
)
# After these a given name is a place: "hiking in *virginia*", "a week in *orlando*" (the
# census names places too; see _placed_name). Not "to", "with", "from" or "at": "talk to
# kevin", "lunch with sarah", "an email from josh", "at chelsea's".
_PLACE_PREPOSITIONS = frozenset(
    ("in", "near", "around", "across", "throughout", "outside", "visiting", "via")
)
# After a singular noun and a verb's -s form, these say when or where it happens: "our book
# club *meets* on thursdays", "the train *leaves* at 6" (the verb was part of the topic); so
# does "for" ("the recipe *calls* for flour")
_TIME_PREPOSITIONS = frozenset(("on", "at", "every", "after", "before", "until", "during"))
_WHEN_OR_OBJECT = _TIME_PREPOSITIONS | _OBJECT_ARTICLES | {"for"}  # (see _verb_between)
# Gerunds of doing something to a thing, which open chat's clauses with their object:
# "reading pachinko rn", "watching severance tonight", "learning rust this year".
_OBJECT_GERUNDS = frozenset(
    ("reading", "rereading", "watching", "rewatching", "learning", "playing", "replaying")
    + ("studying", "practicing", "practising", "streaming", "binging", "bingeing")
)
# … and how rare that object is (Zipf): "reading *pachinko*" 2.4, "learning *rust*" 3.7;
# not "reading *glasses*" 4.4, "learning *curve*" 4.2, "playing *cards*" 4.6.
OBJECT_RARE_MAX = 4.0
# Verbs of reaching a number, which may follow a noun as its verb: "my channel *hit* 10k".
_MILESTONE_VERBS = frozenset(
    ("hit", "hits", "reached", "reaches", "crossed", "crosses", "passed", "passes", "topped")
    + ("tops", "surpassed", "surpasses", "broke", "breaks")
)
# After these a word ending in -s that can be a verb is one ("that sounds", "it works").
_THIRD_PERSON = frozenset(("it", "that", "this", "he", "she", "which", "who", "what"))
# Zipf cut-offs (wordfreq): a multi-word topic needs one word rarer than PHRASE_MAX; a single
# word stands alone only if rarer than SINGLE_MAX ("music" 5.5 stays, "people" 6.2 does not),
# and an English compound whose modifiers are in their plain form needs only a word that
# could ("board games": "board" 5.2, "world cup"; not "makes sense").
PHRASE_MAX = 5.0
SINGLE_MAX = 5.6
# A common adjective or adverb ("big", "whole") is not a topic's first word; rarer ones
# classify ("urban gardening", "classical music").
MODIFIER_MAX = 5.5
# An evaluative verb-noun stands alone only when uncommon ("joke" yes, "love", "hope" no).
EVALUATIVE_VERB_MAX = 5.0
# VADER's valence below which a noun gerund's own sentiment is incidental (see evaluative)
MILD_VALENCE = 1.0
# Below this, a word the lexicon also lists as an adjective is taken as the noun ("piano").
RARE_NOUN_MAX = 4.7
# A verb this common inside a run of words ends one phrase and starts another.
CLAUSE_VERB_MIN = 5.5
# … unless its verb reading is this much rarer (Zipf) than the word: a noun ("team")
RARE_VERB_MARGIN = 1.5
# A plain form after a plural noun is its verb when read as one at most this much rarer
# than the word ("crash": "crashed" 0.5 rarer; not "store", 0.8: "the games store")
PLURAL_SUBJECT_MARGIN = 0.6
# Words the English lexicon does not know (lemminflect's holds no proper nouns nor newer
# words: "anime", "app", "podcast", "japanese", "kubernetes") are nouns unless everyday
# vocabulary ("john" 5.4), or the name of a language ("french" 5.1: language_names); chat's
# own words are INTERJECTIONS.
UNKNOWN_MAX = 5.0
# From this frequency up to UNKNOWN_MAX, such a word is a noun only if it is no given name
# ("i'll ask kevin": given_names). Rarer census names count as before: they are as often
# someone famous or a brand as a colleague ("elvis", "napoleon", "mercedes").
UNKNOWN_NAME_MIN = 4.0
# A word of stopwords-iso's English list unknown to the lexicon is a function word only when
# this common ("versus" 4.3, "twenty" 4.7; see _connective).
CONNECTIVE_MIN = 4.0
# A gerund is an interest ("climbing", "programming") unless it is everyday ("thinking").
GERUND_MAX = 4.8
# … but an -ing noun this much (Zipf) commoner than its verb names a thing ("wedding").
NOUN_FIRST_MARGIN = 1.0
# Without a part-of-speech lexicon (other languages) a single word must be rarer …
OTHER_SINGLE_MAX = 5.0
# … and one this common no infinitive: "aprender", "spiegare" (below it an infinitive
# written so names the activity: "me gusta cocinar")
OTHER_PLAIN_MAX = 4.6
MAX_WORDS = 3
# A noun whose plural is this common is a countable noun ("values" 4.7; "viae", "nobodies" no).
COUNT_NOUN_MIN = 3.0
# A word the lexicon does not know folds to its singular (minus "-s") when that is this much
# commoner ("monad" 2.35 vs "monads" 2.03; not "redi" 2.0 vs "redis" 1.98).
SINGULAR_MARGIN = 0.2
# An everyday noun (Zipf): alone it is no topic where the words around bind it ("opinions
# on sqlite", "a small side project"); "coffee?" or "the laptop" still are.
EVERYDAY_MIN = 4.7


@functools.lru_cache(maxsize=64)
def stopwords(lang: str) -> frozenset[str]:
    """YAKE's list for ``lang`` (or stopwords-iso's when YAKE has none), plus English.
    stopwords-iso's English list is not used: it holds topic words ("computer", "novel")."""
    import stopwordsiso

    folder = _yake_stopword_dir()
    words: set[str] = set()
    for code in {lang, "en"}:
        path = folder / f"stopwords_{code}.txt"
        try:
            words.update(
                w.strip().lower()
                for w in path.read_text(encoding="utf-8", errors="ignore").splitlines()
            )
        except OSError:
            if code != "en" and stopwordsiso.has_lang(code):
                words.update(stopwordsiso.stopwords(code))
    if lang != "en" and stopwordsiso.has_lang(lang):
        # … and stopwords-iso's, which hold what YAKE's lack ("quizás", "bastante", "tus",
        # "spesso", "piuttosto", "beetje", "drie" were topics), less the few of its words
        # that name a subject (its lists hold generic nouns too — "tiempo", "esempio",
        # "pessoas" — which no interest is lost without)
        words.update(set(stopwordsiso.stopwords(lang)) - _ISO_SUBJECT_WORDS.get(lang, frozenset()))
    words.update(_FAVOURITE.get(lang, ()))
    words.update(_FUNCTION_WORDS.get(lang, ()))
    words.discard("")
    return frozenset(words)


@functools.lru_cache(maxsize=1)
def foreign_function_words() -> frozenset[str]:
    """The stopwords of the other languages the bot reads that are common there and rare in
    English ("nicht", "ganz", "bem", "sono", "eres", "een": ~850 words), as
    :func:`build_foreign_function_words` finds them, read from the file it wrote
    (``data/foreign_function_words.txt``): finding them reads six languages' word lists,
    ~2.5 CPU-s, which every extraction worker would spend."""
    text = (resources.files("profiles") / "data" / FOREIGN_FUNCTION_WORDS).read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def build_foreign_function_words() -> frozenset[str]:
    """Another language's stopwords common there (Zipf ≥ :data:`FOREIGN_COMMON`) and rare
    in English (below :data:`FOREIGN_RARE_IN_EN`), which the English lexicon does not know
    and CLDR names no language or country by. The data file holds them sorted, one a line,
    under a comment line saying so (``print('\\n'.join(sorted(b())))`` with this function as
    ``b`` writes the words); a test checks the file against this function."""
    english = stopwords("en")
    found: set[str] = set()
    for lang in NEAR_LANGUAGES:
        for word in stopwords(lang):
            if (
                len(word) > 2 and word.isalpha() and word not in english
                and zipf(word, lang) >= FOREIGN_COMMON and zipf(word, "en") < FOREIGN_RARE_IN_EN
                and not _pos(word) and not _cldr_named(word)
            ):
                found.add(word)
    return frozenset(found)


FOREIGN_FUNCTION_WORDS = "foreign_function_words.txt"
# How common in its own language, and how rare in English, a stopword of another language
# must be to count as no English topic (foreign_function_words)
FOREIGN_COMMON = 5.5
FOREIGN_RARE_IN_EN = 3.5
# Languages whose everyday words English borrows or shares most: a text more familiar to one
# of them than to English is not plainly English (profiles/signals.py), and their function
# words are none of an English line's topics (foreign_function_words)
NEAR_LANGUAGES = ("fr", "es", "de", "pt", "it", "nl")
# Adverbs and conjunctions neither list holds ("Ganz okay", "Sebbene mai sia spesso meglio",
# "sin da subito" taught "ganz", "sebbene", "ovvio sin")
_FUNCTION_WORDS: dict[str, tuple[str, ...]] = {"de": ("ganz",), "it": ("sebbene", "sin")}
# "favourite" in the languages whose nouns it follows: English drops it as a word of
# sentiment (VADER, English only), and "libro favorito", "comida favorita", "favoriete boek"
# were topics ("mi comida favorita es el sushi" now teaches "sushi")
_FAVOURITE: dict[str, tuple[str, ...]] = {
    "es": ("favorito", "favorita", "favoritos", "favoritas", "preferido", "preferida")
    + ("preferidos", "preferidas"),
    "pt": ("favorito", "favorita", "favoritos", "favoritas", "preferido", "preferida")
    + ("preferidos", "preferidas"),
    "it": ("preferito", "preferita", "preferiti", "preferite", "favorito", "favorita")
    + ("favoriti", "favorite"),
    "fr": ("préféré", "préférée", "préférés", "préférées", "favori", "favorite", "favoris")
    + ("favorites",),
    "nl": ("favoriete", "favoriet", "lievelings"),
}
# stopwords-iso's words that name a subject in a phrase or alone: "mac os", "sal marina",
# "voie lactée", "langage naturel", "valor nutricional" ("os" is also Spain's "you all")
_ISO_SUBJECT_WORDS: dict[str, frozenset[str]] = {
    "es": frozenset(("os", "sal", "valor", "empleo")),
    "it": frozenset(("futuro", "registrazione", "titolo", "conclusione", "forza")),
    "pt": frozenset(("caminho", "corrente", "povo", "valor")),
    "fr": frozenset(("valeur", "voie", "naturel", "naturelle", "naturelles", "sujet", "pièce"))
    | frozenset(("mot", "parole", "force", "essai", "état", "mine", "début", "retour")),
    "de": frozenset(("startseite", "suche")),
}


@functools.lru_cache(maxsize=1)
def _bare_contractions() -> frozenset[str]:
    """English contractions typed without their apostrophe ("couldnt", "shes"), from the
    contractions both English stopword lists hold (stopwords-iso's has "she's", "how'd";
    YAKE's has neither)."""
    import stopwordsiso

    return without_apostrophes(stopwordsiso.stopwords("en") | stopwords("en"))


@functools.lru_cache(maxsize=1)
def _yake_stopword_dir() -> Path:
    """YAKE's stopword lists, found without importing YAKE (it pulls networkx and numpy)."""
    spec = importlib.util.find_spec("yake")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "core" / "StopwordsList"


def warm_up() -> None:
    """Load the English lexicons this process reads when it weighs, merges and names a
    profile's topics (wordfreq's list, lemminflect, VADER, the stopword lists, Babel's
    calendar and languages, the census's given names): about 0.7 CPU-s, once. Extraction
    loads its own in its worker processes, not here, so without this the first reply after
    start loads them on the event loop and every other reply and the Discord heartbeat wait
    for it (issue 16). Call it in a thread, at start."""
    evaluative("pianos")  # VADER, lemminflect's parts of speech
    lemma("pianos", "en")  # lemminflect's lemmas
    zipf("jazz", "en")  # wordfreq's English list
    is_filler("the")  # the stopword lists
    time_word("friday")  # Babel's calendar data
    language_name("french")  # … and its names of languages
    given_name("kevin", zipf("kevin", "en"))  # the census's given names, CLDR's countries
    foreign_function_words()  # other languages' function words (a file)


@functools.lru_cache(maxsize=200_000)
def zipf(word: str, lang: str) -> float:
    """Zipf frequency of ``word`` in ``lang`` (English when wordfreq lacks the language)."""
    import wordfreq

    try:
        return float(wordfreq.zipf_frequency(word, lang))
    except (LookupError, ImportError):  # ja/ko/zh need optional tokenizers: use English
        return float(wordfreq.zipf_frequency(word, "en"))


@functools.lru_cache(maxsize=1)
def _valences() -> dict[str, float]:
    """VADER's sentiment lexicon (word → valence), read from the installed package."""
    raw = (resources.files("vaderSentiment") / "vader_lexicon.txt").read_bytes()
    text = raw.decode("utf-8", errors="ignore")
    found: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            try:
                found[parts[0].lower()] = float(parts[1])
            except ValueError:
                continue
    return found


@functools.lru_cache(maxsize=100_000)
def evaluative(word: str) -> bool:
    """A word that carries sentiment and does not name a thing: "good", "favorite",
    "haha"; "love"/"hope" when used that commonly. "war", "comedy", "joke" still name one.
    A gerund whose verb carries sentiment says how something goes, not what someone does
    ("failing", "crashing", "struggling"; "climbing", "hiking" carry none)."""
    lexicon = _valences()
    pos = _pos(word)
    if word.endswith("ing") and "VERB" in pos:
        own = lexicon.get(word)
        if (
            own is not None and "NOUN" in pos and abs(own) < MILD_VALENCE
            and zipf(word, "en") < GERUND_MAX
        ):
            # a noun the gerund is in its own right, of mild sentiment (VADER's own entry
            # for it, not its verb's) and no everyday word: the thing it names ("cutting
            # board": "cutting" -0.5, "cut" -1.1; "troubleshooting"; not "feeling")
            return False
        if _gerund_valence(word, lexicon):
            return True
    if word not in lexicon and word.replace("our", "or") not in lexicon:  # "favourite"
        return False
    if not pos or pos & {"ADJ", "ADV"} or "NOUN" not in pos:
        return True
    return _evaluative_verb(word)


def _evaluative_verb(word: str) -> bool:
    """A noun :func:`evaluative` counts for its verb, a common one of sentiment: "love",
    "support", "help", "care" ("I *love* it"). Beside another noun in a phrase it is the
    noun, which names a thing: "*support* group", "customer *support*", "*love* song"."""
    pos = _pos(word)
    return (
        "NOUN" in pos and "VERB" in pos and not pos & {"ADJ", "ADV"}
        and zipf(word, "en") >= EVALUATIVE_VERB_MAX
    )


def _gerund_valence(word: str, lexicon: dict[str, float]) -> bool:
    return word in lexicon or any(verb in lexicon for verb in _verbs(word))


@functools.lru_cache(maxsize=100_000)
def _pos(word: str) -> frozenset[str]:
    """Parts of speech the English lexicon allows for ``word`` (empty when unknown)."""
    import lemminflect

    found = frozenset(lemminflect.getAllLemmas(word))
    return found | {"NOUN"} if word in _CLIPPED_NOUNS else found


# Clipped nouns the lexicon lists only as verbs: "does anyone know a good *vet*?" taught
# nothing ("vet" a verb ending its phrase), and neither did "the *ref* was awful".
_CLIPPED_NOUNS = frozenset(("vet", "vets", "ref", "refs"))


@functools.lru_cache(maxsize=100_000)
def lemma(word: str, lang: str) -> str:
    """The dictionary form of a topic's head word. English uses the noun lemma (plural →
    singular; a gerund such as "climbing" stays itself), other languages simplemma."""
    import lemminflect
    import simplemma

    if lang == "en":
        if "-" in word:  # a compound's last part inflects: "t-shirts" → "t-shirt"
            first, _, last = word.rpartition("-")
            return f"{first}-{lemma(last, lang)}"
        # only plurals of known nouns fold ("media" is not "medium", "solaris" not "solari")
        if not word.endswith("s") or word in _PLURAL_NAMES:
            return word
        if not _pos(word):
            return _unknown_singular(word)
        if "NOUN" not in _pos(word):
            return word
        nouns = lemminflect.getLemma(word, upos="NOUN")
        if word.endswith("ves"):  # "leaves" is "leaf"'s plural as well as the noun "leave"'s
            nouns = _f_singulars(word) or nouns
        return str(nouns[0]).lower() if nouns and nouns[0] else word
    try:
        found = simplemma.lemmatize(word, lang=lang)
    except ValueError:  # a language simplemma does not cover: keep the word
        return word
    if lang == "de":
        # a topic's head is a noun, and German's are capitalised: written in lower case,
        # "garten" was the verb "garen" (to stew), "im Garten gearbeitet" taught "garen"
        noun = _dictionary_form(word.capitalize(), lang)
        found = noun if noun[:1].isupper() else found
    found = str(found).lower()
    # simplemma sometimes maps a noun to a related verb or a stem; keep it only when it is a
    # plausible inflection of the same word (same start, not longer; an umlaut may come
    # with a plural: "bücher" → "buch", "gärten" → "garten").
    same_start = _without_umlauts(found[:3]) == _without_umlauts(word[:3])
    return found if same_start and len(found) <= len(word) and found else word


_UMLAUTS = str.maketrans("äöü", "aou")


def _without_umlauts(text: str) -> str:
    return text.translate(_UMLAUTS)


# The endings of an infinitive, by language: what simplemma gives as the dictionary form of a
# verb's inflected forms ("necesito" → "necesitar", "imparando" → "imparare", "lerne" →
# "lernen"), which no other part of speech has as its dictionary form there.
_INFINITIVES: dict[str, tuple[str, ...]] = {
    "de": ("en", "ern", "eln"),
    "nl": ("en",),
    "es": ("ar", "er", "ir"),
    "pt": ("ar", "er", "ir", "or"),
    "it": ("are", "ere", "ire", "rre"),
    "fr": ("er", "ir", "re", "oir"),
}


@functools.lru_cache(maxsize=100_000)
def inflected_verb(
    word: str, lang: str, capitalised: bool = False, after_subject: bool = False
) -> bool:
    """A conjugated verb, a participle or a gerund in a language other than English, by its
    dictionary form: an infinitive it is not itself ("adoro" → "adorar", "aprendiendo" →
    "aprender", "schaust" → "schauen"). These languages have no lexicon of parts of speech
    here, so verbs were topics ("benutze", "necesito", "imparare"). An infinitive written as
    such stays, as it names the activity ("me gusta *cocinar*"). German nouns have a
    capitalised dictionary form, and a word written ``capitalised`` that is one as well
    counts as the noun ("Filme": "Film", not "filmen"; "Liebe" the noun, "ich liebe" the
    verb); one in lower case too when its noun is much the commoner word and it does not
    come ``after_subject`` (a pronoun)."""
    endings = _INFINITIVES.get(lang)
    if endings is None:
        return False
    found = _dictionary_form(word, lang)
    if lang in _ENCLITICS and _enclitic_verb(word, found.lower(), lang):
        return True
    if found.lower() == word or not found.endswith(endings) or found[:1].isupper():
        return False
    if lang != "de":
        return True
    noun = _dictionary_form(word.capitalize(), lang)
    if not noun[:1].isupper():
        return True  # no noun reading
    if capitalised:
        return False
    # Written in lower case, as chat often is: the noun when it is the much commoner word
    # and no subject comes right before ("ich schaue gerne *filme*": "Film" 5.0, "filmen"
    # 3.6; "ich *liebe*" stays the verb)
    return after_subject or zipf(noun.lower(), lang) < zipf(found, lang) + NOUN_READING_MARGIN


# Object pronouns Spanish and Italian write onto an infinitive, a gerund or an imperative
# ("háblame", "cuéntame", "serlo", "dimmi", "farti", "fatemi"), one or two of them: such a
# verb is unknown to simplemma as written and was a topic ("háblame de tu proyecto", "ma
# dimmi, ti piace la musica?"). Not Spanish "os" (Spain's "you all"), which ends as many
# plurals ("numerosos") as verbs.
_ENCLITICS: dict[str, tuple[str, ...]] = {
    "es": ("me", "te", "se", "lo", "la", "le", "los", "las", "les", "nos"),
    "it": ("mi", "ti", "si", "ci", "vi", "lo", "la", "li", "le", "gli", "ne"),
}
# Imperatives of one syllable, which take the pronoun plain in Spanish ("dime", "hazlo",
# "ponte") and double its consonant in Italian ("dimmi", "fammi", "dacci"; only "mi" and
# "ci" there, and "gli" as it is: "fallo", "valle", "stalla" are nouns too)
_SHORT_IMPERATIVES: dict[str, frozenset[str]] = {
    "es": frozenset(("di", "haz", "pon", "sal", "ten", "ven")),
    "it": frozenset(("di", "fa", "da", "sta", "va")),
}
# … and infinitives too short for the frequency test below ("serlo", "irme", "verte", Italian
# "farti", "dirlo", whose infinitives drop their final e before the pronoun)
_SHORT_INFINITIVES: dict[str, frozenset[str]] = {
    "es": frozenset(("ir", "ser", "ver", "dar", "oír", "reír")),
    "it": frozenset(("far", "dir", "dar", "star", "por")),
}
# An infinitive a pronoun is written onto is at least this common a word (Zipf): a word
# simplemma does not know comes back as itself, and "char|la", "inter|nos" would read as
# infinitives
ENCLITIC_INFINITIVE_MIN = 3.0
# Only the acute accent a pronoun adds ("hábla|me"): not accents.bare, which would also take
# the tilde off "enseñar|le" and find no verb
_ACUTE = str.maketrans("áéíóú", "aeiou")


def _enclitic_verb(word: str, found: str, lang: str) -> bool:
    """A verb with its object pronouns written onto it (:data:`_ENCLITICS`): an infinitive
    ("verte", "decírselo", "vederlo", "farti"), an imperative that a pronoun has given a
    written accent ("háblame", "cuéntame", "avísame") or of one syllable ("dime", "dimmi"),
    a gerund or an Italian imperative for several people ("diciéndome", "dandogli",
    "fatemi"). ``found``: simplemma's lemma of the word, which names it another word's form
    when it is one ("internos" → "interno", "ídolos" → "ídolo")."""
    clitics = _ENCLITICS[lang]
    if found != word and not found.endswith(_INFINITIVES[lang]) and not any(
        word.endswith(clitic) and word[: -len(clitic)].translate(_ACUTE) == found
        for clitic in clitics  # simplemma's own stem of "háblame": "habla"
    ):
        return False
    for first in clitics:
        if not (word.endswith(first) and len(word) > len(first) + 1):
            continue
        stem = word[: -len(first)]
        short = _SHORT_IMPERATIVES[lang]
        if lang == "it" and (
            (first in ("mi", "ci") and stem[-1:] == first[0] and stem[:-1] in short)
            or (first == "gli" and stem in short)
        ):
            return True
        stems = [stem] + [
            stem[: -len(second)]
            for second in clitics
            if stem.endswith(second) and len(stem) > len(second) + 1
        ]
        if any(_verb_under_pronouns(each, lang) for each in stems):
            return True
    return False


def _verb_under_pronouns(stem: str, lang: str) -> bool:
    """What :func:`_enclitic_verb` finds under the pronouns is a verb form (see there)."""
    plain = stem.translate(_ACUTE) if lang == "es" else stem
    if lang == "es" and plain in _SHORT_IMPERATIVES[lang]:
        return True
    if stem in _SHORT_INFINITIVES[lang] or plain in _SHORT_INFINITIVES[lang]:
        return True
    infinitive = plain + "e" if lang == "it" and not plain.endswith("e") else plain
    if len(plain) >= 4 and _infinitive(infinitive, lang) and (
        zipf(infinitive, lang) >= ENCLITIC_INFINITIVE_MIN
    ):
        return True
    if len(plain) < 4 or zipf(plain, lang) < ENCLITIC_INFINITIVE_MIN:
        return False
    if lang == "es":
        # the accent a pronoun adds to the verb's stressed syllable, now the third from the
        # end ("hábla|me", "cuénta|me", "pregúnta|le"), over an imperative or a gerund; not
        # a noun's own accent ("célu|la", "índo|le") nor an adverb's ("rápida|mente")
        return plain != stem and (
            (plain.endswith("ndo") and inflected_verb(plain, lang))
            or any(
                zipf(verb, lang) >= ENCLITIC_INFINITIVE_MIN and _infinitive(verb, lang)
                for verb in _imperatives_infinitives(plain)
            )
        )
    return plain.endswith(("ate", "ete", "ite", "ando", "endo")) and inflected_verb(plain, lang)


def _imperatives_infinitives(plain: str) -> tuple[str, ...]:
    """The infinitives a Spanish imperative (for one person or several) may be of: "habla"
    → "hablar", "escribe" → "escribir" or "escriber", "ayuden" → "ayudar"; with the stem's
    vowel as the infinitive has it where the stress had changed it ("cuenta" → "contar",
    "piensa" → "pensar", "pide" → "pedir"). simplemma reads "habla" as the noun."""
    if plain.endswith(("an", "en")):
        plain = plain[:-1]
    root, vowel = plain[:-1], plain[-1:]
    endings = {"a": ("ar", "er", "ir"), "e": ("er", "ir", "ar")}.get(vowel, ())
    roots = {root}
    for changed, plain_vowel in (("ue", "o"), ("ie", "e"), ("i", "e")):
        at = root.rfind(changed)
        if at > 0:
            roots.add(root[:at] + plain_vowel + root[at + len(changed):])
    return tuple(r + ending for r in roots for ending in endings)


# Subject pronouns of these languages, after which the first content word is the verb. Not
# those written as another word: Spanish "tu" (your), "el" (the); Portuguese "nos" (us, "in
# the").
_ROMANCE_SUBJECTS: dict[str, frozenset[str]] = {
    "es": frozenset(("yo", "tú", "él", "ella", "usted", "nosotros", "nosotras", "ellos", "ellas")),
    "pt": frozenset(("eu", "tu", "você", "ele", "ela", "nós", "vocês", "eles", "elas")),
    "it": frozenset(("io", "tu", "lui", "lei", "noi", "voi", "loro")),
    "fr": frozenset(("je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles")),
}
# … past a negation and the pronouns that go before the verb
_CLITICS: dict[str, frozenset[str]] = {
    "es": frozenset(("no", "me", "te", "se", "lo", "la", "le", "los", "las", "les", "nos", "os")),
    "pt": frozenset(("não", "me", "te", "se", "o", "a", "os", "as", "lhe", "lhes", "nos", "vos")),
    "it": frozenset(("non", "mi", "ti", "si", "ci", "vi", "lo", "la", "li", "le", "gli", "ne")),
    "fr": frozenset(("ne", "n", "me", "m", "te", "t", "se", "s", "le", "la", "les", "l", "y")),
}
# The auxiliaries of their perfect tenses (by simplemma's lemma: "he", "has", "hemos";
# "tenho", "tinha"; "ho", "abbiamo"; "ai", "avons") — not "essere"/"être", whose complement
# is as often a noun or an adjective ("è un libro") — and the endings of their regular
# participles (an irregular one is known by its lemma, an infinitive: "visto" → "vedere")
_AUXILIARIES: dict[str, frozenset[str]] = {
    "es": frozenset(("haber",)),
    "pt": frozenset(("ter", "haver")),
    "it": frozenset(("avere",)),
    "fr": frozenset(("avoir",)),
}
_PARTICIPLE_ENDINGS: dict[str, re.Pattern[str]] = {
    "es": re.compile(r"(?:ad|id|íd)[oa]s?$"),
    "pt": re.compile(r"(?:ad|id)[oa]s?$"),
    "it": re.compile(r"(?:at|ut|it)[oaie]$"),
    "fr": re.compile(r"(?:é|ée|és|ées)$"),
}
# The word before an infinitive that is a verb's, never an activity named: Dutch "om vogels
# *te* herkennen", "fijn om weer *te* kletsen", German "um Vögel *zu* erkennen" ("herkennen",
# "kletsen", "analyseren" were topics); an infinitive alone still names one ("ik hou van
# wandelen", "me gusta cocinar")
_INFINITIVE_MARKERS = {"nl": "te", "de": "zu"}
# … and the verbs after which an infinitive ends the clause, a verb's too: "Kann ich mir ein
# Stück Zucker *leihen*?", "kunt u het algoritme *aanpassen*?" ("stück zucker leihen",
# "aanpassen" were topics)
_MODALS: dict[str, frozenset[str]] = {
    "de": frozenset(
        ("kann", "kannst", "können", "könnt", "konnte", "könnte", "könnten", "will", "willst")
        + ("wollen", "wollte", "muss", "musst", "müssen", "müsste", "soll", "sollst", "sollen")
        + ("sollte", "darf", "darfst", "dürfen", "möchte", "möchtest", "möchten", "werde")
        + ("wirst", "wird", "werden", "würde", "würdest", "würden")
    ),
    "nl": frozenset(
        ("kan", "kun", "kunt", "kunnen", "kon", "konden", "zal", "zult", "zullen", "zou")
        + ("zouden", "moet", "moeten", "moest", "wil", "wilt", "willen", "wilde", "mag")
        + ("mogen",)
    ),
}
# … but not after a verb of learning, whose object is an activity: "ik wil *leren*
# programmeren" (as "learning programming" in English); "gaan" is not among the modals for
# the same reason ("ik ga hardlopen": "going running")
_LEARN = frozenset(("leren", "lernen"))
# Honorifics of these languages: the name after one is a person spoken of or to ("Met
# mevrouw *Smit*", "Herr *Müller* kommt gleich" taught "mevrouw smit", "müller"), as after
# English's (see _HONORIFICS); so is a name's particle between ("mevrouw van *Dijk*")
_OTHER_HONORIFICS: dict[str, frozenset[str]] = {
    "nl": frozenset(("mevrouw", "meneer", "mevr", "mw", "dhr", "juffrouw", "dr", "prof")),
    "de": frozenset(("herr", "frau", "hr", "fr", "dr", "prof")),
    "fr": frozenset(("monsieur", "madame", "mademoiselle", "mme", "mlle", "dr", "prof")),
    "es": frozenset(
        ("señor", "señora", "señorita", "sr", "sra", "srta", "don", "doña", "dr", "prof")
    ),
    "it": frozenset(("signor", "signore", "signora", "signorina", "sig", "dott", "dr", "prof")),
    "pt": frozenset(("senhor", "senhora", "sr", "sra", "dona", "dr", "prof")),
}
_NAME_PARTICLES = frozenset(("van", "von", "de", "der", "den", "di", "da", "du", "le", "la"))


def _named_after_honorific(
    tokens: Sequence[str], lowered: Sequence[str], index: int, lang: str, honored: bool
) -> bool:
    """An honorific of a language other than English, or a capitalised word after one (its
    name's particles between: "mevrouw van *Dijk*"); ``honored``: the clause before ended in
    one, whose period is no sentence's end ("Dr. *Smit*")."""
    honorifics = _OTHER_HONORIFICS.get(lang)
    if honorifics is None:
        return False
    if lowered[index] in honorifics:
        return True
    if not tokens[index][:1].isupper():
        return False
    # a given name may come first ("señor José *García*"); not in German, whose nouns are
    # capitalised ("Frau Schmidt *Kuchen* gebacken")
    at, names, most = index - 1, 0, 0 if lang == "de" else 1
    while at >= 0 and lowered[at] not in honorifics and (
        lowered[at] in _NAME_PARTICLES or (tokens[at][:1].isupper() and names < most)
    ):
        names += tokens[at][:1].isupper()
        at -= 1
    return lowered[at] in honorifics if at >= 0 else honored


# "hay gatos", "há gatos": "there are", no auxiliary
_EXISTENTIAL = frozenset(("hay", "há"))


@functools.lru_cache(maxsize=10_000)
def _auxiliary(word: str, lang: str) -> bool:
    """A form of :data:`_AUXILIARIES`'s verb (after an elision too: "j'*ai*")."""
    verbs = _AUXILIARIES.get(lang)
    word = word.rpartition("'")[2]
    return verbs is not None and word not in _EXISTENTIAL and (
        _dictionary_form(word, lang).lower() in verbs
    )


def _participle(word: str, lang: str) -> bool:
    """A past participle: a regular ending, or a word whose dictionary form is an
    infinitive of the language ("visto" → "vedere", "lu" → "lire")."""
    endings = _PARTICIPLE_ENDINGS.get(lang)
    if endings is None:
        return False
    if endings.search(word):
        return True
    found = _dictionary_form(word, lang).lower()
    return found != word and found.endswith(_INFINITIVES[lang])


# A German word in lower case with a noun's and a verb's reading is the noun when the noun
# is this much commoner (Zipf) than the verb ("filme": "film" 5.0, "filmen" 3.6) …
NOUN_READING_MARGIN = 0.5
# … unless a subject comes right before it ("ich *liebe*": "liebe" 5.3, "lieben" 4.6)
_GERMAN_SUBJECTS = frozenset(("ich", "du", "er", "sie", "es", "wir", "ihr", "man"))


def _german_subject_before(lowered: Sequence[str], index: int, lang: str) -> bool:
    """A subject pronoun right before the word, not itself after its verb: in a question or
    after a time the verb comes first and the subject follows it, then the object ("magst
    du *filme*?", "gestern habe ich *filme* geschaut")."""
    if lang != "de" or index < 1 or lowered[index - 1] not in _GERMAN_SUBJECTS:
        return False
    return index < 2 or not inflected_verb(lowered[index - 2], lang)


# An adjective's other forms are attested at least this often (Zipf) …
ADJECTIVE_FORM_MIN = 2.0
# … and, where a noun may have a form like one (a feminine: "perro", "perra"), at most this
# much rarer than the word: an adjective's genders are about as common ("divertido" 4.58,
# "divertida" 4.02), a noun's feminine rarer ("perro" 4.9, "perra" 4.18)
ADJECTIVE_FORM_MARGIN = 0.6


@functools.lru_cache(maxsize=100_000)
def inflected_adjective(word: str, lang: str) -> bool:
    """An adjective in a language other than English, by the forms only adjectives have
    there: both genders about as common with one dictionary form in Spanish, Portuguese and
    Italian ("delicioso" / "deliciosa"; Italian also a feminine plural: "uovo" / "uova" is a
    noun's plural), a feminine in French ("compliqué" / "compliquée"), a dative in -em in
    German ("lecker" / "leckerem": no noun has one), an inflected -e in Dutch ("lekker" /
    "lekkere"). There is no lexicon of parts of speech for them here, and an adjective said
    alone ("lecker!", "delicioso", "complicato") was a topic; English drops one
    (:func:`_adjective`)."""
    base = _dictionary_form(word, lang)
    if lang == "de":
        stem = base.lower()
        return not base[:1].isupper() and _same_word(stem, stem + "em", lang, margin=None)
    if lang in ("es", "pt", "it"):
        swaps = (("o", "a"), ("a", "o")) if lang == "it" else (
            ("o", "a"), ("a", "o"), ("os", "as"), ("as", "os")
        )
        for ending, other in swaps:
            if word.endswith(ending) and _same_word(word, word[: -len(ending)] + other, lang):
                stem = word[: -len(ending)]
                plural = stem + ("he" if stem.endswith(("c", "g")) else "e")  # "fantastiche"
                return lang != "it" or zipf(plural, lang) >= ADJECTIVE_FORM_MIN
        return False
    if lang == "fr":
        forms = [word[:-1]] if word.endswith("e") else [word + "e"]
        if word.endswith("x"):
            forms.append(word[:-1] + "se")  # "délicieux" / "délicieuse"
        elif word.endswith("f"):
            forms.append(word[:-1] + "ve")  # "actif" / "active"
        return any(_same_word(word, form, lang) for form in forms)
    if lang == "nl":
        stem = word[:-1] if word.endswith("e") else word
        forms = [stem + "e", stem + stem[-1] + "e"]  # "lekkere", "dikke"
        if len(stem) > 3 and stem[-2] == stem[-3]:
            forms.append(stem[:-2] + stem[-1] + "e")  # "groot" / "grote"
        return any(form != word and _same_word(stem, form, lang) for form in forms)
    return False


@functools.lru_cache(maxsize=100_000)
def _other_than_noun(word: str, lang: str) -> bool:
    """A word of a language other than English that is an adverb ("exactamente",
    "absolument") or an adjective one of whose forms makes an adverb or a superlative,
    which no noun does ("interesante" → "interesantísimo", "semplice" → "semplicemente",
    "duro" → "duramente", the Dutch "ziek" → "ziekste"). With no lexicon of parts of
    speech for these languages, a single word was a topic below Zipf 4.6 and none above:
    "pizza", "voetbal", "ich habe einen Hund" taught nothing, and raising the line alone
    gained as many adverbs, adjectives and infinitives as nouns (docs/measurement.md,
    forty-third session). A feminine in -a is not tested so: "técnica", "matemática" make
    adverbs as their adjectives do, and are nouns as often."""
    if language_name(word, lang):
        return False
    if _other_adverb(word, lang):
        return True
    if lang in ("es", "pt", "it"):
        return not word.endswith("a") and any(
            zipf(form, lang) >= DERIVED_FORM_MIN for form in _adjective_derived(word, lang)
        )
    if lang == "nl":  # the superlative: "ziek" → "ziekste", "interessant" → "interessantste"
        return not word.endswith("ste") and zipf(word + "ste", lang) >= DERIVED_FORM_MIN
    return False


@functools.lru_cache(maxsize=100_000)
def _other_adverb(word: str, lang: str) -> bool:
    """An adverb made from an adjective in Spanish, Portuguese, Italian ("exacta|mente",
    "facil|mente" from "facile") or French ("absolu|ment", "évidemment")."""
    if lang in ("es", "pt", "it"):
        if not word.endswith("mente") or len(word) <= 8:
            return False
        stem = word[:-5]
        return any(zipf(form, lang) >= ADJECTIVE_FORM_MIN for form in (stem, stem + "e"))
    if lang == "fr" and word.endswith("ment"):
        # only after a vowel but "e" ("absolu|ment", "vrai|ment", "aisé|ment"): "totale|ment"
        # is made as "traite|ment", "lance|ment" are, nouns of verbs' stems
        stem = word[:-4]
        return word.endswith(("amment", "emment")) or (
            len(stem) > 2 and stem[-1] in _VOWELS and stem[-1] != "e"
            and zipf(stem, lang) >= ADJECTIVE_FORM_MIN
        )
    return False


# An adverb or a superlative made from a word is attested at least this often (Zipf) when
# the word is an adjective ("genialmente" 1.97, "capacissimo" 1.85; nouns' made-up forms
# are rarer: "ferramente" 1.88 is the one noun seen above it).
DERIVED_FORM_MIN = 1.8


def _adjective_derived(word: str, lang: str) -> tuple[str, ...]:
    """The adverb in -mente and the superlatives in -ísimo / -issimo an adjective of
    Spanish, Portuguese or Italian makes ("duro" → "duramente", "durísimo"; "gentile" →
    "gentilmente", "gentilissimo"; "capaz" → "capacísimo")."""
    if word.endswith("o"):
        adverb = word[:-1] + "amente"
    elif lang == "it" and word.endswith(("le", "re")) and word[-3:-2] in _VOWELS:
        adverb = word[:-1] + "mente"  # "gentile" → "gentilmente"
    else:
        adverb = word + "mente"
    stem = word[:-1] if word.endswith(("o", "e")) else word
    if word.endswith("z"):
        stem = word[:-1] + "c"  # "capaz" → "capac-"
    suffix = {"es": "ísimo", "pt": "íssimo", "it": "issimo"}[lang]
    return adverb, stem + suffix, stem + suffix[:-1] + "a"


_VOWELS = frozenset("aeiouàèéìòù")


def _same_word(
    word: str, form: str, lang: str, margin: float | None = ADJECTIVE_FORM_MARGIN
) -> bool:
    """``form`` is attested (and, with a ``margin``, about as common as ``word``) and has
    ``word``'s dictionary form."""
    floor = ADJECTIVE_FORM_MIN if margin is None else max(
        ADJECTIVE_FORM_MIN, zipf(word, lang) - margin
    )
    return zipf(form, lang) >= floor and (
        _dictionary_form(form, lang).lower() == _dictionary_form(word, lang).lower()
    )


@functools.lru_cache(maxsize=100_000)
def _dictionary_form(word: str, lang: str) -> str:
    """simplemma's lemma of ``word`` as written (case kept: German nouns' are capitalised),
    for a language it covers; :func:`lemma` is the topic's own, checked and lower-cased."""
    import simplemma

    return str(simplemma.lemmatize(word, lang=lang))


def _f_singulars(word: str) -> tuple[str, ...]:
    """The singulars in -f/-fe of a plural in -ves, which lemminflect lists after another
    reading: "leaves" → "leave" first, then "leaf" (the bonsai's "new leaves" taught
    "leave")."""
    import lemminflect

    nouns = lemminflect.getAllLemmas(word).get("NOUN", ())
    return tuple(noun for noun in nouns if noun.endswith(("f", "fe")))


def _unknown_singular(word: str) -> str:
    """A plural the lexicon does not know ("monads", "repos", "gpus") folds to its singular
    when that is the commoner word by :data:`SINGULAR_MARGIN` and itself a possible noun;
    "redis" (as common as "redi"), "kubernetes", "ios" ("io": too short), "aws" (filler)
    and "-ss" words stay."""
    singular = word[:-1]
    if len(singular) < 3 or word.endswith("ss") or is_filler(singular):
        return word
    pos = _pos(singular)
    if pos and "NOUN" not in pos:
        return word
    return singular if zipf(singular, "en") >= zipf(word, "en") + SINGULAR_MARGIN else word


@functools.lru_cache(maxsize=100_000)
def is_filler(word: str, lang: str = "en") -> bool:
    """Never part of a topic: stopwords, interjections, laughter, contractions, numbers (in
    digits or words), and the people of one's family ("my *son* plays fortnite" taught
    "son": a person spoken of is nobody's interest, as a given name is not)."""
    if len(word) < 2 or word.isdigit() or "'" in word or "’" in word:
        return True
    if "-" in word:  # a compound of filler is filler: "twenty-four", "one-on-one"
        return all(is_filler(part, lang) for part in word.split("-") if part)
    if word in INTERJECTIONS or _LAUGHTER.match(word) or _STRETCHED.search(word):
        return True
    return (
        word in stopwords(lang)
        or word in _bare_contractions()  # "i *couldnt* put it down"
        or (lang == "en" and (word in _KIN or word in _NUMBERS or word in _QUANTIFIERS))
    )


@functools.lru_cache(maxsize=100_000)
def _unknown_noun(word: str) -> bool:
    """A word the lexicon does not know that names a thing: a language or a country however
    common ("french", "india", "australia", "europe": CLDR's names), any other below everyday
    frequency ("anime", "app", "tokyo") but a given name ("kevin": a person spoken of or to
    is nobody's interest)."""
    if _cldr_named(word):
        return True
    frequency = zipf(word, "en")
    return frequency < UNKNOWN_MAX and not _named(word, frequency)


def _cldr_named(word: str) -> bool:
    """A language or a country CLDR names in English ("french", "india"): a thing, however
    common the word."""
    return language_name(word) or country_name(word)


def _named(word: str, frequency: float, ceiling: float = UNKNOWN_MAX) -> bool:
    """Whether a word the lexicon does not know, of Zipf ``frequency``, is one the
    given-names rule takes for a person: a census name from UNKNOWN_NAME_MIN up (rarer ones
    are as often someone famous or a brand), below ``ceiling``."""
    return UNKNOWN_NAME_MIN <= frequency < ceiling and given_name(word, frequency)


def _english_noun(word: str) -> bool:
    pos = _pos(word)
    if not pos:
        return _unknown_noun(word) and not ("-" in word and _describing_compound(word))
    if word.endswith("ing") and "VERB" in pos:  # a gerund names an activity: "climbing"
        return zipf(word, "en") < GERUND_MAX or ("NOUN" in pos and _noun_first(word))
    return "NOUN" in pos or "PROPN" in pos


@functools.lru_cache(maxsize=100_000)
def _noun_first(word: str) -> bool:
    """An -ing noun far commoner than its verb is read as the thing, not the doing, however
    common: "wedding" (Zipf 4.8) against "wed" (3.7) — "planning our wedding" taught
    nothing; "meeting", "building", "training" are as common as their verbs and stay
    everyday gerunds."""
    verbs = [verb for verb in _verbs(word) if verb != word]
    return bool(verbs) and zipf(word, "en") >= max(zipf(v, "en") for v in verbs) + NOUN_FIRST_MARGIN


def _describing_compound(word: str) -> bool:
    """A hyphenated compound ending in an adjective or a verb describes, names nothing:
    "shame-*free*", "software-*like*", "diamond-*shaped*", "check-*in*" ("t-*shirt*",
    "k-*pop*" do; an ending the lexicon does not know, "sci-*fi*", is judged whole), and so
    does one ending in filler: "twenty-*four*", "log-*in*"."""
    ending = word.rpartition("-")[2]
    last = _pos(ending)
    return "ADJ" in last or (bool(last) and "NOUN" not in last) or is_filler(ending)


def _weak_modifier(word: str, lang: str) -> bool:
    """A first word to drop: a common adjective/adverb, or (English) a word that is not a
    noun or adjective at all (a verb: "reading books" → "books")."""
    if lang != "en":
        return zipf(word, lang) >= SINGLE_MAX or _other_adverb(word, lang)
    if (evaluative(word) and not _evaluative_verb(word)) or _adverb(word):  # "constantly"
        return True
    pos = _pos(word)
    if not pos:
        # Not _unknown_noun: a given name heading a phrase names the thing with it ("julia
        # programming language", "virginia tech football", "chelsea football club"), and
        # cutting it taught "programming language" and "tech football" (review).
        return zipf(word, "en") >= UNKNOWN_MAX and not _cldr_named(word)
    common = zipf(word, "en") >= MODIFIER_MAX
    if pos & {"ADJ", "ADV"} and common:
        return True
    # a verb starting the run ("reading books"); a rare participle is a modifier
    # ("distributed systems")
    return not pos & {"NOUN", "PROPN", "ADJ"} and common


def _compound_gerund(items: Sequence[tuple[str, bool]]) -> bool:
    """A common gerund that heads a compound: "machine learning", "deep learning", "data
    engineering". Alone it is everyday ("learning", see :data:`GERUND_MAX`); after a modifier
    it names a field, when the lexicon lists the gerund as a noun in its own right (a
    nominalised gerund: "learning", "engineering", "training"; not "talking", "going") and
    the word before it is a singular noun or an adjective (not a subject doing it: "kids
    playing", nor a verb: "started learning"). Everyday pairs still fall to
    :data:`PHRASE_MAX` ("wife working")."""
    if len(items) < 2:
        return False
    word, name = items[-1]
    pos = _pos(word)
    if name or not word.endswith("ing") or not {"NOUN", "VERB"} <= pos or evaluative(word):
        return False
    before, before_name = items[-2]
    if before_name:
        return True
    modifier = _pos(before)
    if evaluative(before) or not (_english_noun(before) or "ADJ" in modifier):
        return False
    return "NOUN" not in modifier or lemma(before, "en") == before


def _weak_head(word: str, lang: str, after_noun: bool = False) -> bool:
    """A last word to drop: no noun, or one that says how something is. ``after_noun``: a
    noun comes before it in the phrase, after which a word that can be a noun is one ("a
    volleyball *game*", "the zelda *game*": "game" is an adjective too, and common, and was
    cut: "volleyball", "zelda") unless it carries sentiment or is an adverb too ("sounds
    *fine*", "sell *high*": those say how, and "a science *fair*" stays "science")."""
    if lang != "en":
        return zipf(word, lang) >= SINGLE_MAX or _other_adverb(word, lang)
    if not _english_noun(word):
        return True
    pos = _pos(word)
    if after_noun and "NOUN" in pos and "ADV" not in pos and not evaluative(word):
        return False  # not "sounds *fine*", "sell *high*", "hal *safe*", "honking *great*"
    if evaluative(word) and not _evaluative_verb(word):
        return True
    return bool(pos & {"ADJ", "ADV"}) and zipf(word, "en") >= MODIFIER_MAX


def _runs(prose: str, lang: str) -> Iterable[list[tuple[str, bool]]]:
    """Maximal runs of content words inside one clause, with verbs used as verbs removed.
    Each word comes with whether it is kept as written: capitalised mid-sentence (a name:
    "Blade Runner"), or a pastime however common the word — the activity a form of "go"
    names (:func:`_gone_doing`), one a person says they like or is their hobby
    (:func:`_pastime_loved`), and the next ones listed after it ("reading, *running* and
    *swimming*") — or a verb the lexicon knows only as one, named as a thing after a
    determiner ("the *deploy* failed": :func:`_bare_verb`)."""
    # the clause before ended in an honorific, whose period is no sentence's end: "Mr. *Davis*"
    titled = False
    honored = False  # … in another language (see _named_after_honorific)
    continued = False  # the clause before ended in a comma or the like (see below)
    comma_before = False  # … in a comma
    # the last word was a pastime, and a list of them may go on: "my hobbies are reading,
    # *running* and *swimming*" (see _pastime_loved)
    listing = False
    clauses = _BREAKS.split(prose)
    breaks = _BREAKS.findall(prose) + [""]
    for clause, ending in zip(clauses, breaks, strict=True):
        run: list[tuple[str, bool]] = []
        previous = ""
        address = titled  # after a greeting: "thanks *Sarah*" (see _addressee)
        object_position = False  # after a determiner or a verb a noun follows
        finite = False  # in a subordinate clause whose verb has not come yet
        light_verb = False  # the word before is a common verb used as one ("make")
        verb_due = False  # a subject pronoun of es/pt/it/fr came, and no content word since
        perfect = False  # … an auxiliary of their perfect tenses came (see _participle)
        subject = False  # a subject among the words since the last content word: "I really"
        participle = False  # … and a form of "be": only a participle is a verb ("is failing")
        complement = False  # … after a noun: "my hobby is *painting*" names, not does
        described = False  # … after any other noun: "my code is still *buggy*" says how
        # … after someone doing it: "we're *migrating* the billing db", "I'm *writing* unit
        # tests", "the kids are *operating* drones", "my friends are *streaming* valorant"
        # (an -ing form before a noun may open a compound: "these are *operating* systems",
        # "Linux and Windows are …")
        doer = False
        actor = False  # the subject is someone doing things (see doer)
        spending = False  # a form of "spend" came: "spent the weekend *debugging* kafka"
        # "welcome to" came: what follows is where someone joined, the greeter's news not
        # their interest ("welcome to the *server*!", "welcome to the *channel*")
        welcomed = False
        dropped = False  # the word is the everyday object of a pastime (see with_object)
        # a verb came before the run: the run is its object, not the subject of a verb of
        # its own ("I read blog *posts* regularly": "blog post", not "blog")
        verb_before = False
        tokens = (
            _possessives_apart(words_of(clause, _HYPHENATED_TOKEN))
            if lang == "en"
            else [_as_written(token, lang) for token in words_of(clause)]
        )
        lowered = [raw.lower().replace("’", "'") for raw in tokens] + [""]
        placed = _home_places(tokens, lowered) if lang == "en" else frozenset()
        start = 0  # where the run began
        for index, raw in enumerate(tokens):
            word, following = lowered[index], lowered[index + 1]
            after = lowered[index + 2] if index + 2 < len(lowered) else ""
            before = lowered[index - 2] if index > 1 else ""  # the word before ``previous``
            # (German capitalises every noun: there a capital marks no name)
            name = (index > 0 or titled or continued) and raw[:1].isupper() and lang != "de"
            # "lunch with *Kevin* and *Maria*", "*Kevin* said …": someone spoken of
            # (at a sentence's start too: "*Mike* and I played chess")
            person = (
                lang == "en" and raw[:1].isupper() and _person_named(word, tokens, index, previous)
            )
            name = name and not person
            if not name and lang == "en" and not run and previous in _PLACE_PREPOSITIONS:
                name = _placed_name(word)  # "hiking in virginia": the place, as "Virginia"
            # what time was spent at, after "spent" and a stretch of time: the verb before its
            # object, the pastime ending the clause (see below)
            spent_at = lang == "en" and _spent_doing(spending, word, previous, name, following)
            spent_pastime = spent_at and _pastime(word, following, after)
            # a habit the doer has taken up: "I've been *journaling* every night", "been
            # *running* every morning" (they taught nothing)
            habit = lang == "en" and not run and word.endswith("ing") and _habit(
                word, *_past_amount(lowered[index + 1 : index + 4])
            ) and (
                doer or (previous == "been" and _opening(lowered[: index - 1]))  # subject left out
            )
            # a pastime liked with the everyday thing it is done with: "love *swimming* laps",
            # "I enjoy *baking* bread" (they taught "lap", "bread"); that thing is dropped
            with_object = lang == "en" and not run and not name and _pastime_with_object(
                word, previous, following, after
            )
            # "*binge* watched the bear": how the verb after was done; the subject before
            # is that verb's ("I binge watched severance" taught "watched severance")
            binge = lang == "en" and word == "binge" and _binged(following)
            verb_use = lang == "en" and not run and not name and not with_object and not binge and (
                "VERB" in _pos(word)
            ) and (
                (subject and not habit
                 and (not participle
                      or (doer and word.endswith("ing"))
                      or _progressive(word, following, lang, after_noun=complement)))
                or (previous in _THIRD_PERSON and word.endswith("s"))
                # a clause after a comma opening on a verb's -s form, its subject the thing
                # before: "been meal prepping, *saves* so much money", "tried the ramen
                # place, *tastes* amazing" (they taught "save", "taste")
                or (comma_before and _opening(lowered[:index]) and _said_of_it(word, following))
                # a verb's plain form, only ever a verb, opening the clause before a name
                # or a rarer word: an instruction or a request to the bot ("*explain*
                # kubernetes", "*define* entropy", "*summarize* dune" taught "explain
                # kubernetes"…); before an everyday noun it may open a compound ("merge
                # conflict"), and a given name is none ("peter parker")
                or (not object_position and _request(word) and _opening(lowered[:index])
                    and _rare_object(following))
                # an instruction: "check the cable", "press and hold it", "try plugging it";
                # not a verb's or a determiner's noun: "tried *rust* for embedded", "a
                # *guide* for beginners" (a gerund there may have its own object)
                or (
                    following in _OBJECTS
                    # "going *hiking* this weekend", "into *running* these days": no object
                    and after not in _MEASURES and not time_word(after)
                    and (
                        not object_position
                        or (word.endswith("ing") and following in _OBJECT_NOUNS | _PARTICLES)
                    )
                    # an activity opening the clause, and where it is done: "*hiking* in the
                    # alps was amazing", "*swimming* in the lake is the best" (not "logging
                    # in to the vpn")
                    and not (word.endswith("ing") and following == "in"
                             and after in _PLACE_DETERMINERS and _opening(lowered[:index]))
                )
                # an action, not an activity: "*grabbing* lunch", "*switching* from webpack"
                # (after a determiner it names a thing: "the staging database")
                or (previous not in _DETERMINERS and _action_gerund(word))
                # the doing a verb goes on with, before its object: "just finished *watching*
                # severance", "the plan keeps *showing* drift" (not "I started *climbing*")
                # … and a verb of liking: "enjoyed *reading* dune", "I love *playing* chess";
                # before the "to" of its object too: "I keep *listening* to boygenius"
                or ((previous in _GOING_ON or previous in _FOND) and word.endswith("ing")
                    and (_begins_object(following) or (following == "to" and _to_object(word))))
                # a clause opening on a verb of liking, its subject left out: "*love* hiking
                # in the fall", "*hate* commuting", "so *love* pizza" (they taught "love
                # hiking", "love pizza"); not a compound "love" opens ("love songs are …")
                or (word in _FOND and word not in ("like", "likes") and _opening(lowered[:index])
                    and _liked_next(following, after))
                # what something needs done to it: "the plants need *watering*", "the car
                # needs *fixing*" (not "I need coding help")
                or (previous in _NEED and word.endswith("ing") and (
                    not following or (is_filler(following) and "NOUN" not in _pos(following))
                ))
                # a verb whose object is someone named: "*ping* Sarah when you're done"
                or (index + 1 < len(tokens) and tokens[index + 1][:1].isupper()
                    and _person_named(following, tokens, index + 1, word))
            ) and not (word.endswith("ing") and _of_go(previous))  # "I'm going *hiking*"
            # a clause opening on a gerund before its object, the subject and "be" left out:
            # "*reading* pachinko rn", "*watching* severance tonight" (they taught "reading
            # pachinko"); before an everyday noun it may open a compound ("reading glasses")
            verb_use = verb_use or (
                lang == "en" and not run and not name and word in _OBJECT_GERUNDS
                and _opening(lowered[:index]) and _rare_object(following)
            )
            # what something is worth doing, before the doing's object or none: "is it worth
            # *learning* rust?", "totally worth *visiting* lisbon", "worth *upgrading* from a
            # 12?" (they taught "learning rust", "visiting lisbon", "upgrading")
            verb_use = verb_use or (
                lang == "en" and bool(run) and run[-1][0] == "worth" and not name
                and word.endswith("ing") and "VERB" in _pos(word)
            )
            # a past tense after an adverb opening the clause, its subject left out:
            # "finally *beat* elden ring", "finally *hit* diamond" (they taught "beat elden
            # ring", "hit diamond": both are nouns too; the adverb is the run so far)
            verb_use = verb_use or (
                lang == "en" and len(run) == 1 and not name and _adverb(run[0][0])
                and _opening(lowered[: index - 1]) and _past_form(word)
            )
            # a verdict on the subject: "honestly python *rocks*", "this song *slaps*" (they
            # taught "python rock", "song slap")
            verb_use = verb_use or (
                lang == "en" and bool(run) and word in _VERDICTS
                and (not following or is_filler(following, lang))
                and _opening([w for w in lowered[:start] if w not in _DEMONSTRATIVES])
                and _subject_and_verb([*run, (word, False)])
            )
            # a common verb inside a run separates two phrases: "kubernetes operators
            # *make* cluster automation"; so does any verb with an object after it: "the api
            # *returns* a 500" (see _before_its_object)
            verb_use = verb_use or (
                lang == "en"
                and bool(run)
                and not name
                and (
                    # … not before a form of "be", which is the clause's verb: "the trade
                    # *show* was packed" (it taught "trade")
                    (_clause_verb(word) and not _describes(run[-1]) and following not in _BE)
                    or _before_its_object(word, following, after)
                    # a milestone reached: "my podcast *hit* 100 episodes" (it taught
                    # "podcast hit"), "the repo *passed* 500 stars"
                    or (word in _MILESTONE_VERBS and (following.isdigit() or (
                        following in _SERIAL and after.isdigit())))
                    # an irregular past after its subject, ending the clause or before a
                    # particle, a place or a time: "our garden fence *fell* over", "my
                    # sourdough *rose* overnight" ("fell", "rose" are nouns too)
                    or ((not following or following in _AFTER_PAST or time_word(following))
                        and _irregular_past(word))
                    or _verb_between(word, run[-1], following, after)
                    or (not verb_before and _plural_subjects_verb(word, run[-1], following))
                    # a clause that opens on a verb going on with another, its subject left
                    # out as chat does: "started *learning* pottery" (it taught all three)
                    or (len(run) == 1 and run[0][0] in _GOING_ON and word.endswith("ing")
                        and (_begins_object(following) or following in _GERUND_PREPOSITIONS
                             or following == "to"))
                    or _phrasal(word, following)
                    or _linking(word, following)
                    or word in _NAMING_PARTICIPLES  # "a rescue dog *named* Biscuit"
                    # "my book club *hated* lessons in chemistry" (it taught "club hated
                    # lesson"); the -s forms are _verb_between's
                    or word in _FOND_PAST
                )
            ) or (
                # time spent doing something: "spent the weekend *debugging* kafka
                # consumers" (it taught "debugging kafka consumer"), "all day *fixing* leaks"
                spent_at and not spent_pastime
            )
            # what a noun is like, ending its phrase after "be": "my code is *buggy*", "the
            # trails are *quiet*" (a language or a country is a thing: "my language is english"),
            # or a word the lexicon does not know after an adverb of degree (see _DEGREE)
            quality = (
                lang == "en" and not run and not name
                and (not following or is_filler(following)) and not _cldr_named(word)
                and (
                    (described and ("ADJ" in _pos(word) or (not _pos(word) and (
                        previous in _DEGREE or (previous == "still" and word.endswith("y"))
                    ))))
                    # … or after a verb of becoming or seeming: "the leaves are turning
                    # *yellow*", "the dough looks *sticky*" (not "went vegan")
                    or (previous in _BECOMING and "ADJ" in _pos(word))
                )
            )
            filler = is_filler(word, lang) or (
                # another language's commonest function words, in a line read with the
                # English rules (short, or its language unnamed): "Nichts", "Ganz okay",
                # "Bem.", "Sei felice", "Wat is een penalty?" taught "nicht", "ganz", "bem",
                # "sei felice", "wat"; a capitalised one mid-sentence is a name's ("Che
                # Guevara", "Contra")
                lang == "en" and not name and word in foreign_function_words()
            ) or (
                lang != "en" and inflected_verb(
                    word, lang, raw[:1].isupper(),
                    after_subject=_german_subject_before(lowered, index, lang),
                )
            ) or (
                # the first content word after a subject pronoun is its verb, whatever its
                # dictionary form: "eu *uso* python" ("uso" is a noun too: "uso python")
                verb_due and not name
            ) or (
                lang in _INFINITIVE_MARKERS and word.endswith("en")
                and not (lang == "de" and raw[:1].isupper())
                and (previous == _INFINITIVE_MARKERS[lang]
                     or (not following and previous not in _LEARN
                         and any(w in _MODALS[lang] for w in lowered[:index])
                         # not a plural ending the clause: "ik kan niet naar *zalen*"
                         and _dictionary_form(word, lang).lower() == word))
            ) or (
                lang != "en" and _named_after_honorific(tokens, lowered, index, lang, honored)
            ) or (
                # a participle after "haber", "ter", "avere", "avoir": "¿has *oído* las
                # noticias?" taught "oído" (an ear), "já tinha *lido* esse livro" "lido"
                perfect and not name and _participle(word, lang)
            ) or (
                lang == "en"
                and not run
                and not name
                and (_frame_noun(word, following) or (light_verb and _bare_object(word, following)))
            ) or (
                # how much of the thing after "of": "a *cup* of coffee", "my first *batch* of
                # kombucha", "a *pair* of running shoes" taught "cup", "batch", "pair"
                lang == "en" and not run and not name and word in _PARTITIVES
                and following == "of" and _begins_object(after)
            ) or (
                # "my mother *in law*", "sister *in law*": one's family, as "mother" is
                lang == "en" and word == "law" and previous == "in" and before in _KIN
            ) or (
                # where one sleeps, and when: "playing animal crossing before *bed*",
                # "reading in *bed*", "out of *bed*" (not "bed frame", "raised beds")
                lang == "en" and word == "bed" and previous in _BED_PREPOSITIONS
                and (not following or is_filler(following) or generic_alone(following))
            ) or (
                # "every *single* turn", "every single time": how many, not which kind
                lang == "en" and word == "single" and previous == "every"
            ) or (
                # said how much it is, a quality: "the trails are so *quiet*", "i am quite
                # *immature*" (after "be": "ok so *frank* herbert" opens on a name)
                lang == "en" and not run and not name and previous in _INTENSIFIERS
                and _form_of_be(before)
                and "ADJ" in _pos(word)
            ) or quality or (
                # a verdict after "be a": "my fantasy team is a *disaster*", "my golf swing
                # is such a *mess*" (a compound goes on: "a disaster recovery plan")
                lang == "en" and not run and not name and previous in ("a", "an")
                and _verdict(word, before, following)
            ) or (
                lang == "en" and not run and not name
                and _season(word, previous, before, following)
            ) or (lang == "en" and word in _REDOING) or (
                lang == "en" and word in _HONORIFICS
            ) or person or welcomed or dropped or binge or index in placed or (
                lang == "en" and word in _SERIAL and (following.isdigit() or following in _NUMBERS)
            ) or (
                # someone spoken to, not of: "idk *man*, rust lifetimes …", "yeah *man*"
                lang == "en" and word == "man" and previous in INTERJECTIONS
            )
            if address and filler:
                # the one greeted comes right after the greeting ("thank you so much
                # Anna"): "thanks *for* the Kubernetes tips" greets no one (the review
                # found "kubernetes" lost)
                address = word in _GREETING_TAIL
            elif address:
                # who is greeted, up to the first word of the lexicon's: "thanks *Sarah*";
                # "thanks Sarah for the *pizza* recipe" goes on
                address = filler = _addressee(word, name)
            if filler and lang == "en" and run and not name and following:
                # a countable noun a stopword list happens to hold, between two content
                # words, is part of the compound: "key *value* store"
                filler = not (_compound_noun(word) and not is_filler(following, lang))
            elif not filler and lang == "en" and not name and len(word) > 3:
                filler = _connective(word)  # "tokio *versus* async std"
            # "my sourdough starter *finally* rose": an adverb after a noun ends its phrase,
            # and the noun is the subject of the verb after it; after a subject it hands
            # the subject on ("I *finally* beat Elden Ring" taught "beat elden ring")
            adverb = lang == "en" and (bool(run) or subject) and not name and (
                _adverb(word) or (word in _HOW_OFTEN and (not following or is_filler(following)))
            )
            # where, ending a phrase: "a jazz concert *downtown*" (it is no verb's manner:
            # "the farmers market *downtown*" keeps its "market")
            where = (
                lang == "en" and not name and word in _WHERE
                and (bool(run) or "NOUN" not in _pos(following))
            )
            # "the tests pass *now*", "the scripts run *fine*": a noun's verb said how it
            # went is the clause's verb, not the head of "tests pass"
            went = (
                lang == "en" and not name and not finite and not verb_before
                and (word in _HOW_IT_WENT or adverb or (
                    # … or said how much so: "my phone battery dies *so* fast"
                    word in _INTENSIFIERS and (_adverb(following) or "ADJ" in _pos(following))
                ))
                and _subject_and_verb(run, read_as_verb=True, leeway=MANNER_LEEWAY)
            )
            # … and so is a noun's verb before a person it is done to: "my plants *hate* me",
            # "my forearms *hate* me" (they taught "plants hate"); no noun comes before "me"
            went = went or (
                lang == "en" and word in _OBJECT_PRONOUNS and _subject_and_verb(run)
            ) or (
                # … as is a past tense the lexicon does not know, before its object: "the
                # new patch *nerfed* my main", "the update *bricked* my phone"
                lang == "en" and (word in _OBJECT_PRONOUNS or word in _OBJECT_ARTICLES)
                and _unknown_past_after_noun(run)
            )
            filler = filler or adverb or went or where
            if filler and _joins_nouns(word, lang, run, following):
                filler = False  # "juegos *de* mesa", "fotografia *di* strada"
            if filler or verb_use:
                noun_before = bool(run)
                plural_before = noun_before and _plural_doer(run[-1])
                last = run[-1][0] if run else ""  # the noun a form of "be" may follow
                if run:
                    # a verb ending the run is the clause's own: the run's last word is no
                    # verb then ("she said the release *notes* are out")
                    clause_verb = verb_use or (filler and "AUX" in _pos(word))
                    if went:
                        yield run[:-1]
                    else:
                        yield _finite(run) if finite and not clause_verb else run
                    subject = participle = False
                run = []
                # the verb takes the subject: "I love film noir" → "film" is not a verb;
                # an auxiliary or a modal hands it on: "CI *is* failing", "we *should* switch"
                # — after a form of "be" only a participle is a verb ("is ultrasound")
                be = _form_of_be(word)
                # … not past a preposition, whose object follows ("I'm into *camping*")
                # (a quality ends the clause's verb phrase as any complement does)
                carried = (
                    subject and not verb_use and not quality and word not in _GERUND_PREPOSITIONS
                )
                # … but not past "to", after which a verb is one: "here is how to *traverse*"
                participle = be or (carried and participle and word != "to")
                # someone who does things is the subject: "we're", "we are", "I've been",
                # "the kids are", "my sister's"; carried past auxiliaries ("I have been")
                stem, who = word.partition("'")[0], previous.partition("'")[0]
                actor = (
                    _someone(stem)
                    or (be and (_someone(who) or plural_before))
                    or (actor and (carried or "AUX" in _pos(word)))  # "have", "will"
                )
                doer = be and actor
                # the complement names what the noun is only after a noun that names a
                # doing ("my *hobby* is painting"); any other is the doer: "my phone is
                # ringing", "my screen is flickering" (judged only at a form of "be")
                named_as = be and noun_before and _names_a_doing(last, lowered[:start])
                # … and what any other noun the lexicon knows is like ("my code is *buggy*";
                # "wat is *ultrasound*" is Dutch), past adverbs but not past a determiner
                described = (
                    be and noun_before and not named_as and "NOUN" in _pos(last)
                ) or (carried and described and word not in _DETERMINERS)
                # … not past an adverb: "my tomatoes are *finally* ripening" is a verb's,
                # and so is "my ears are *still* ringing" (a stopword: no _adverb)
                complement = named_as or (
                    carried and complement and not adverb and word not in _ASPECT_ADVERBS
                )
                subject = (
                    # one's family too: "my son *plays* fortnite", "my kids *love* lego"
                    (be or word in _SUBJECTS or carried or person or adverb or where
                     or (lang == "en" and noun_before and word in _BETWEEN_SUBJECT_AND_VERB)
                     or (lang == "en" and word in _KIN)
                     or ("'" in word and stem in _DOERS))  # "I've", "we'd"
                    and word not in _DETERMINERS
                    # "listen to *jazz*", "looking forward to *hiking*"
                    and not (word == "to" and (_to_object(previous) or previous == "forward"))
                )
                listing = listing and word in ("and", "or")
            else:
                pastime = lang == "en" and not run and (
                    _gone_doing(word, previous)
                    or _pastime_loved(word, previous, following, before, after)
                    or (listing and _pastime(word, following, after))
                    or habit
                    or with_object
                )
                # … or what time was spent at, ending the clause: "spent the weekend
                # *knitting*" (the stretch of time before it is a phrase of its own)
                if spent_pastime:
                    if run:
                        yield run
                    run, pastime = [], True
                # "the *deploy* failed", "after the *merge*": a verb named as a thing
                made_noun = lang == "en" and previous in _NAMING_DETERMINERS and _bare_verb(word)
                start = index if not run else start
                run.append((word, name or pastime or made_noun))
                listing = pastime
                subject = participle = complement = described = doer = actor = False
            address = address or (
                lang == "en" and (word in _GREETINGS or (previous == "good" and time_word(word)))
            )
            dropped = with_object
            welcomed = welcomed or (
                lang == "en" and word == "to" and previous == "welcome"
                # "you're welcome to *join* the chess club" welcomes to nowhere
                and (following in _DETERMINERS or "VERB" not in _pos(following))
            )
            previous = word
            perfect = lang in _AUXILIARIES and (
                _auxiliary(word, lang) or (perfect and word in _CLITICS[lang])
            )
            verb_due = word in _ROMANCE_SUBJECTS.get(lang, ()) or (
                verb_due and word in _CLITICS.get(lang, ())  # "yo no *uso*", "eu te *amo*"
            )
            spending = spending or word in _SPEND
            verb_before = verb_before or verb_use
            light_verb = verb_use and _light_verb(word)
            # a subordinate clause needs a finite verb: "if the weather *holds*"
            if word in _SUBORDINATORS or (verb_use and word in _REPORTING):
                finite = True
            elif verb_use or (filler and "VERB" in _pos(word)):
                finite = False
            object_position = word in _DETERMINERS or verb_use or (filler and _verb_only(word))
        if run:
            yield _finite(run) if finite else run
        listing = listing and ending.strip() == ","
        # the sentence goes on past a comma: a capital there marks a name in the other
        # languages ("Uso Python, *Java* y C++" lemmatised "Java" as "javo"); in English
        # the lexicon tells ("Yeah, Definitely")
        comma_before = ending.strip() == ","
        continued = lang not in ("en", "de") and bool(ending) and not _SENTENCE_END.search(
            ending
        )
        # "Mr." before the next clause; not a number's unit ("300 ms. Postgres is …")
        titled = lang == "en" and len(lowered) > 1 and lowered[-2] in _HONORIFICS and not (
            len(lowered) > 2 and lowered[-3].isdigit()
        )
        # … and the other languages' ("Met Dr. *Smit*", "Frau Dr. *Schmidt*")
        honored = len(lowered) > 1 and lowered[-2] in _OTHER_HONORIFICS.get(lang, ())


# The preposition that makes a compound of two nouns in these languages, where English puts
# one noun before the other: "juegos de mesa" (board games), "jeux de société", "fotografia
# di strada", "ciência de dados". A stopword, it cut each such compound in two.
_NOUN_JOINERS: dict[str, frozenset[str]] = {
    "es": frozenset(("de",)),
    "pt": frozenset(("de",)),
    "fr": frozenset(("de",)),
    "it": frozenset(("di",)),
}


def _as_written(token: str, lang: str) -> str:
    """``token`` with the accents chat left out put back ("musica" → "música", "Cafe" →
    "Café"): see profiles/accents.py."""
    accented = with_accents(token.lower(), lang)
    if accented == token.lower():
        return token
    return accented[:1].upper() + accented[1:] if token[:1].isupper() else accented


def _joins_nouns(
    word: str, lang: str, run: Sequence[tuple[str, bool]], following: str
) -> bool:
    """``word`` joins the noun before it to the content word after it into one compound (see
    :data:`_NOUN_JOINERS`): not at a run's start, nor twice in one run, nor before filler, a
    word of two letters ("orgulhoso de *ti*"), a verb or an infinitive ("difícil de
    *explicar*", "la tentación de *adivinar*": an infinitive is its own dictionary form and
    ends as one; "azúcar" does too, so "taza de azúcar" stays two topics)."""
    joiners = _NOUN_JOINERS.get(lang)
    return (
        joiners is not None
        and word in joiners
        and bool(run)
        and all(w not in joiners for w, _ in run)
        and len(following) > 2
        and not is_filler(following, lang)
        and not inflected_verb(following, lang)
        and not _infinitive(following, lang)
    )


def _infinitive(word: str, lang: str) -> bool:
    """A word that is its own dictionary form and ends as an infinitive there (see
    :data:`_INFINITIVES`)."""
    endings = _INFINITIVES.get(lang)
    return endings is not None and word.endswith(endings) and (
        _dictionary_form(word, lang).lower() == word
    )


def _possessives_apart(tokens: list[str]) -> list[str]:
    """A possessive's noun, then its "'s" (filler, which ends the phrase): "Taylor *Swift's*
    new album" taught "taylor" and "album" (a word with an apostrophe is a contraction, and
    filler), now "taylor swift" and "album"; "the team's roadmap". A name's is taken for a
    possessive; a word's only before what it could own: before filler it is a contraction of
    "is" and stays whole, as filler ("the sky's up", and "it's", "what's", "let's", whose
    first part is filler)."""
    apart: list[str] = []
    for index, token in enumerate(tokens):
        stem, mark = token[:-2], token[-2:].replace("’", "'").lower()
        following = tokens[index + 1].lower() if index + 1 < len(tokens) else ""
        if (
            mark == "'s" and len(stem) > 1
            # one's family owns ("my sister's wedding") unless doing: "my wife's learning"
            and (not is_filler(stem.lower())
                 or (stem.lower() in _KIN and not _doing(following.lower())))
            and following and (stem[:1].isupper() or not is_filler(following))
        ):
            apart.extend((stem, "'s"))
        else:
            apart.append(token)
    return apart


# Verbs that go on with an -ing form: "finished *watching*", "keeps *crashing*".
_GOING_ON = frozenset(
    ("keep", "keeps", "kept", "keeping", "stop", "stops", "stopped", "finish", "finished")
    + ("finishes", "start", "started", "starts", "quit", "quits", "avoid", "avoided", "began")
    + ("begin", "resume", "resumed", "continue", "continued", "tried")
)


_NEED = frozenset(("need", "needs", "needed"))


def _begins_object(word: str) -> bool:
    """A word that can open the object of a verb: not filler, and not one saying when
    ("I started climbing *last* year" names the pastime)."""
    return bool(word) and not is_filler(word) and not time_word(word)


def _doing(word: str) -> bool:
    """An -ing form read as the doing, after which one's "'s" is "is" ("my wife's
    *learning* pottery"); not one read as the thing ("my sister's *wedding*")."""
    return word.endswith("ing") and not _noun_first(word)


# How something went, after its verb: "the tests pass *now*", "the scripts run *fine*".
_HOW_IT_WENT = frozenset(
    ("now", "again", "today", "anymore", "fine", "ok", "okay", "great", "well", "locally")
)
# How it went says a verb was used, as only a verb is said to work *fine* or jam
# *constantly*: the verb's reading may be a little rarer than the plural's ("the news feed
# works *fine*": "worked" 5.2 against "works" 5.3; "the printer jams *constantly*"); a
# plural far commoner than its verb's past stays a noun ("board games *great*": "gamed" 2.3).
MANNER_LEEWAY = 0.3
# How often, ending a clause, as an adverb ("our band practices *weekly*", "I check app
# reviews *daily*"); before a noun an adjective ("the weekly meeting").
_HOW_OFTEN = frozenset(("hourly", "daily", "nightly", "weekly", "monthly", "yearly"))
# A person a verb is done to: no noun comes before one ("my plants *hate* me"). Not "her",
# a determiner too ("the cat ate her homework").
_OBJECT_PRONOUNS = frozenset(("me", "us", "him", "them"))
# Verbs of becoming and seeming, after which an adjective says how something is ("the
# leaves are turning *yellow*", "the dough looks *sticky*"). Not "go" nor "get": "went
# *vegan*", "got *married*" name what someone did.
_BECOMING = frozenset(
    ("turn", "turns", "turned", "turning", "grow", "grows", "grew", "growing", "become")
    + ("becomes", "became", "becoming", "seem", "seems", "seemed", "look", "looks", "looked")
    + ("looking", "feel", "feels", "felt", "stay", "stays", "stayed", "staying")
)
# Adverbs a stopword list holds, between a subject and its verb: "my toddler *only* eats
# pasta", "the kids *always* want pizza" ("eats pasta" was a topic). After a noun only: "the
# *only* game", "my *usual* spot" open a phrase.
_BETWEEN_SUBJECT_AND_VERB = frozenset(
    ("only", "also", "even", "always", "never", "often", "usually", "sometimes", "mostly")
    + ("rarely", "seldom", "barely", "hardly", "literally", "basically", "actually")
)
# Where, after a noun or before no noun: "a jazz concert *downtown*", "the pho place *downtown*
# closed" (they taught "jazz concert downtown", "downtown"); before a noun a modifier ("the
# downtown library").
_WHERE = frozenset(
    ("downtown", "uptown", "nearby", "abroad", "overseas", "upstairs", "downstairs")
    + ("outdoors", "indoors", "outside", "inside")
)
# The seasons whose names name other things as often ("spring boot", "a bad fall", "the fall
# of rome"; see time_words._SEASONS), and the words before them that make them the season:
# "love hiking in the *fall*", "next *spring*" taught "fall", "spring"
_AMBIGUOUS_SEASONS = frozenset(("fall", "spring"))
_SEASON_DETERMINERS = frozenset(("this", "last", "next", "every", "early", "late", "mid"))
_SEASON_PREPOSITIONS = frozenset(("in", "during", "through", "until", "by", "since", "for"))


# Nouns whose complement after "be" may be a doing: "my hobby is *painting*", "my job is
# *programming*", "my favourite sport is *climbing*", "the best part is *hiking*". After
# any other noun an -ing form ending its phrase is the noun doing it ("my screen is
# *flickering*", "my system is *overheating*" taught "flickering", "overheating").
_DOING_NAMES = frozenset(
    ("hobby", "pastime", "passion", "job", "work", "career", "profession", "thing", "sport")
    + ("method", "plan", "idea", "goal", "dream", "specialty", "focus", "field", "major")
    + ("interest", "favorite", "favourite", "weakness", "strength", "obsession", "problem")
    + ("role", "task", "challenge", "skill", "talent", "vice", "addiction", "jam", "activity")
    + ("pleasure", "therapy", "escape", "life", "calling", "thesis", "topic", "subject")
    + ("answer", "solution", "way", "part", "exercise", "workout", "routine", "cardio")
    + ("religion", "weekend", "priority", "sideline", "gig", "trade", "business")
)


def _names_a_doing(word: str, before: Sequence[str]) -> bool:
    """Whether a doing may be what ``word`` is (see :data:`_DOING_NAMES`), or what the noun
    it is "of" is ("my method of reproduction is *cloning*", "the best part of my day is
    *running*"); ``before``: the clause's words before ``word``'s phrase."""
    if lemma(word, "en") in _DOING_NAMES:
        return True
    words = [w for w in before if w not in _DETERMINERS]
    return len(words) > 1 and words[-1] == "of" and lemma(words[-2], "en") in _DOING_NAMES


def _home_places(tokens: Sequence[str], lowered: Sequence[str]) -> frozenset[int]:
    """Where the words of a clause name a place of :data:`_HOME_PLACES` after a preposition
    of place and a determiner, its modifier included ("on the kitchen *counter*"): those
    words are no topic. The place ends its phrase; a capitalised modifier is a name."""
    placed: set[int] = set()
    for index in range(len(tokens) - 2):
        if lowered[index] not in _LOCATIVES:
            continue
        first = index + 2
        if lowered[index + 1].isdigit():  # an address: "the pho place on 5th *street*"
            first += lowered[first] in _ORDINAL_ENDINGS
        elif lowered[index + 1] not in _PLACE_DETERMINERS:
            continue
        elif lowered[first].isdigit():  # which one: "the coffee machine on the 3rd *floor*"
            first += 1 + (lowered[first + 1] in _ORDINAL_ENDINGS)
        for head in (first, first + 1):
            if head >= len(tokens) or is_filler(lowered[head]):
                break
            ends = not lowered[head + 1] or is_filler(lowered[head + 1])
            named = any(tokens[at][:1].isupper() for at in range(first, head + 1))
            if ends and not named and (
                lowered[head] in _HOME_PLACES or lemma(lowered[head], "en") in _HOME_PLACES
            ):
                placed.update(range(first, head + 1))
                break
    return frozenset(placed)


def _season(word: str, previous: str, before: str, following: str) -> bool:
    """"fall" or "spring" after "this", "next"… or "in the", "during the", when no noun
    follows that it names a kind of ("this fall *semester*", "in the spring *boot* docs")."""
    return (
        word in _AMBIGUOUS_SEASONS
        and (
            previous in _SEASON_DETERMINERS
            or (previous == "the" and before in _SEASON_PREPOSITIONS)
        )
        and (not following or "NOUN" not in _pos(following) or is_filler(following))
    )


# Adverbs of time and repetition, which a stopword list holds (so no _adverb), between "be"
# and an -ing form: it is then the verb still going on, not what the subject is ("my ears
# are *still* ringing" taught "ringing")
_ASPECT_ADVERBS = frozenset(("still", "always", "already", "constantly", "currently"))
# A participle that gives the thing before it its name: "a dog *named* Biscuit".
_NAMING_PARTICIPLES = frozenset(("named", "called"))
_SPEND = frozenset(("spend", "spends", "spent", "spending"))
# Who is doing something, before a form of "be" ("I'm", "we are", "they were").
_DOERS = frozenset(
    ("i", "we", "you", "they", "he", "she", "people", "guys", "folks", "everyone", "everybody")
)


# People taken together, named by one singular noun: "our book club is *reading* pachinko",
# "our class is *studying* photosynthesis" do something (they taught "reading pachinko",
# "studying photosynthesis"); after a noun not among them the -ing form may name what the
# noun is ("my hobby is *painting* miniatures", "my job is *writing* software").
_GROUPS = frozenset(
    ("club", "team", "group", "class", "band", "company", "family", "crew", "squad")
    + ("office", "department", "school", "startup", "choir", "community", "lab", "firm")
)


# A verdict said of the subject that opens the clause: "honestly python *rocks*", "board
# games *rule*" (a fragment may read as one: "moon rocks!" teaches "moon").
_VERDICTS = frozenset(("rock", "rocks", "rule", "rules", "suck", "slap", "slaps"))
# … and a subject's demonstrative ("*this* song slaps")
_DEMONSTRATIVES = frozenset(("this", "that"))
# What may come before a clause's subject: "*honestly* python rocks", "*haha yeah the*
# board games rule", "*and* rust rocks".
_OPENERS = frozenset(("so", "and", "but", "also", "well", "now", "then", "still", "anyway"))


def _someone(word: str) -> bool:
    """A person or people who may be doing something: a pronoun, a group, one's family."""
    return word in _DOERS or word in _KIN or word in _GROUPS


def _opening(before: Sequence[str]) -> bool:
    """Nothing but openers before a run: determiners, interjections, laughter, adverbs
    ("honestly", "finally") and a few linking words: the run is the clause's subject."""
    return all(
        word in _DETERMINERS or word in INTERJECTIONS or word in _OPENERS
        or bool(_LAUGHTER.match(word)) or _adverb(word)
        for word in before
    )


def _plural_doer(item: tuple[str, bool]) -> bool:
    """A plural noun not kept as a name, the subject of a form of "be" that does something
    ("the students are learning calculus"); a name is as often a thing's ("Windows are"),
    and one's hobbies are what they name ("my hobbies are *reading* and running")."""
    word, kept = item
    return (
        not kept and word not in _PASTIME_NOUNS and "NOUN" in _pos(word) and not _singular(word)
    )


def _rare_object(word: str) -> bool:
    """A word that names a thing, rarer than an everyday noun — a title, a game, a tool
    ("pachinko", "severance", "rust", "valorant") — or a language ("japanese")."""
    return _begins_object(word) and (zipf(word, "en") < OBJECT_RARE_MAX or language_name(word))


def _spent_doing(
    spending: bool, word: str, previous: str, name: bool, following: str
) -> bool:
    """What time was spent doing, after a form of "spend" and a stretch of time: "spent the
    weekend *debugging* kafka consumers", "spent the weekend *knitting*"."""
    return (
        spending and not name and word.endswith("ing")
        # (or a gerund the lexicon does not list, before an object: "spent the weekend
        # *repotting* all my succulents" taught "repotting"; "spent the weekend
        # bouldering" keeps its pastime)
        and ("VERB" in _pos(word) or (not _pos(word) and following in _OBJECT_OPENERS))
        and _duration(previous)
    )


def _duration(word: str) -> bool:
    """A stretch of time one spends ("day", "hours", "evenings", "weekend")."""
    noun = lemma(word, "en")
    return time_word(noun) or noun in ("weekend", "time", "ages")


@functools.lru_cache(maxsize=100_000)
def _to_object(word: str) -> bool:
    """A form of one of :data:`_TO_OBJECT_VERBS` ("listened", "switching", "addicted"): the
    "to" after it opens a noun, the verb's object, not an infinitive."""
    return "VERB" in _pos(word) and any(verb in _TO_OBJECT_VERBS for verb in _verbs(word))


def _person_named(word: str, tokens: Sequence[str], index: int, previous: str) -> bool:
    """Whether ``word``, capitalised as ``tokens[index]``, is a given name standing alone:
    the person spoken of ("lunch with *Kevin* and *Maria*", "*Kevin* said"), nobody's
    interest, as the lower-case word is (:func:`_unknown_noun`), up to the single-word cap
    (a capitalised word is a name whatever the lexicon knows of it: "Mike"). Beside another
    capitalised word it is part of a whole name ("Kevin Durant", "Harry Potter"), and after a
    preposition of place it names the place ("in *Victoria*")."""
    if previous in _PLACE_PREPOSITIONS:
        return False
    if index + 1 < len(tokens) and _capitalised(tokens[index + 1]):
        return False
    if index > 1 and _capitalised(tokens[index - 1]):
        return False
    return _named(word, zipf(word, "en"), ceiling=SINGLE_MAX)


@functools.lru_cache(maxsize=100_000)
def _of_go(word: str) -> bool:
    """A form of "go" ("went", "going"): a gerund after it names the activity, never a
    progressive verb — "I am going *hiking*" read as "I am hiking" ("going" a stopword)
    and taught nothing."""
    return "go" in _verbs(word)


def _gone_doing(word: str, previous: str) -> bool:
    """A gerund after a form of "go" names the activity, however everyday the word: "I'm
    going *running*", "went *walking* this morning" taught nothing, "running" and "walking"
    (Zipf 5.2, 4.9) being as common as "thinking" (see :data:`GERUND_MAX`). Not a word that
    is also an adjective: "my keys went *missing*"."""
    if not word.endswith("ing") or not _of_go(previous):
        return False
    pos = _pos(word)
    return "VERB" in pos and "ADJ" not in pos


# Verbs of liking whose gerund object, ending the clause, is a pastime ("I love *running*").
_LIKING = frozenset(("love", "loves", "enjoy", "enjoys", "like", "likes", "adore", "adores"))
# Every form of a verb of liking or its opposite
_FOND = _LIKING | frozenset(
    ("loved", "loving", "enjoyed", "enjoying", "liked", "liking", "adored", "hate", "hates")
    + ("hated", "hating")
)
_FOND_PAST = frozenset(word for word in _FOND if word.endswith("ed"))
# Nouns whose complement after "be" is a pastime ("my hobby is *reading*").
_PASTIME_NOUNS = frozenset(("hobby", "hobbies", "passion", "passions"))
# Forms of "take", whose "up" before a gerund starts a pastime ("I took up *running*").
_TAKE = frozenset(("take", "takes", "took", "taken", "taking"))
# Prepositions whose object may be a gerund: after one the gerund is a thing named, not the
# verb of the "be" before ("I'm really into *running*", "they're excited about *skiing*"
# were read as "I'm running", "they're skiing", and taught nothing). Closed-class words: no
# lexicon installed here marks prepositions ("into", "at" have no part of speech in
# lemminflect's).
_GERUND_PREPOSITIONS = frozenset(
    ("into", "about", "at", "with", "in", "of", "for", "from", "by", "without")
)
# Everyday gerunds that are no pastime even where one would be: "I enjoy *learning*".
_NO_PASTIME = frozenset(
    ("learning", "thinking", "working", "doing", "trying", "waiting", "talking", "helping")
    + ("using", "going", "getting", "having", "making", "being", "seeing", "knowing")
    + ("playing", "watching", "spending", "coming", "staying", "taking", "giving", "looking")
    + ("sitting", "living", "meeting", "hearing", "saying", "telling", "finding", "keeping")
    + ("relaxing", "resting", "chilling", "sleeping", "coughing", "sneezing", "drinking")
    + ("smoking", "eating", "crying")
)
# What may follow a pastime and say when, where or with whom, not what it is about: "I love
# running *in* the morning", "I enjoy reading *on* weekends", "reading *and* running", "into
# knitting *lately*".
_PASTIME_TAIL = frozenset(
    ("in", "on", "at", "with", "after", "before", "during", "every", "each", "around")
    + ("outside", "alone", "together", "too", "early", "late", "whenever", "and", "or")
    + ("lately", "recently", "now", "nowadays", "again", "anymore")
)
# What says a doing is a habit (see _habit)
_HABIT_TAIL = frozenset(
    ("every", "lately", "recently", "nowadays", "daily", "nightly", "weekly", "again")
)
# … and these before a unit of time: "into running *these* days", "took up knitting *last*
# year" (before anything else they open the gerund's object: "I love running *this* place")
_PASTIME_WHEN = frozenset(("this", "these", "next", "last"))


def _pastime_loved(
    word: str, previous: str, following: str, before: str, after: str = ""
) -> bool:
    """A gerund a person says they like ("I love *running*", "I enjoy *reading* on
    weekends", "I'm really into *running*"), took up ("I took up *running*"), or their hobby
    ("my hobby is *reading*"), names the pastime however everyday the word: "running",
    "reading", "writing" are as common as "thinking" (see :data:`GERUND_MAX`) and taught
    nothing. Only where the clause ends or says when, where or with whom
    (:data:`_PASTIME_TAIL`) — "I love *working* here", "I like *learning* new things" go on
    with what they are about — and never an everyday doing (:data:`_NO_PASTIME`: "I enjoy
    *learning*")."""
    if not _pastime(word, following, after):
        return False
    if previous in _LIKING or previous == "into":
        return True
    if previous == "up":
        return before in _TAKE
    return previous in _BE and before in _PASTIME_NOUNS


def _said_of_it(word: str, following: str) -> bool:
    """A verb's -s form before how, how much or whom; not a plural before a verb of its own
    ("my bowls *are* still wonky", "brakes *squeak*"), one listed ("fissures, vents *and*
    plugs") or one a clause of its own ("bank notes, checks, etc.")."""
    if not following or following in ("and", "or", "etc") or "AUX" in _pos(following):
        return False
    return _third_person_verb(word, AFTER_COMMA_LEEWAY) and (
        is_filler(following) or _adjective(following) or evaluative(following)
    )


# There the verb's reading may be this much rarer than the plural's (Zipf): "tastes" 4.1,
# "tasted" 3.7; "views" 4.3, "viewed" 3.9 ("hiking trip, views amazing" keeps no "view")
AFTER_COMMA_LEEWAY = 0.6


def _verdict(word: str, before: str, following: str) -> bool:
    """A noun of strong sentiment (VADER, at least VERDICT_VALENCE either way) ending its
    phrase after "a" and, ``before`` that, "be" or "such": what the subject is judged to
    be."""
    return (
        (_form_of_be(before) or before in ("such", "total", "complete", "absolute"))
        and (not following or is_filler(following))
        and abs(_valences().get(word, 0.0)) >= VERDICT_VALENCE
    )


# "disaster" -3.1, "mess" -1.5, "masterpiece" 3.1, "lifesaver" 2.8; not "joke" 1.2, "dream"
VERDICT_VALENCE = 1.5


@functools.lru_cache(maxsize=100_000)
def _past_of(word: str) -> tuple[str, ...]:
    """The verbs whose past tense ``word`` is, by lemminflect's inflections ("fell" → "fall";
    "beat" → "beat")."""
    import lemminflect

    return tuple(
        verb for verb in _verbs(word) if word in lemminflect.getInflection(verb, tag="VBD")
    )


def _irregular_past(word: str) -> bool:
    """A verb's past tense of its own, not its base nor a regular -ed ("fell", "rose",
    "saw", "felt")."""
    return not word.endswith("ed") and any(verb != word for verb in _past_of(word))


# What opens a verb's object: a determiner or a quantity ("repotting *all* my succulents")
_OBJECT_OPENERS = _DETERMINERS | frozenset(("all", "every", "each", "both", "some", "any"))
# What may follow a verb's past ending its clause: a particle, a preposition of time or
# place, a word of when ("fell *over*", "rose *overnight*", "fell *during* the storm")
_AFTER_PAST = _PARTICLES | _TIME_PREPOSITIONS | frozenset(
    ("over", "away", "apart", "overnight", "again", "yesterday", "today", "in", "into", "to")
)


@functools.lru_cache(maxsize=100_000)
def _request(word: str) -> bool:
    """A verb's plain form the lexicon knows only as a verb ("explain", "define",
    "summarize"), and no given name ("peter")."""
    return (
        _pos(word) == {"VERB"} and word in _verbs(word)
        and not given_name(word, zipf(word, "en"))
    )


def _past_form(word: str) -> bool:
    """A verb's past tense ("beat", "hit", "read", "finished")."""
    return bool(_past_of(word))


def _binged(word: str) -> bool:
    """A form of a verb "binge" makes one with ("binge *watched*", "binge *reading*")."""
    return bool(_BINGED & set(_verbs(word)))


_BINGED = frozenset(("watch", "read", "play", "eat", "drink", "listen"))


def _pastime_with_object(word: str, previous: str, following: str, after: str) -> bool:
    """A gerund a person says they like before one everyday noun ending the clause or saying
    when: the pastime ("love *swimming* laps early", "I enjoy *baking* bread"); a rarer
    object is the subject ("enjoy baking *sourdough*", as in :func:`_rare_object`), and so
    is a longer one ("I love reading *fantasy novels*")."""
    return (
        previous in _LIKING
        and _pastime(word, after)
        and _begins_object(following)
        and "NOUN" in _pos(following)
        and not language_name(following)
        # "laps" (3.7) is as everyday as "lap" (4.2)
        and max(zipf(following, "en"), zipf(lemma(following, "en"), "en")) >= OBJECT_RARE_MAX
        and (not after or after in _PASTIME_TAIL)
    )


def _liked_next(word: str, after: str) -> bool:
    """What a verb of liking opening a clause is followed by when it is that verb: a gerund,
    or one singular noun ending the clause ("love *pizza*"; "love *songs* are the best",
    "love *letters* from …" are compounds)."""
    if word.endswith("ing") and "VERB" in _pos(word):
        return True
    return (
        not after and not is_filler(word) and "NOUN" in _pos(word) and _singular(word)
    )


def _past_amount(ahead: Sequence[str]) -> tuple[str, str]:
    """The two words after a gerund, past how much of it was done: "been running *5k every*
    morning", "swimming *20 min daily*" (the number and its unit of length or time), so
    that what follows says whether it is a habit."""
    words = [*ahead, "", "", ""]
    if not words[0].isdigit():
        return words[0], words[1]
    if length_unit(words[1]) or time_word(words[1]):
        return words[2], words[3]
    return words[1], words[2]


def _habit(word: str, following: str, after: str) -> bool:
    """A gerund said to be done again and again: a pastime (:func:`_pastime`) before "every",
    "lately", "daily"… ("journaling every night", "running lately"); not a feeling or a
    state ("feeling sick lately", "struggling lately", "crying every night": evaluative)."""
    return (
        (following in _HABIT_TAIL or (following in _PASTIME_WHEN and time_word(after)))
        and _pastime(word, "") and not evaluative(word)
    )


def _pastime(word: str, following: str, after: str = "") -> bool:
    """A gerund that may name a pastime where the words before say it is one (see
    :func:`_pastime_loved`)."""
    return (
        (
            not following
            or following in _PASTIME_TAIL
            or (following in _PASTIME_WHEN and (after in _MEASURES or time_word(after)))
        )
        and word.endswith("ing")
        and word not in _NO_PASTIME
        and "VERB" in _pos(word)
    )


def _capitalised(token: str) -> bool:
    """A capitalised word that may be part of a name: not "I" ("with Kevin I went …")."""
    return token[:1].isupper() and token.replace("’", "'").split("'")[0] != "I"


def _placed_name(word: str) -> bool:
    """A word the given-names rule would drop ("virginia", "austin", "orlando": census names)
    that, after a preposition of place, names the place: counted as its capitalised form
    would be. Lower-case chat writes places so, and the review found them lost."""
    return not _pos(word) and _named(word, zipf(word, "en"))


def _addressee(word: str, name: bool) -> bool:
    """After a greeting, thanks or an honorific, a name or a word the lexicon does not know
    ("thanks *Sarah*", "hi *john*", "hello Mr. *Davis*") is the person spoken to or of: a
    colleague's name is nobody's interest. A word the lexicon knows ends the address ("thanks
    for the *pizza*")."""
    return name or not _pos(word)


def _before_its_object(word: str, following: str, after: str) -> bool:
    """A verb-able word inside a run, before an article or a possessive, is a verb before its
    object ("the api *returns* a 500"), unless that is a measure of time or amount ("three
    cover letters a day", "board games every friday": "every" is no object's determiner)."""
    return following in _OBJECT_ARTICLES and after not in _MEASURES and "VERB" in _pos(word)


def _finite(run: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """A subordinate clause with no verb yet, whose run ends in a verb-able word that agrees
    with the noun before it, -s after a singular one ("if the weather *holds*", "when the
    build *finishes*"), none after a plural ("if the unit tests *pass*"): that word is the
    clause's verb. Outside one a noun phrase may stand alone ("merge conflicts
    everywhere"). There a name, a word the lexicon does not know or a gerund may be the
    subject too, and its verb a little rarer than the plural it shares a form with: "explain
    how dns *works*", "no idea why postgres *crashes*" (they taught "dns work", "postgres
    crash")."""
    if _subject_and_verb(run):
        return run[:-1]
    if len(run) < 2 or run[-1][1]:
        return run
    subject, named = run[-2]
    pos = _pos(subject)
    may_lead = named or not pos or (subject.endswith("ing") and "VERB" in pos)
    return run[:-1] if may_lead and _third_person_verb(run[-1][0], PARTICLE_LEEWAY) else run


def _subject_and_verb(
    run: list[tuple[str, bool]], *, read_as_verb: bool = False, leeway: float = 0.0
) -> bool:
    """The run ends in a noun and a verb-able word agreeing with it: a plural and a plain
    form ("tests pass", "scripts run"), or a singular and an -s form ("weather holds").
    ``read_as_verb``: the singular's -s form only where it is read mostly as a verb ("build
    fails"; not "generic *types*", more often a plural than a verb: see
    :func:`_third_person_verb`), or nearly so (``leeway``) — outside a subordinate clause,
    which awaits its verb, a noun phrase may stand alone."""
    if len(run) < 2 or run[-1][1] or run[-2][1]:
        return False
    word, before = run[-1][0], run[-2][0]
    if "VERB" not in _pos(word):
        return False
    inflected = word.endswith("s") and lemma(word, "en") != word
    if _unknown_subject(before):
        return inflected and _third_person_verb(word, leeway)
    if "NOUN" not in _pos(before):
        return False
    if not _singular(before):
        return not inflected
    return _third_person_verb(word, leeway) if read_as_verb else inflected


# After these a verb's plain form names a thing: "the *deploy*", "my *install*", "this
# *merge*" (not "these", "some": "these *include* …" is a clause; nor "that": "so that *work*").
_NAMING_DETERMINERS = frozenset(
    ("the", "a", "an", "my", "your", "his", "her", "our", "their", "its", "this", "every")
)


@functools.lru_cache(maxsize=100_000)
def _bare_verb(word: str) -> bool:
    """A plain verb form the lexicon lists as nothing else ("deploy", "merge", "install"):
    after one of :data:`_NAMING_DETERMINERS` it is used as a noun, and kept as written (the
    lexicon's rules would drop it as a verb)."""
    return _pos(word) == {"VERB"} and not word.endswith("ing") and word in _verbs(word)


# … before its particle the verb's reading may be this much rarer (Zipf) than the plural's:
# "the error *shows* up" ("showed" 4.86 against "shows" 5.23), "the cat *naps* …" not
PARTICLE_LEEWAY = 0.5


def _phrasal(word: str, following: str) -> bool:
    """A verb's -s form before its particle, after a noun: "the queue *backs* up", "the
    server *shuts* down" (it taught "queue back")."""
    return following in _PARTICLES and _third_person_verb(word, PARTICLE_LEEWAY)


@functools.lru_cache(maxsize=100_000)
def _adverb(word: str) -> bool:
    """An adverb of manner or time and nothing else the lexicon knows ("finally",
    "suddenly", "recently"): no part of a name for a thing."""
    return word.endswith("ly") and _pos(word) == {"ADV"}


def _describes(item: tuple[str, bool]) -> bool:
    """A rare adjective, and no noun or verb: the word after it is the noun it describes
    ("a nightly *job*", "remote *work*"), not a clause's verb, however common. So is a
    hyphenated compound the lexicon does not know, however common: "a full-time *job*"."""
    word, kept = item
    if kept:
        return False
    pos = _pos(word)
    if not pos and "-" in word:
        return True
    return "ADJ" in pos and not pos & {"NOUN", "VERB"} and zipf(word, "en") < MODIFIER_MAX


def _linking(word: str, following: str) -> bool:
    """A verb of the senses between a noun and an adjective, which says how the noun is:
    "energy drinks *taste* awful", "these headphones *sound* great", "the soup *smells*
    amazing" — no part of the noun's name (it taught "taste")."""
    return (
        word in _LINKING_VERBS
        and "ADJ" in _pos(following)
        and "NOUN" not in _pos(following)
    )


def _unknown_subject(word: str) -> bool:
    """A singular the lexicon does not know, no filler, as the subject of a verb's -s form:
    everyday words newer than it ("the website works great", "my app works fine": "website",
    "app", "blog" have no part of speech there). Not one ending in -s, which may be a
    plural or a name ("our kubernetes cluster eventually recovered")."""
    return not _pos(word) and not word.endswith("s") and not is_filler(word, "en")


def _singular(noun: str) -> bool:
    """A noun in its singular form, as the subject of a verb's -s form is: "weather",
    "daughter", "boss" (-ss is no plural's ending); not "tests", "kids"."""
    return lemma(noun, "en") == noun and (not noun.endswith("s") or noun.endswith("ss"))


def _verb_between(word: str, before: tuple[str, bool], following: str, after: str) -> bool:
    """A verb's third-person form between a singular noun or a name, its subject, and a
    word of its object: "my daughter *loves* minecraft", "my son *plays* fortnite", "kevin
    *hates* football". A plural noun inside a compound stays ("video games news": see
    :func:`_third_person_verb`), and so does one that ends its run ("board games") or
    follows a plural ("kids games"), and so does one before the clause's verb ("energy
    *drinks* taste awful": :func:`_linking`)."""
    if not following:
        return False
    # "all" before a stretch of time says when: "the dog barks *all* night"
    # … and so does a place after a preposition: "the config *lives* in the repo"
    when = (
        following in _TIME_PREPOSITIONS
        or (following == "all" and time_word(after))
        or (following in _LOCATIVES and after in _PLACE_DETERMINERS)
    )
    if is_filler(following) and following not in _WHEN_OR_OBJECT and not when:
        return False
    # when or where after it, as after a manner (MANNER_LEEWAY), says a verb was used: "the
    # code *works* on the first try", "my dog *barks* at night" ("worked" 5.2, "works" 5.3)
    leeway = MANNER_LEEWAY if when else 0.0
    if not _third_person_verb(word, leeway):
        return False
    if _adverb(following) or following in _HOW_OFTEN:
        # how, not what: the run's own verb if any ("the blog posts regularly"), and that
        # is the rule for a verb said how it went to decide ("I read blog posts regularly")
        return False
    if _linking(following, after):
        return False
    noun, name = before
    # a word the lexicon does not know may be a person too ("kevin *plays* chess")
    return name or ((not _pos(noun) or _english_noun(noun)) and _singular(noun))


def _plural_subjects_verb(word: str, before: tuple[str, bool], following: str) -> bool:
    """A verb's plain form after a plural noun, its subject: "the unit tests *pass*", "the
    integration tests *fail* on ci", "my tests *break* every time" (they taught "unit tests
    pass"). Only a form read as a verb about as often as the noun ("pass", "fail", "crash";
    not "account", "bar", "store": "a savings *account*", "the sports *bar*"), not after a
    plural that names one thing ("the sales *report*", "the news *feed*"), and not before
    how it went, which decides for itself ("podcast episodes *drop* weekly": see went)."""
    noun, _ = before
    if (word.endswith("s") and not word.endswith("ss")) or noun in _PLURAL_NAMES:
        return False
    if lemma(noun, "en") == noun or not _plural_doer(before):
        return False
    if following in _HOW_IT_WENT or following in _HOW_OFTEN or _adverb(following):
        return False
    if "VERB" not in _pos(word) or word not in _verbs(word):
        return False
    reading = _verb_reading((word,))
    return reading is not None and reading >= zipf(word, "en") - PLURAL_SUBJECT_MARGIN


@functools.lru_cache(maxsize=100_000)
def _third_person_verb(word: str, leeway: float = 0.0) -> bool:
    """A verb's -s form, read mostly as the verb: "loves", "plays", "watches", "hates"; not
    a plural noun the verb shares a form with ("games", "records", "drinks", "shops").
    wordfreq has no parts of speech, so the verb's past tense says which reading is the
    common one ("loved" 5.0 > "loves" 4.7; "gamed" 2.3 < "games" 5.4); for an irregular verb,
    whose past no rule builds, its -ing form ("building" 5.3 > "builds" 4.0). (Built by
    rule and checked against the lexicon: lemminflect's table of inflections would cost a
    worker 0.3 CPU-s to load.) ``leeway``: the verb's reading may be this much rarer (Zipf)."""
    pos = _pos(word)
    if not word.endswith("s") or "VERB" not in pos:
        return False
    verbs = [verb for verb in _verbs(word) if verb != word]
    if not verbs:
        return False
    if "NOUN" not in pos:
        return True  # "hates", "teaches": no plural to take it for
    reading = _verb_reading(verbs)
    return reading is not None and reading > zipf(word, "en") - leeway


def _verb_reading(verbs: Sequence[str]) -> float | None:
    """How common ``verbs`` are as verbs, for a form they share with a noun: the Zipf
    frequency of their past tense, or of their -ing form for an irregular verb whose past
    no rule builds (None: the lexicon lists neither)."""
    pasts = [form for verb in verbs for form in (verb + "d", verb + "ed", verb + verb[-1] + "ed")]
    pasts += [verb[:-1] + "ied" for verb in verbs]  # "carries" → "carried"
    reading = _attested(pasts, verbs)
    if reading is None:
        gerunds = [f for v in verbs for f in (v + "ing", v[:-1] + "ing", v + v[-1] + "ing")]
        reading = _attested(gerunds, verbs)
    return reading


@functools.lru_cache(maxsize=100_000)
def _verbs(word: str) -> tuple[str, ...]:
    """The verbs ``word`` is a form of, by lemminflect (its rules guess for a word it lacks)."""
    import lemminflect

    return tuple(lemminflect.getLemma(word, upos="VERB") or ())


def _attested(forms: Iterable[str], verbs: Sequence[str]) -> float | None:
    """The Zipf frequency of the commonest of ``forms`` (built by rule) that the lexicon
    lists as a form of one of ``verbs``; None when it lists none ("swimmed")."""
    import lemminflect

    found = [
        zipf(form, "en")
        for form in forms
        if set(lemminflect.getAllLemmas(form).get("VERB", ())) & set(verbs)
    ]
    return max(found, default=None)


@functools.lru_cache(maxsize=100_000)
def _action_gerund(word: str) -> bool:
    """A gerund whose verb is more often reported done than named as something one does:
    its regular past tense is more common than the -ing form ("grabbed" 4.07 > "grabbing"
    3.77; "switched", "fixed", "deployed", "migrated"). An activity is named more than
    reported ("hiking" 3.87 > "hiked" 2.95; "climbing", "programming", "testing",
    "learning"). Irregular verbs ("swam") give no evidence and pass as activities, and a
    participle the lexicon lists as an adjective may be a modifier ("performing arts")."""
    pos = _pos(word)
    if not word.endswith("ing") or "VERB" not in pos or "ADJ" in pos:
        return False
    past = _attested((word[:-3] + "ed",), _verbs(word))  # "grabb|ing" → "grabbed"
    return past is not None and past > zipf(word, "en")


def _frame_noun(word: str, following: str) -> bool:
    """An everyday noun that frames the topic after it: "a *book* about robots", "any
    *opinions* on sqlite"; what follows is what the message is about. "on" also places
    things ("my *tests* fail on main", "*work* on weekends"): before it only a noun with no
    verb reading frames."""
    pos = _pos(word)
    if following not in ("on", "about") or "NOUN" not in pos:
        return False
    if following == "on" and "VERB" in pos:
        return False
    return zipf(lemma(word, "en"), "en") >= EVERYDAY_MIN


@functools.lru_cache(maxsize=100_000)
def _light_verb(word: str) -> bool:
    """A form of a light verb, one whose bare everyday object makes an idiom with it ("make
    sense", "take care", "have fun", "give way", "do business"). Only these: any common verb
    ("think", "read", "use") took "music" from "I think music is…", "history" from "I read
    history for fun"."""
    return any(verb in _LIGHT_VERBS for verb in _verbs(word))


_LIGHT_VERBS = frozenset(("make", "take", "have", "give", "do"))


def _bare_object(word: str, following: str) -> bool:
    """An everyday singular noun with no determiner, alone after a common verb, is part of
    the verb: "does graphql make *sense*", "take *care*", "have *fun*"."""
    if "NOUN" not in _pos(word) or zipf(word, "en") < PHRASE_MAX:
        return False
    # … and not the subject of a clause of its own ("I'd say *music* is …")
    ends = not following or (is_filler(following) and not _pos(following) & {"VERB", "AUX"})
    return lemma(word, "en") == word and ends


def _verb_only(word: str) -> bool:
    """A verb form the lexicon lists as no noun or auxiliary ("tried", "used"): what
    follows it is its object."""
    pos = _pos(word)
    return "VERB" in pos and not pos & {"NOUN", "AUX", "PROPN"}


def _form_of_be(word: str) -> bool:
    """"is", "were", "been"…, or a pronoun contracted with one (:func:`_be`)."""
    return word in _BE or ("'" in word and _be(word))


def _be(word: str) -> bool:
    """A form of "be", or a pronoun contracted with one ("it's", "they're"; not a
    possessive, "the team's", nor "let's", nor the "'s" a possessive leaves on its own:
    :func:`_possessives_apart`)."""
    pronoun, _, rest = word.partition("'")
    return (
        rest in ("s", "re", "m") and bool(pronoun) and is_filler(pronoun)
        and "VERB" not in _pos(pronoun)
    )


def _progressive(word: str, following: str, lang: str, *, after_noun: bool = False) -> bool:
    """After a form of "be", a past participle is the verb ("was painted red"), and so is a
    present one that ends its phrase after a pronoun ("we are hiring", "it's failing"); after
    a noun it names what the noun is ("my hobby is *painting*", "my job is *programming*";
    "the build is failing" still teaches nothing: "failing" is evaluative). One before a noun
    may open a compound ("are operating systems"), and any other word is the complement
    ("what is ultrasound")."""
    if word.endswith("ed"):
        return True
    ends = not following or is_filler(following, lang)
    return word.endswith("ing") and ends and not after_noun


@functools.lru_cache(maxsize=100_000)
def _connective(word: str) -> bool:
    """A function word no stopword list in use holds ("versus", "whilst"): common, unknown
    to the lexicon of nouns, verbs and adjectives, and in stopwords-iso's English list (whose
    open-class words, "computer" or "novel", the lexicon knows; its short ones are
    abbreviations: "tv", "pr"). Such a word can neither open nor close a topic (see
    :func:`_weak_modifier`), nor sit inside one."""
    if len(word) < 4 or _pos(word) or zipf(word, "en") < CONNECTIVE_MIN:
        return False
    return word in _iso_english() and word not in _ISO_WEB_WORDS


# Words of stopwords-iso's English list (compiled from web pages) that the rule above would
# take for function words, and which name things: "my portfolio *website* redesign".
_ISO_WEB_WORDS = frozenset(("website", "microsoft", "http"))


@functools.lru_cache(maxsize=1)
def _iso_english() -> frozenset[str]:
    import stopwordsiso

    return frozenset(stopwordsiso.stopwords("en"))


@functools.lru_cache(maxsize=100_000)
def _compound_noun(word: str) -> bool:
    """A countable noun, not a common verb: the lexicon lists it as a singular noun whose
    regular plural is in use ("value"/"values"); pronouns ("anyone") and verbs ("keep") are
    not. (Regular plurals only: lemminflect's table of inflections would cost a worker 0.3
    CPU-s to load, for the few words this is asked about.)"""
    pos = _pos(word)
    if "NOUN" not in pos or pos & {"ADJ", "ADV", "AUX"} or _clause_verb(word):
        return False
    if lemma(word, "en") != word:
        return False
    plurals = (word + "s", word + "es", word[:-1] + "ies")
    return any(lemma(p, "en") == word and zipf(p, "en") >= COUNT_NOUN_MIN for p in plurals)


def _adjective(word: str) -> bool:
    """Used as an adjective or adverb when alone; a rare noun that can also be one
    ("piano") still names a thing."""
    pos = _pos(word)
    if not pos & {"ADJ", "ADV"}:
        return False
    return "NOUN" not in pos or zipf(word, "en") >= RARE_NOUN_MAX


@functools.lru_cache(maxsize=100_000)
def _clause_verb(word: str) -> bool:
    """A common verb, which inside a run is the clause's own ("kubernetes operators *make*
    cluster automation"). A noun that is a verb only rarely is the noun: "our soccer *team*
    won", "the chess *group*" (their pasts, "teamed" and "grouped", are two Zipf points
    rarer; they cut "soccer team" to "soccer")."""
    pos = _pos(word)
    if "VERB" not in pos or pos & {"ADJ"}:
        return False
    frequency = zipf(word, "en")
    if frequency < CLAUSE_VERB_MIN:
        return False
    if "NOUN" not in pos:
        return True
    reading = _verb_reading(_verbs(word))
    return reading is not None and reading >= frequency - RARE_VERB_MARGIN


def specificity(words: Sequence[str], lang: str) -> float:
    """How much a phrase says about its writer, in (0, 1]: the rarer its rarest word, the
    more it names something particular ("superpowers" 1.0, "music" 0.4)."""
    rarest = min(zipf(w, lang) for w in words)
    return max(0.2, min(1.0, (6.3 - rarest) / 2.5))


def _trim_first(items: list[tuple[str, bool]], lang: str) -> bool:
    """Drop the leading words that cannot open a topic (names stay); whether one was a
    generic noun ("side project") or an everyday hyphenated compound ("a long-term plan",
    "state-of-the-art models"): what is left must then be rarer than everyday alone."""
    generic = False
    while items and not items[0][1] and (
        _weak_modifier(items[0][0], lang) or generic_alone(items[0][0], lang)
    ):
        generic = generic or generic_alone(items[0][0], lang) or "-" in items[0][0]
        items.pop(0)
    return generic


def _unknown_past_after_noun(run: Sequence[tuple[str, bool]]) -> bool:
    """The run ends in a word the lexicon does not know ending in "-ed", after a noun."""
    if len(run) < 2 or run[-1][1]:
        return False
    word, (before, kept) = run[-1][0], run[-2]
    return _unknown_past(word) and (kept or "NOUN" in _pos(before) or _unknown_subject(before))


def _unknown_past(word: str) -> bool:
    """A past tense the lexicon does not know ("rewatched", "nerfed"): an action."""
    return word.endswith("ed") and not _pos(word)


def _noun_before(items: Sequence[tuple[str, bool]]) -> bool:
    """The word before the last is a noun and no adjective (English): the last heads a
    compound with it ("science fair"), it does not describe it."""
    if len(items) < 2:
        return False
    word, kept = items[-2]
    return kept or (_english_noun(word) and not _adjective(word) and not evaluative(word))


def candidate(run: list[tuple[str, bool]], lang: str) -> tuple[str, float] | None:
    """A run of content words → (topic, strength), or None when it names nothing. Names
    (capitalised mid-sentence) are kept whole and never lemmatised ("Star Wars")."""
    items = list(run)
    generic_cut = _trim_first(items, lang)
    while items and not items[-1][1] and (
        _weak_head(items[-1][0], lang, after_noun=_noun_before(items))
        or generic_alone(items[-1][0], lang)
    ):
        if lang == "en" and _compound_gerund(items):
            break
        items.pop()
    if not items:
        return None
    # A phrase needs a word that is not everyday vocabulary: anywhere in the run it is cut
    # from ("distributed key value store" → "key value store", each word of it everyday); a
    # plain compound, one that could stand alone ("board games": see _plain_compound).
    rarest = min(zipf(w, lang) for w, _ in items)
    if len(items) > MAX_WORDS:
        # the last words name the thing; what now comes first must open a topic too
        items = items[-MAX_WORDS:]
        _trim_first(items, lang)
        if not items:
            return None
    words = [w for w, _ in items]
    # the topic as it is stored: English inflects its last word, the head; the head-first
    # languages every word before a joiner (each judged below as written)
    shown = _singular_phrase(items, lang) if lang in _HEAD_FIRST else words[:-1]
    head = words[-1] if items[-1][1] else lemma(words[-1], lang)
    if lang == "en" and len(words) == 2 and words[0] in _MEALS and head in _MEAL_TIMES:
        return None  # "*lunch break* finally": a time of day
    if lang == "en" and (head in _AILMENTS or head in _CONDITIONS or head in _BODY_PARTS):
        return None  # "out sick with the *flu*", "a killer *headache*" (not "flu vaccine")
    if len(words) == 1:
        word = words[0]
        if len(word) < 3 or generic_alone(word, lang) or generic_alone(head, lang) or (
            head in CLIPPED or (lang == "en" and head in _MEALS)
        ):
            return None
        if generic_cut and zipf(word, lang) >= EVERYDAY_MIN:
            return None  # cut from an everyday compound: "a small side project"
        if zipf(word, lang) >= (SINGLE_MAX if lang == "en" else OTHER_SINGLE_MAX):
            return None
        if lang != "en" and (len(word) < 4 or (
            inflected_adjective(word, lang) and not language_name(word, lang)
        ) or _other_than_noun(word, lang) or _other_than_noun(head, lang)
            or (zipf(word, lang) >= OTHER_PLAIN_MAX and _infinitive(word, lang))):
            return None
        if lang == "en" and not items[0][1] and (_adjective(word) or evaluative(word)):
            return None
        if lang == "en" and not items[0][1] and word in _NO_PASTIME:
            return None  # an everyday doing alone: "*staying* home today", "the *meeting*"
        if lang == "en" and _unknown_past(word):
            return None  # an unknown past tense ("rewatched") is an action, not a subject
    elif rarest >= PHRASE_MAX and not (
        lang == "en" and rarest < SINGLE_MAX and _plain_compound(words)
    ):
        return None
    topic = " ".join(shown if lang in _HEAD_FIRST else [*shown, head])
    if len(topic) > 60:
        return None
    strength = specificity(words, lang) * (1.0 if len(words) > 1 else 0.85)
    return topic, round(strength, 3)


# Languages whose phrases put the noun first and inflect what follows it for its gender and
# number ("música clásica", "filmes antigos", "libri gialli", "musique classique").
_HEAD_FIRST = frozenset(("es", "pt", "fr", "it"))


# Italian's plurals in -a of nouns in -o, a closed class ("le uova" → "uovo"); any other
# word in -a is a singular, whatever simplemma says ("torta" is no "torto")
_ITALIAN_PLURALS_IN_A = frozenset(
    ("uova", "braccia", "dita", "labbra", "ossa", "centinaia", "migliaia", "lenzuola")
    + ("ginocchia", "ciglia", "sopracciglia", "mura", "urla", "grida", "corna", "fondamenta")
)


def _singular_phrase(items: Sequence[tuple[str, bool]], lang: str) -> list[str]:
    """A phrase of :data:`_HEAD_FIRST`'s languages in the singular, each word keeping its
    gender: the lemma made "música clásica" "música clásico" and "ho fatto una torta"
    "torto" (simplemma's lemma of an adjective is its masculine), and left the noun before
    it plural ("filmes antigo"). After a joiner ("juegos de *mesa*", "libri di *cucina*")
    the words name what the noun is of and stay as written; names stay too."""
    words: list[str] = []
    joined = False
    for word, kept in items:
        joined = joined or word in _NOUN_JOINERS.get(lang, frozenset())
        words.append(word if kept or joined else _one_of(word, lang))
    return words


def _one_of(word: str, lang: str) -> str:
    """``word`` in the singular, its gender kept; as written when it is no plural."""
    if lang == "it":
        # -i is plural ("libri", "canzoni"); -e too when its lemma ends in -a ("torte",
        # "leggende"), not when it ends in -o ("serie" is no "serio"; "buone" stays)
        if word.endswith("i") or word in _ITALIAN_PLURALS_IN_A:
            return lemma(word, lang)
        found = lemma(word, lang) if word.endswith("e") else word
        return found if found.endswith("a") else word
    if not word.endswith(("s", "x") if lang == "fr" else "s"):
        return word
    if lang != "fr" and word.endswith("as"):
        return word[:-1]  # "clásicas" → "clásica", not "clásico"
    found = lemma(word, lang)
    if lang == "fr" and word.endswith("es") and not found.endswith("e"):
        return word[:-1]  # "anciennes" → "ancienne", not "ancien"
    return found


def _plain_compound(words: Sequence[str]) -> bool:
    """Every word before the head in its plain form, as an English compound's modifiers are
    ("board games", "video games", "world cup", "team lead"; not "*makes* sense", "*problems*
    run"), headed by a noun, not a gerund (a subject and its verb: "wife working"). Such a
    phrase is at least the topic its rarest word would be alone: "board games" taught nothing
    where "board" alone was a topic. (Everyday compounds come with it, "team meeting" as
    "meeting" alone did; the workspace's background weighs those down.)"""
    head = words[-1]
    if head.endswith("ing") and "VERB" in _pos(head):
        return False
    return all(lemma(word, "en") == word for word in words[:-1])


# A title written in capitals with a connector inside: "Game of Thrones", "Lord of the Rings",
# "League of Legends", "Baldur's Gate", "Grey's Anatomy". The connector is a stopword and the
# possessive a clitic, so each was read as two topics ("baldur", "gate"). Not "and": "Python
# and Rust" is as often two things as "Pride and Prejudice" is one.
_CAPITAL = r"[A-Z][^\W\d_]*"
_TITLE = re.compile(
    rf"(?<![\w'’])(?:{_CAPITAL}\s+)*{_CAPITAL}"
    rf"(?:(?:\s+of(?:\s+the)?\s+|['’]s\s+){_CAPITAL}(?:\s+{_CAPITAL})*)+(?![\w'’])"
)
_TITLE_JOINERS = frozenset(("of", "the"))


def _titles(prose: str) -> tuple[str, list[tuple[str, float]]]:
    """``prose`` with its titles (:data:`_TITLE`) taken out, and the titles as topics,
    lower case, whole. Not one that names someone ("Sarah's Party", "Kevin of Accounting",
    "Apple's CEO Steve Jobs": the words are read as ever), nor what a sentence's first word
    does ("*Watching* Game of Thrones")."""
    found: list[tuple[str, float]] = []

    def taken(match: re.Match[str]) -> str:
        words = match.group(0).replace("’", "'").split()
        while len(words) > 2 and "'" not in words[0] and _not_a_title_word(words[0].lower()):
            words.pop(0)
        lowered = [w.lower() for w in words]
        own = [w.partition("'")[0] for w in lowered if w not in _TITLE_JOINERS]
        if len(own) < 2 or is_filler(own[0]) or any(_someone_named(w) for w in own):
            return match.group(0)
        title = " ".join(lowered)
        if len(title) > 60:
            return match.group(0)
        found.append((title, specificity(own, "en")))
        return " , "

    matches = list(_TITLE.finditer(prose))  # one pass over the text: most lines have none
    if not matches:
        return prose, []
    outside: list[str] = []  # the text around the matches
    start = 0
    for match in matches:
        outside.append(prose[start:match.start()])
        start = match.end()
    outside.append(prose[start:])
    if _headline(" ".join(outside)):
        return prose, []
    pieces: list[str] = []
    for match, before in zip(matches, outside, strict=False):
        pieces += (before, taken(match))
    return "".join([*pieces, outside[-1]]), found


_LONG_WORD = re.compile(r"[^\W\d_]{4,}")


def _headline(rest: str) -> bool:
    """Text written in title case, as feeds' headlines are ("Ten Years of Kubernetes at
    Scale"): every longer word outside the titles capitalised too, where a title in a
    sentence has lower-case words around it. There "of" joins no title ("years of
    kubernetes", "rise of rust" were topics of digest items)."""
    words = _LONG_WORD.findall(rest)
    return bool(words) and all(word[:1].isupper() for word in words)


def title_shaped(topic: str) -> bool:
    """A stored topic as :func:`_titles` makes one: words joined by "of" / "of the" or a
    possessive, each end a word of its own ("game of thrones", "baldur's gate"; not "of
    thrones"). Such a topic names itself: its family is called by it, not by its first
    word ("lord of the rings" was shown as "lord")."""
    words = topic.split()
    if len(words) < 2 or words[0] in _TITLE_JOINERS or words[-1] in _TITLE_JOINERS:
        return False
    joined = any(w == "of" for w in words[1:-1]) or any("'" in w for w in words[:-1])
    return joined and all(
        w in _TITLE_JOINERS or not is_filler(w.partition("'")[0]) for w in words
    )


def _not_a_title_word(word: str) -> bool:
    """A capital word before a title that opens the sentence, not the title: "*Watching*
    Game of Thrones", "*Rewatching* Lord of the Rings", "*The* …"."""
    return is_filler(word) or word.endswith("ing")


def _someone_named(word: str) -> bool:
    return given_name(word, zipf(word, "en"))


def extract_topics(prose: str, lang: str, limit: int) -> tuple[tuple[str, float], ...]:
    """The ``limit`` strongest topics of ``prose`` (already cleaned of names, links, code)."""
    best: dict[str, float] = {}
    prose = without_set_phrases(prose)  # "good luck", "buenas noches": no topic
    if lang == "en":
        prose, titles = _titles(prose)
        best.update(titles)
    for run in _runs(prose, lang):
        found = candidate(run, lang)
        if found is not None:
            topic, strength = found
            best[topic] = max(strength, best.get(topic, 0.0))
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    kept: list[tuple[str, float]] = []
    for topic, strength in ranked:
        # A single word already inside a kept phrase adds nothing ("rust" in "rust async").
        if " " not in topic and any(topic in k.split() for k, _ in kept):
            continue
        kept.append((topic, strength))
        if len(kept) >= limit:
            break
    return tuple(kept)


def topic_words(topic: str, lang: str = "en") -> frozenset[str]:
    """The lemmas of a topic's words: what topic families are grouped by."""
    return frozenset(lemma(w, lang) for w in topic.split())
