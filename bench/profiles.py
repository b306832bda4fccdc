"""`python -m bench --profiles`: do profiles learned from real chat hold what people talk about?

Corpus: the English files of ``chatterbot-corpus`` 1.3.3 (a dev dependency; the YAML ships in
its wheel). Each file is a labelled subject (``movies``, ``money``, ``coding`` …) made of short
real conversations. Simulated people each get 1–2 subjects and say the lines of (a sample of)
that subject's conversations in their original order, with casual filler around them: the
corpus's own small talk (``greetings``, ``conversations``) and the stock chat lines below,
about as much filler as subject matter, and some subject lines opened with a casual "haha
yeah, …". Everything goes through ``Core.handle`` as channel messages of one workspace where
everybody consented, in time order over six months.

Printed, per the issue:

* **filler share**: of all top-10 interests, the share that is filler. Rule (independent of
  the extractor's own lists): an interest is filler when every word of it either came only
  from the person's filler lines (never from their subject lines), or is everyday English
  (wordfreq Zipf ≥ 5.5), or is one of the chat words the issue listed.
* **label recall@10**: of all (person, subject) pairs, the share where a top-10 interest
  names the subject: one of its words (noun lemma) is the subject's name or one of the 25
  words most distinctive of that subject's file (log-odds against the other subject files,
  seen at least twice) — so "blade runner" or "film" count for ``movies``.
* **emptied after a 60-day pause**: people whose profile is empty 60 days after their last
  message (and whether /profile then says it knows nothing).
* **throughput**: messages per CPU-second of this process (learning, SQLite; extraction runs
  in the worker processes of ``profiles/extraction.py``, so it is not in this figure), with the
  machine's load average for context.
* **extraction alone**: ``SignalExtractor.extract`` over the same messages in this one process,
  messages per CPU-second: once with the per-word caches empty (every lexicon is loaded before
  timing), then again with them filled, as in a worker that has been busy a while.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bench.running import run

SUBJECTS = (
    "ai", "coding", "computers", "food", "gossip", "health", "history", "literature",
    "money", "movies", "politics", "psychology", "science", "sports", "tech_support",
)
SMALL_TALK_FILES = ("greetings", "conversations")
CASUAL = (
    "yeah haha", "lol true", "haha yeah that sounds pretty good dude", "I guess so",
    "kind of feel the same tbh", "ok cool, thanks!!", "I dont know man, people are weird",
    "omg yesss", "pretty good, you?", "hahaha nice one", "yeah I think so too", "same here",
    "lmao", "dude no way", "good good", "right?", "ikr", "that's so true", "hmm maybe",
    "nah I'm good", "sounds good to me", "haha fair enough", "oh wow", "cool cool",
    "what's up guys", "not much, you?", "good morning everyone", "brb", "back", "lol yeah",
    "honestly same", "I feel you", "yep yep", "no worries", "thanks man", "gotcha",
    "that's wild", "for real", "anyway", "lunch?", "kinda tired today", "good night all",
)
OPENERS = ("haha yeah, ", "lol ok so ", "yeah ", "honestly ", "dude ", "")
ISSUE_FILLER = frozenset(
    ("yeah", "haha", "good", "dude", "kind", "guess", "pretty", "dont", "feel", "people")
    + ("cool", "lol", "okay", "ok", "nice", "thing", "stuff", "time", "man", "wow")
)
PEOPLE = 48
LINES_PER_SUBJECT = 60
DAYS = 180
PAUSE_DAYS = 60
_WORD = re.compile(r"[a-z]+")


@dataclass
class SimPerson:
    name: str
    subjects: list[str]
    lines: list[tuple[str, bool]] = field(default_factory=list)  # (text, is_subject_line)


def corpus(language: str = "english") -> dict[str, list[list[str]]]:
    """Conversations per file of one language of the corpus (its folder's name), read from
    the installed package."""
    import yaml

    try:
        root = resources.files("chatterbot_corpus") / "data" / language
    except ModuleNotFoundError as exc:
        raise SystemExit(
            "python -m bench --profiles needs the chatterbot-corpus package: "
            "pip install 'chatterbot-corpus==1.3.3' (it is in the dev extra)"
        ) from exc
    found: dict[str, list[list[str]]] = {}
    for entry in root.iterdir():
        if entry.name.endswith(".yml"):
            data: Any = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            found[entry.name.removesuffix(".yml")] = [
                [str(line) for line in conversation if line]
                for conversation in data.get("conversations") or []
            ]
    return found


def lexicons(data: dict[str, list[list[str]]], size: int = 25) -> dict[str, set[str]]:
    """The words most distinctive of each subject file (log-odds with a +1 prior against
    the other subject files), as noun lemmas, plus the subject's own name."""
    from profiles.topics import is_filler, lemma

    counts = {
        s: Counter(
            lemma(w, "en")
            for conv in data[s]
            for line in conv
            for w in _WORD.findall(line.lower())
            if not is_filler(w)
        )
        for s in SUBJECTS
    }
    total = Counter[str]()
    for c in counts.values():
        total.update(c)
    n_all = sum(total.values())
    found: dict[str, set[str]] = {}
    for s, c in counts.items():
        n_s = sum(c.values())
        rest = n_all - n_s

        def score(w: str, c: Counter[str] = c, n_s: int = n_s, rest: int = rest) -> float:
            a, b = c[w] + 1, total[w] - c[w] + 1
            return math.log(a / (n_s + 1)) - math.log(b / (rest + 1))

        top = sorted((w for w in c if c[w] >= 2), key=lambda w: (-score(w), w))[:size]
        names = {lemma(part, "en") for part in s.split("_")} | {s}
        found[s] = set(top) | names | ({"artificial", "intelligence"} if s == "ai" else set())
    return found


def simulate(data: dict[str, list[list[str]]], seed: int = 11) -> list[SimPerson]:
    rng = random.Random(seed)
    small_talk = [line for f in SMALL_TALK_FILES for conv in data[f] for line in conv]
    people: list[SimPerson] = []
    for i in range(PEOPLE):
        subjects = rng.sample(SUBJECTS, rng.choice((1, 2)))
        person = SimPerson(f"sim{i:02d}", subjects)
        topical: list[str] = []
        for subject in subjects:
            conversations = list(data[subject])
            start = rng.randrange(len(conversations))
            picked: list[str] = []
            for conv in conversations[start:] + conversations[:start]:  # original order
                picked.extend(conv)
                if len(picked) >= LINES_PER_SUBJECT:
                    break
            topical.extend(picked[:LINES_PER_SUBJECT])
        for line in topical:
            while rng.random() < 0.5:
                filler = rng.choice(CASUAL if rng.random() < 0.6 else small_talk)
                person.lines.append((filler, False))
            person.lines.append((rng.choice(OPENERS) + line, True))
        people.append(person)
    return people


def is_filler_interest(topic: str, subject_words: set[str], filler_words: set[str]) -> bool:
    from wordfreq import zipf_frequency

    def filler_word(word: str) -> bool:
        return (
            word in ISSUE_FILLER
            or zipf_frequency(word, "en") >= 5.5
            or (word in filler_words and word not in subject_words)
        )

    return all(filler_word(w) for w in topic.split())


def on_label(topic: str, lexicon: set[str]) -> bool:
    from profiles.topics import lemma

    return any(lemma(w, "en") in lexicon or w in lexicon for w in topic.split())


async def replay(url: str, people: list[SimPerson], start: dt.datetime) -> dict[str, Any]:
    from bot.config import Settings
    from bot.core import Core
    from bot.events import CommandEvent, MessageEvent, PersonRef, Surface
    from bot.llm import NoModelBackend
    from profiles.db import Database
    from profiles.engine import PersonKey

    settings = Settings(database_url=url, auto_migrate=False, _env_file=None)  # type: ignore[call-arg]
    core = Core(settings, Database(url), NoModelBackend())
    rng = random.Random(5)
    events: list[tuple[dt.datetime, int, SimPerson, str]] = []
    for p in people:
        times = sorted(rng.uniform(0, DAYS * 86_400) for _ in p.lines)
        for n, ((text, _), t) in enumerate(zip(p.lines, times, strict=True)):
            events.append((start + dt.timedelta(seconds=t), n, p, text))
    events.sort(key=lambda e: (e[0], e[2].name, e[1]))
    refs = {p.name: PersonRef("bench", "W1", p.name, p.name.title()) for p in people}
    for p in people:
        await core.handle(
            CommandEvent(event_id=f"grant-{p.name}", person=refs[p.name], name="consent",
                         args="grant")
        )
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i, (at, _, p, text) in enumerate(events):
        await core.handle(
            MessageEvent(
                event_id=f"m{i}", person=refs[p.name], text=text, channel_id="C1",
                occurred_at=at, surface=Surface.CHANNEL,
            )
        )
    await core.services.learner.flush()  # observed messages are learned in batches
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    end = max(e[0] for e in events)
    result: dict[str, Any] = {"messages": len(events), "cpu": cpu, "wall": wall, "end": end}
    tops: dict[str, list[str]] = {}
    paused: dict[str, list[str]] = {}
    nothing_said: list[str] = []
    async with core.services.db.session() as session:
        for p in people:
            key = PersonKey("bench", "W1", p.name)
            person = await core.services.engine.find_person(session, key)
            assert person is not None
            snap = await core.services.engine.snapshot(session, person, end)
            tops[p.name] = [v.topic for v in snap.interests]
            later = await core.services.engine.snapshot(
                session, person, end + dt.timedelta(days=PAUSE_DAYS)
            )
            paused[p.name] = [v.topic for v in later.interests]
    core.services.clock = lambda: end + dt.timedelta(days=PAUSE_DAYS)
    for p in people:
        text = (await core.handle(CommandEvent(event_id=f"profile-{p.name}",
                                               person=refs[p.name], name="profile")))[0].text
        if "haven't picked up any interests" in text:
            nothing_said.append(p.name)
    result.update(tops=tops, paused=paused, nothing_said=nothing_said)
    await core.aclose()
    await core.services.db.dispose()
    return result


def extraction_rate(texts: list[str]) -> tuple[float, float]:
    """(cold, warm) messages per CPU-second of signal extraction alone in this process."""
    from profiles.signals import SignalExtractor, warm_up

    warm_up()
    extractor = SignalExtractor()
    rates = []
    for _ in range(2):
        cpu0 = time.process_time()
        for text in texts:
            extractor.extract(text)
        rates.append(len(texts) / max(time.process_time() - cpu0, 1e-9))
    return rates[0], rates[1]


def run_profiles() -> None:
    from profiles.migrate import upgrade
    from profiles.topics import lemma

    data = corpus()
    people = simulate(data)
    lex = lexicons(data)
    start = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'profiles.db'}"
        upgrade(url)
        result = run(replay(url, people, start))
    entries = filler = hits = pairs = 0
    fillers: Counter[str] = Counter()  # which interests were filler, for the next round
    for p in people:
        subject_words = {lemma(w, "en") for t, s in p.lines if s for w in _WORD.findall(t.lower())}
        subject_words |= {w for t, s in p.lines if s for w in _WORD.findall(t.lower())}
        filler_words = {w for t, s in p.lines if not s for w in _WORD.findall(t.lower())}
        top = result["tops"][p.name]
        entries += len(top)
        judged = [t for t in top if is_filler_interest(t, subject_words, filler_words)]
        filler += len(judged)
        fillers.update(judged)
        for subject in p.subjects:
            pairs += 1
            hits += any(on_label(t, lex[subject]) for t in top)
    emptied = [n for n, top in result["paused"].items() if not top]
    load = os.getloadavg()
    print(f"corpus: chatterbot-corpus 1.3.3 English, {len(SUBJECTS)} subjects; "
          f"{PEOPLE} simulated people, {result['messages']:,} messages over {DAYS} days")
    print(f"filler share of top-10 interests: {filler / max(entries, 1):.1%} "
          f"({filler} of {entries})   goal ≤ 5%")
    print("  filler interests (people): "
          + (", ".join(f"{t} ({n})" for t, n in fillers.most_common()) or "none"))
    print(f"label recall@10: {hits / max(pairs, 1):.2f} ({hits} of {pairs} person-subjects)"
          "   goal ≥ 0.80")
    print(f"profiles emptied after a {PAUSE_DAYS}-day pause: {len(emptied)} of {PEOPLE}"
          f"   goal 0;  /profile saying it knows nothing: {len(result['nothing_said'])}")
    print(f"throughput: {result['messages'] / result['cpu']:.0f} messages per CPU-second "
          f"({result['messages'] / result['wall']:.0f}/s wall) through Core.handle on SQLite; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    cold, warm = extraction_rate([text for p in people for text, _ in p.lines])
    load = os.getloadavg()
    print(f"extraction alone: {warm:,.0f} messages per CPU-second on one core "
          f"({cold:,.0f} with the per-word caches empty); load average {load[0]:.2f}")
    print("examples:")
    for p in people[:6]:
        print(f"  {p.name} [{', '.join(p.subjects)}]: {', '.join(result['tops'][p.name])}")
