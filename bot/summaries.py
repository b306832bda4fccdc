"""The model's structured reading of a person (the seed's "LLM user profiling engine").

Batched, not per message, because cost matters: ``summarize_due`` picks people who allow
learning and have written enough since their last summary, asks the model once each, validates
the answer against a schema, and stores it with its provenance. Invalid output is logged and
never stored. The summary is shown in /profile, can be corrected or deleted by the person, and
sits below explicit preferences in every prompt.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func
from sqlmodel import col, select

from bot.i18n import N_, t
from bot.llm.base import LLMRequest, LLMUnavailable, Turn
from bot.services import Services
from bot.structured import InvalidOutput, ProfileSummaryOutput, parse_model_json
from profiles.models import (
    Consent,
    ConversationTurn,
    LLMCall,
    Person,
    ProfileSummary,
)
from profiles.workspace_defaults import learning_allowed
from prompts.fence import fence

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SummaryRun:
    considered: int
    stored: int
    rejected: int  # the model's answer did not hold a summary
    failed: int  # the model could not be reached
    skipped: int = 0  # nothing to summarise, or the person left or revoked meanwhile


Outcome = Literal["stored", "rejected", "skipped"]


async def summarize_person(
    services: Services, person_id: int, *, turns: int = 40
) -> Outcome:
    """Summarise one person: ``stored``, ``rejected`` (an answer without a valid summary) or
    ``skipped`` (no messages; forgotten or revoked while the model wrote)."""
    async with services.db.session() as session:
        result = await session.exec(
            select(ConversationTurn)
            .where(ConversationTurn.person_id == person_id, ConversationTurn.role == "user")
            .order_by(col(ConversationTurn.id).desc())
            .limit(turns)
        )
        messages = [t.text[:500] for t in reversed(list(result))]
    if not messages:
        return "skipped"
    request = LLMRequest(
        system=services.renderer.render("profile_summary_system.j2"),
        turns=[Turn("user", "Messages:\n" + "\n".join(f"- {fence(m)}" for m in messages))],
        max_tokens=600,
        purpose="profile_summary",
    )
    try:
        answer = await services.llm.generate(request)
    except LLMUnavailable as exc:
        log.warning("profile summary for person %s failed: %s", person_id, exc)
        raise
    try:
        parsed = parse_model_json(answer.text, ProfileSummaryOutput)
    except InvalidOutput as exc:
        log.warning("rejected profile summary for person %s: %s", person_id, exc)
        ok = False
    else:
        ok = True
    async with services.db.session() as session:
        # The model took seconds and a run goes through people one after another: the
        # person may have been forgotten (the call's row then failed on the foreign key and
        # ended the run) or have revoked consent (and the summary was stored all the same).
        allowed = person_id in await services.engine.still_learning(session, [person_id])
        session.add(
            LLMCall.of(
                answer,
                purpose="profile_summary",
                backend=services.llm.name,
                at=services.clock(),
                person_id=person_id if allowed else None,  # LLMCall's rule
                error=None if ok else "invalid output",
            )
        )
        if not allowed:
            log.info("profile summary for person %s not kept: no longer allowed", person_id)
            return "skipped"
        if ok:
            row = await session.get(ProfileSummary, person_id) or ProfileSummary(
                person_id=person_id, model=answer.model
            )
            row.summary = parsed.model_dump()
            row.model = answer.model
            row.based_on_turns = len(messages)
            row.created_at = services.clock()
            row.corrected_at = None
            session.add(row)
    return "stored" if ok else "rejected"


async def due_people(
    services: Services, *, min_new_turns: int, limit: int
) -> list[int]:
    """People who allow learning and wrote at least ``min_new_turns`` messages since their
    last summary (or ever, if they have none)."""
    engine = services.engine
    allowed = learning_allowed(consent_opt_out=engine.consent_opt_out,
                               workspace_opt_out_allowed=engine.workspace_opt_out_allowed)
    since = func.coalesce(ProfileSummary.created_at, dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    stmt = (
        select(Person.id, func.count(col(ConversationTurn.id)))
        .join(Consent, col(Consent.person_id) == col(Person.id))
        .join(ConversationTurn, col(ConversationTurn.person_id) == col(Person.id))
        .outerjoin(ProfileSummary, col(ProfileSummary.person_id) == col(Person.id))
        .where(
            allowed,
            ConversationTurn.role == "user",
            col(ConversationTurn.created_at) > since,
        )
        .group_by(col(Person.id))
        .having(func.count(col(ConversationTurn.id)) >= min_new_turns)
        .limit(limit)
    )
    async with services.db.session() as session:
        rows = await session.exec(stmt)
        return [int(pid) for pid, _ in rows if pid is not None]


async def summarize_due(
    services: Services, *, min_new_turns: int = 10, limit: int = 100
) -> SummaryRun:
    if not services.llm.configured:
        return SummaryRun(0, 0, 0, 0)
    people = await due_people(services, min_new_turns=min_new_turns, limit=limit)
    outcomes: collections.Counter[str] = collections.Counter()
    for person_id in people:
        try:
            outcomes[await summarize_person(services, person_id)] += 1
        except LLMUnavailable:
            outcomes["failed"] += 1
    return SummaryRun(
        len(people),
        outcomes["stored"],
        outcomes["rejected"],
        outcomes["failed"],
        outcomes["skipped"],
    )


def describe_summary(row: ProfileSummary, locale: str | None = None) -> list[str]:
    """Plain lines for /profile, with provenance, in ``locale``."""
    data = row.summary
    heading = (
        N_("The model's summary of your recent messages ({model}, from {n} messages, {date}, "
           "corrected by you):") if row.corrected_at
        else N_("The model's summary of your recent messages ({model}, from {n} messages, "
                "{date}):")
    )
    lines = [t(heading, locale, model=row.model, n=row.based_on_turns,
               date=f"{row.created_at:%Y-%m-%d}")]
    interests = data.get("interests") or []
    if interests:
        lines.append("• " + t("interests: {items}", locale, items=", ".join(
            f"{i['topic']} ({i['strength']})" for i in interests)))
    if data.get("style"):
        lines.append("• " + t("style: {style}", locale, style=data["style"]))
    for note in data.get("notes") or []:
        lines.append("• " + t("note: {note}", locale, note=note))
    lines.append(t(
        "Correct it with /profile summary remove <topic or note>, or delete it with "
        "/profile summary clear.", locale))
    return lines


def remove_from_summary(row: ProfileSummary, item: str) -> bool:
    """Drop interests or notes mentioning ``item`` (the person's correction)."""
    needle = item.strip().lower()
    data = dict(row.summary)
    interests = [i for i in data.get("interests") or [] if needle not in i["topic"].lower()]
    notes = [n for n in data.get("notes") or [] if needle not in n.lower()]
    style = data.get("style") or ""
    if needle and needle in style.lower():
        style = ""
    changed = (len(interests), len(notes), style) != (
        len(data.get("interests") or []),
        len(data.get("notes") or []),
        data.get("style") or "",
    )
    data.update(interests=interests, notes=notes, style=style)
    row.summary = data
    return changed


def prompt_lines(row: ProfileSummary | None) -> list[str]:
    """What goes into a chat prompt from the summary (always below explicit preferences)."""
    if row is None:
        return []
    data = row.summary
    lines = [f"{i['topic']} ({i['strength']})" for i in (data.get("interests") or [])]
    lines += list(data.get("notes") or [])
    return lines[:12]
