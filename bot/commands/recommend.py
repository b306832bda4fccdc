"""/recommend — LLM-Rec style: the model proposes candidates from a personalised prompt, then
the profile ranks and filters them (interests, avoided topics, already recommended or
disliked) and the best few come back with a one-line reason each. Buttons on them feed the
profile."""

from __future__ import annotations

import logging
import re

from sqlmodel import col, select

from bot.command_base import (
    REGISTRY,
    CommandContext,
    CommandError,
    command,
    free_text,
    parse_row_id,
    usage_error,
)
from bot.events import ActionEvent, Button, Reply
from bot.experiments import variant_for
from bot.i18n import N_
from bot.llm.base import LLMRequest, LLMUnavailable, Turn
from bot.model_failure import failure_text
from bot.profile_texts import why as reasons_of
from bot.structured import InvalidOutput, Proposal, parse_model_json
from profiles.models import LLMCall, Recommendation
from profiles.ranking import Candidate, Ranker
from prompts.fence import fence

log = logging.getLogger(__name__)
SHOWN = 3
ASKED = 8


_ACKS = {
    "liked": N_("Noted, more like that."),
    "disliked": N_("Noted, less like that."),
    "done": N_("Marked as done."),
}
# Pressed or typed again: nothing more is learned (the digest's buttons say the same).
_ALREADY = {
    "liked": N_("Already noted: more like “{title}”."),
    "disliked": N_("Already noted: less like “{title}”."),
}


def normalise_title(title: str) -> str:
    return re.sub(r"[^\w]+", " ", title.lower()).strip()


@command("recommend")
async def recommend(ctx: CommandContext, args: list[str]) -> list[Reply]:
    if args and args[0] in ("like", "dislike", "done"):
        return await _feedback(ctx, args)
    request = free_text(args, 0)  # as typed: "un livre d'aventure" (input audit)
    if not request:
        raise usage_error(REGISTRY["recommend"])
    services = ctx.services
    if not services.llm.configured:
        return [
            ctx.reply(ctx.t(
                "Recommendations need a language model. Set ANTHROPIC_API_KEY or "
                "TAILORBOT_OPENAI_BASE_URL and restart (see README, Models)."
            ))
        ]
    engine = ctx.engine
    consent = await engine.consent(ctx.session, ctx.person_id)
    learning = await engine.may_learn_in(ctx.session, ctx.person, consent)
    snapshot = await engine.snapshot(ctx.session, ctx.person, ctx.now, interests=15)
    interests = {i.topic: i.weight for i in snapshot.interests} if learning else {}
    previous = await ctx.session.exec(
        select(Recommendation.normalised_title, Recommendation.status).where(
            Recommendation.person_id == ctx.person_id
        )
    )
    history = list(previous)
    already = [title for title, _ in history][-50:]
    disliked = {title for title, status in history if status == "disliked"}
    prefs = snapshot.preferences
    variant = await variant_for(ctx.session, ctx.person, learning, "ranking")
    ranking = variant.ranking_settings() if variant is not None else None
    system = services.renderer.render(
        "recommend_system.j2",
        bot_name=services.settings.bot_name,
        count=ASKED,
        avoid_topics=prefs.avoid_topics,
        already=already,
        language=prefs.get("language"),
        tone=prefs.get("tone"),
        interests=[(t, min(1.0, w / 5.0)) for t, w in list(interests.items())[:15]],
        workspace_popular=snapshot.workspace_popular if learning else [],
    )
    llm_request = LLMRequest(
        system=system,
        turns=[Turn("user", f"Request: {fence(request)}")],
        max_tokens=min(1200, services.settings.llm_max_tokens),
        purpose="recommend",
    )
    person_id, person = ctx.person_id, ctx.person

    async def propose() -> list[Reply]:
        try:
            result = await services.llm.generate(llm_request)
        except LLMUnavailable as exc:
            return [ctx.reply(failure_text(exc, ctx.locale), purpose="error")]
        try:
            proposal = parse_model_json(result.text, Proposal)
        except InvalidOutput as exc:
            log.warning("rejected recommendation output for person %s: %s", person_id, exc)
            return [
                ctx.reply(
                    ctx.t("The model's suggestions came back malformed; please ask again."),
                    purpose="error",
                )
            ]
        candidates = [
            Candidate(
                key=normalise_title(item.title),
                title=item.title,
                topics=tuple(item.topics),
                text=item.reason,
            )
            for item in proposal.items
        ]
        reasons = {normalise_title(item.title): item.reason for item in proposal.items}
        ranked = Ranker(ranking).rank(
            candidates,
            interests,
            avoid=prefs.avoid_topics,
            exclude=set(already) | disliked,
            limit=SHOWN,
        )
        if not ranked:
            return [
                ctx.reply(ctx.t(
                    "I couldn't find anything new for that which fits your "
                    "preferences. Try asking differently?"
                ))
            ]
        async with services.db.session() as session:
            session.add(
                LLMCall.of(
                    result,
                    purpose="recommend",
                    backend=services.llm.name,
                    at=services.clock(),
                    person_id=person_id if learning else None,
                )
            )
            rows = [
                Recommendation(
                    person_id=person_id,
                    request=request[:500],
                    title=r.candidate.title[:300],
                    normalised_title=r.candidate.key[:300],
                    reason=reasons.get(r.candidate.key, "")[:500],
                    topics=list(r.candidate.topics),
                    score=r.score,
                    created_at=ctx.now,
                )
                for r in ranked
            ]
            session.add_all(rows)
            await session.flush()
            lines = [
                ctx.t("For {name}:", name=person.display_name)
                if person.display_name
                else ctx.t("For you:")
            ]
            buttons: list[Button] = []
            for number, (row, r) in enumerate(zip(rows, ranked, strict=True), start=1):
                why = f" ({reasons_of(r, ctx.locale)})" if r.reasons else ""
                lines.append(f"{number}. {row.title} — {row.reason}{why}")
                buttons.append(Button("recommend.like", f"👍 {number}", value=str(row.id)))
                buttons.append(Button("recommend.dislike", f"👎 {number}", value=str(row.id)))
        return [ctx.reply("\n".join(lines), buttons=buttons, purpose="recommendation")]

    ctx.defer(propose)
    return []


