"""Explicit memories: what a person asked the bot to remember, and the identities they linked.

Storage rules only (no wording, no platforms): a memory is one normalised fact per person,
capped per person with a clear refusal at the cap (:class:`MemoryFull`), never a silent drop.
What a person "sees" is their own memories plus those of identities they linked on purpose
that are scoped to every linked identity.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.memory_models import IdentityLink, Memory, MemoryScope
from profiles.models import Person
from profiles.preload import HAS_MEMORIES, LINK, drop, known_link, known_without_memories

_SPACE = re.compile(r"\s+")


class MemoryFull(Exception):
    """The person already has ``limit`` memories."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} memories")
        self.limit = limit


def normalise(text: str) -> str:
    """The key one fact is stored under: case, spacing and final punctuation do not make a
    second memory of the same fact."""
    return _SPACE.sub(" ", text).strip().rstrip(".!").casefold()


def clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class Added:
    memory: Memory
    created: bool  # False: the same fact was already remembered


async def add_memory(
    session: AsyncSession,
    person_id: int,
    text: str,
    *,
    source: str,
    at: dt.datetime,
    limit: int,
    scope: str = MemoryScope.LINKED,
    event_id: str | None = None,
) -> Added:
    """Remember ``text`` (already validated for length); the same fact twice is one memory."""
    key = normalise(text)[:500]
    existing = (
        await session.exec(select(Memory).where(Memory.person_id == person_id, Memory.key == key))
    ).first()
    if existing is not None:
        return Added(existing, False)
    if await count_memories(session, person_id) >= limit:
        raise MemoryFull(limit)
    memory = Memory(
        person_id=person_id,
        text=clean(text)[:500],
        key=key,
        scope=scope,
        source=source,
        source_event_id=event_id[:200] if event_id else None,
        created_at=at,
    )
    session.add(memory)
    await session.flush()
    drop(session, HAS_MEMORIES, person_id)  # read ahead as "none", perhaps
    return Added(memory, True)


async def count_memories(session: AsyncSession, person_id: int) -> int:
    result = await session.exec(
        select(func.count()).select_from(Memory).where(Memory.person_id == person_id)
    )
    return int(result.one())


async def own_memories(session: AsyncSession, person_id: int) -> list[Memory]:
    """Oldest first: the numbering ``/memory`` shows is stable while nothing is removed.
    No statement when the transaction read ahead that there are none (profiles/preload.py)."""
    if known_without_memories(session, person_id):
        return []
    result = await session.exec(
        select(Memory)
        .where(Memory.person_id == person_id)
        .order_by(col(Memory.created_at), col(Memory.id))
    )
    return list(result)


async def visible_memories(
    session: AsyncSession, person_id: int, others: Sequence[Person] | None = None
) -> list[Memory]:
    """Own memories, then linked identities' memories scoped to every linked identity.
    ``others`` are the linked identities when the caller already read them (one turn reads
    its :class:`LinkGroup` once)."""
    own = await own_memories(session, person_id)
    if others is None:
        others = await linked_people(session, person_id)
    if not others:
        return own
    result = await session.exec(
        select(Memory)
        .where(
            col(Memory.person_id).in_([p.id for p in others]),
            Memory.scope == MemoryScope.LINKED,
        )
        .order_by(col(Memory.created_at), col(Memory.id))
    )
    seen = {m.key for m in own}
    shared: list[Memory] = []
    for memory in result:
        if memory.key not in seen:
            seen.add(memory.key)
            shared.append(memory)
    return own + shared


_WORD = re.compile(r"\w{3,}")
_FILLER = frozenset(
    {"the", "that", "this", "thing", "things", "about", "what", "said", "and", "you", "for"}
)


def matching(memories: list[Memory], words: str) -> tuple[list[Memory], bool]:
    """Memories a person's description points at, and whether the match is certain: the
    exact fact, or every memory containing the description, is certain; memories sharing a
    significant word ("the vegetarian thing" → "I am vegetarian") are only candidates, to be
    confirmed by the person."""
    wanted = normalise(words)
    if not wanted:
        return [], False
    exact = [m for m in memories if m.key == wanted]
    if exact:
        return exact, True
    containing = [m for m in memories if wanted in m.key]
    if containing:
        return containing, True
    significant = set(_WORD.findall(wanted)) - _FILLER
    scored = [(len(significant & set(_WORD.findall(m.key))), m) for m in memories]
    best = max((score for score, _ in scored), default=0)
    return ([m for score, m in scored if score == best] if best else []), False