async def _shown(ctx: CommandContext, number: int) -> Recommendation | None:
    """The recommendation at ``number`` (1, 2, …) in this person's latest list, as shown."""
    latest = (await ctx.session.exec(
        select(Recommendation.created_at).where(Recommendation.person_id == ctx.person_id)
        .order_by(col(Recommendation.created_at).desc()).limit(1)
    )).first()
    if latest is None:
        return None
    rows = list(await ctx.session.exec(
        select(Recommendation).where(Recommendation.person_id == ctx.person_id,
                                     Recommendation.created_at == latest)
        .order_by(col(Recommendation.id))
    ))
    return rows[number - 1] if number <= len(rows) else None


async def _feedback(ctx: CommandContext, args: list[str]) -> list[Reply]:
    """A button (its value: the row id) or ``/recommend like 2``: the number typed is the
    position in the person's latest list, as shown. The input audit found a typed number
    read as the row id (``/recommend like 1`` rated Dune, not the Neuromancer shown as 1.),
    and a repeated like adding the topics' interest again each time."""
    number = parse_row_id(args[1]) if len(args) >= 2 else None
    if number is None:
        raise CommandError(N_("Which recommendation? Give its number, e.g. /recommend like 2"))
    if isinstance(ctx.event, ActionEvent):
        row = await ctx.session.get(Recommendation, number)
    else:
        row = await _shown(ctx, number)
    if row is None or row.person_id != ctx.person_id:
        raise CommandError(N_("That recommendation is no longer available."))
    status = {"like": "liked", "dislike": "disliked", "done": "done"}[args[0]]
    if row.status == status:
        again = (ctx.t(_ALREADY[status], title=row.title) if status in _ALREADY
                 else f"{ctx.t(_ACKS[status])} ({row.title})")
        return [ctx.reply(again, purpose="ack")]
    delta = {"liked": 0.6, "disliked": -0.6, "done": 0.2}[status]
    row.status, row.feedback_at = status, ctx.now
    ctx.session.add(row)
    consent = await ctx.engine.consent(ctx.session, ctx.person_id)
    if await ctx.engine.may_learn_in(ctx.session, ctx.person, consent):
        await ctx.engine.add_interests(
            ctx.session,
            ctx.person_id,
            [(t, delta) for t in row.topics],
            at=ctx.now,
            evidence=0,
            positive=int(delta > 0),
            negative=int(delta < 0),
        )
    word = ctx.t(_ACKS[status])
    return [ctx.reply(f"{word} ({row.title})", purpose="ack")]