async def remove_memories(session: AsyncSession, memories: list[Memory]) -> int:
    ids = [m.id for m in memories if m.id is not None]
    if not ids:
        return 0
    result = await session.exec(delete(Memory).where(col(Memory.id).in_(ids)))
    return int(result.rowcount or 0)


async def clear_memories(session: AsyncSession, person_id: int) -> int:
    result = await session.exec(delete(Memory).where(col(Memory.person_id) == person_id))
    return int(result.rowcount or 0)


# Linked identities -----------------------------------------------------------------------


async def link_of(session: AsyncSession, person_id: int) -> IdentityLink | None:
    """The identity's link membership (None: not linked); free when the transaction read it
    ahead (profiles/preload.py)."""
    found, link = known_link(session, person_id)
    return link if found else await session.get(IdentityLink, person_id)


@dataclass(frozen=True, slots=True)
class LinkGroup:
    """This identity's link membership and every other identity in its group with theirs,
    read in one query: a turn needs them three times (shared preferences, memories,
    interests), and each lookup used to cost its own round trips."""

    own: IdentityLink | None = None
    members: tuple[tuple[Person, IdentityLink], ...] = field(default=())

    @property
    def others(self) -> list[Person]:
        return [person for person, _ in self.members]


async def link_group(session: AsyncSession, person_id: int) -> LinkGroup:
    """The identity's :class:`LinkGroup` (empty when not linked): one statement; a second
    one only when the identity is linked."""
    if person_id < 0:
        return LinkGroup()
    own = await link_of(session, person_id)
    if own is None:
        return LinkGroup()
    result = await session.exec(
        select(Person, IdentityLink)
        .join(IdentityLink, col(IdentityLink.person_id) == col(Person.id))
        .where(IdentityLink.group_key == own.group_key, col(Person.id) != person_id)
        .order_by(col(Person.id))
    )
    return LinkGroup(own, tuple((person, link) for person, link in result))


async def linked_people(session: AsyncSession, person_id: int) -> list[Person]:
    """The other identities in this person's link group (empty when not linked)."""
    link = await link_of(session, person_id)
    if link is None:
        return []
    result = await session.exec(
        select(Person)
        .join(IdentityLink, col(IdentityLink.person_id) == col(Person.id))
        .where(IdentityLink.group_key == link.group_key, col(Person.id) != person_id)
        .order_by(col(Person.id))
    )
    return list(result)


async def join_links(
    session: AsyncSession, first: int, second: int, *, group_key: str, at: dt.datetime
) -> None:
    """Put both identities (and whatever each was already linked to) in one group."""
    groups = {
        link.group_key
        for link in (await link_of(session, first), await link_of(session, second))
        if link is not None
    }
    members = {first, second}
    if groups:
        result = await session.exec(
            select(IdentityLink).where(col(IdentityLink.group_key).in_(groups))
        )
        members |= {link.person_id for link in result}
        group_key = sorted(groups)[0]
    for member in members:
        link = await link_of(session, member)
        if link is None:
            session.add(IdentityLink(person_id=member, group_key=group_key, linked_at=at))
        elif link.group_key != group_key:
            link.group_key = group_key
            session.add(link)
        drop(session, LINK, member)  # read ahead before it changed
    await session.flush()


async def unlink(session: AsyncSession, person_id: int) -> int:
    """Leave the link group; a group left with one identity dissolves. Returns how many
    identities this one was linked to."""
    link = await link_of(session, person_id)
    if link is None:
        return 0
    others = await linked_people(session, person_id)
    await session.delete(link)
    drop(session, LINK, person_id)  # read ahead before it changed
    if len(others) == 1 and others[0].id is not None:
        last = await link_of(session, others[0].id)
        if last is not None:
            await session.delete(last)
            drop(session, LINK, others[0].id)
    await session.flush()
    return len(others)
