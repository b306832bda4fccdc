"""/consent, /export and /forget: the person's control over their data."""

from __future__ import annotations

from babel.dates import format_date

from bot import lifecycle
from bot.command_base import REGISTRY, CommandContext, command, usage_error, usage_lines
from bot.consent import SPANS_WORKSPACES
from bot.digest import store as digest_store
from bot.events import Button, ButtonStyle, Reply, ReplyKind
from bot.i18n import N_
from bot.memory.privacy import export_everything, forget_linked, forget_question
from profiles.engine import PersonKey
from profiles.models import ConsentStatus, ConversationTurn
from profiles.privacy import export_json

EVERYWHERE = ("everywhere", "all")


@command("consent")
async def consent(ctx: CommandContext, args: list[str]) -> list[Reply]:
    action = args[0].lower() if args else "status"
    # Only grant and revoke take a word more, and only "everywhere": the input audit found
    # "/consent revoke nowhere" and "/consent grant everywhre" quietly acting here only.
    extra = [word.lower() for word in args[1:]]
    if extra and not (action in ("grant", "revoke") and len(extra) == 1
                      and extra[0] in EVERYWHERE):
        raise usage_error(REGISTRY["consent"])
    everywhere = bool(extra)
    spans = ctx.person.platform in SPANS_WORKSPACES
    engine = ctx.engine
    if action == "status":
        row = await engine.consent(ctx.session, ctx.person_id)
        learning = await engine.may_learn_in(ctx.session, ctx.person, row)
        state = {
            ConsentStatus.GRANTED.value: ctx.t("granted"),
            ConsentStatus.REVOKED.value: ctx.t("no (declined or revoked)"),
            ConsentStatus.UNKNOWN.value: ctx.t("not given yet"),
        }[row.status]
        if row.everywhere:
            state = ctx.t("granted in every server")
        doing = (
            ctx.t("I am learning from your messages.")
            if learning
            else ctx.t("I am not learning anything.")
        )
        hint = (
            ctx.t("/consent revoke stops it.")
            if learning
            else ctx.t("/consent grant lets me adapt to you.")
        )
        since = format_date(row.changed_at, format="medium", locale=ctx.locale)
        return [
            ctx.reply(
                ctx.t("Consent: {state} (since {since}).", state=state, since=since)
                + f" {doing} {hint}"
            )
        ]
    if action == "grant":
        if everywhere and spans:
            await engine.set_consent_everywhere(
                ctx.session, ctx.person, ConsentStatus.GRANTED, ctx.now
            )
            text = ctx.t(
                "Thanks! I'll learn from your messages in every server where we meet; what I "
                "learn in one server stays there. /profile shows what I know; /consent revoke "
                "everywhere stops it at any time."
            )
        else:
            await engine.set_consent(ctx.session, ctx.person_id, ConsentStatus.GRANTED, ctx.now)
            text = ctx.t(
                "Thanks! I'll learn from your messages from now on. /profile shows what I know; "
                "/consent revoke stops it at any time."
            )
        keep_held_conversation(ctx)
        return [ctx.reply(text)]
    if action == "decline":
        # A "no" is recorded as one whatever came before: left unanswered, it became a yes
        # when the workspace later chose opt-out, and after a grant (a typed /consent
        # decline, an old notice's button) the reply promised what the status did not do.
        row = await engine.consent(ctx.session, ctx.person_id)
        # Replayed after it took effect (CommandContext.replayed), the revocation is there
        # but the deletions after its commit never ran: whether they were learning before
        # is unknown, and the deletions are done (nothing for someone who was not).
        was_learning = ctx.replayed or await engine.may_learn_in(ctx.session, ctx.person, row)
        cancelled = await revocation_cancels(ctx) if was_learning else []
        row = await engine.set_consent(
            ctx.session, ctx.person_id, ConsentStatus.REVOKED, ctx.now
        )
        row.notice_shown_at = row.notice_shown_at or ctx.now
        ctx.services.awaiting_consent.drop(person_key(ctx))
        if was_learning:
            lifecycle.consent_revoked(ctx.services, ctx.session, ctx.person)
        return [
            ctx.reply(
                " ".join(
                    [
                        ctx.t(
                            "No problem: I won't learn from your messages. "
                            "/consent grant if you change your mind."
                        ),
                        *cancelled,
                    ]
                )
            )
        ]
    if action == "revoke":
        cancelled = await revocation_cancels(ctx)
        if everywhere and spans:
            others = await engine.set_consent_everywhere(
                ctx.session, ctx.person, ConsentStatus.REVOKED, ctx.now
            )
            for other in others:  # their digests, held exchanges: as for this identity
                lifecycle.consent_revoked(ctx.services, ctx.session, other)
            elsewhere = await digest_store.subscriptions_of(
                ctx.session, [o.id for o in others if o.id is not None]
            )
            if elsewhere:  # said, as this identity's is (README: revoking says what it cancels)
                cancelled.append(
                    ctx.nt(
                        "I also cancelled your digest in {n} other server.",
                        "I also cancelled your digests in {n} other servers.",
                        len(elsewhere),
                    )
                )
            done = ctx.t("Done: I stopped learning from your messages in every server.")
        else:
            await engine.set_consent(ctx.session, ctx.person_id, ConsentStatus.REVOKED, ctx.now)
            done = ctx.t("Done: I stopped learning from your messages.")
            if spans:
                done += " " + ctx.t(
                    "(Only here: /consent revoke everywhere stops it in every server.)"
                )
        lifecycle.consent_revoked(ctx.services, ctx.session, ctx.person)
        parts = [done, *cancelled]
        parts.append(
            ctx.t("What I learned so far is still stored; do you want me to delete it?")
        )
        return [
            ctx.reply(
                " ".join(parts),
                buttons=[
                    Button(
                        "forget.confirm", ctx.t("Delete everything"), style=ButtonStyle.DANGER
                    ),
                    Button("forget.cancel", ctx.t("Keep it")),
                ],
            )
        ]
    raise usage_error(REGISTRY["consent"])


def person_key(ctx: CommandContext) -> PersonKey:
    return PersonKey(ctx.person.platform, ctx.person.workspace, ctx.person.user_id)


def keep_held_conversation(ctx: CommandContext) -> None:
    """The exchanges held while consent was open join the stored conversation, so the model
    still sees how it began (bot/consent.py). A model's reply among them has its topics
    read if it is judged, as any reply's (None: not read yet)."""
    configured = ctx.services.llm.configured
    for turn in ctx.services.awaiting_consent.take(person_key(ctx)):
        ctx.session.add(
            ConversationTurn(
                person_id=ctx.person_id,
                role=turn.role,
                text=turn.text,
                channel_id=turn.channel_id,
                thread_id=turn.thread_id,
                platform_message_id=turn.platform_message_id,
                topics=None if turn.role == "assistant" and configured else [],
                created_at=turn.at,
            )
        )


async def revocation_cancels(ctx: CommandContext) -> list[str]:
    """What revoking stops besides learning, said before it happens (the deletion hooks run
    after the revocation commits)."""
    notes: list[str] = []
    subscription = await digest_store.subscription(ctx.session, ctx.person_id)
    if subscription is not None:
        notes.append(
            ctx.t(
                "I also cancelled your digest ({schedule}); /digest subscribe sets it up again "
                "after /consent grant.",
                schedule=digest_store.schedule_of(subscription).describe(ctx.locale),
            )
        )
    return notes


@command("export")
async def export(ctx: CommandContext, args: list[str]) -> list[Reply]:
    data = await export_everything(ctx.session, ctx.person_id, at=ctx.now)
    rows = sum(len(rows) for rows in data["tables"].values())
    filename = f"tailorbot-export-{ctx.person.platform}-{ctx.person.user_id}.json"
    return [
        Reply(
            text=ctx.t(
                "Here is everything I store about you: {rows} rows in {tables} tables.",
                rows=rows, tables=len(data["tables"]),
            ),
            locale=ctx.locale,
            kind=ReplyKind.DM,
            attachment=(filename, export_json(data)),
            purpose="export",
        )
    ]


@command("forget")
async def forget(ctx: CommandContext, args: list[str]) -> list[Reply]:
    action = args[0].lower() if args else "ask"
    # A deletion does exactly what was typed or nothing: the input audit found "/forget
    # confirm nothing" erasing everything and "/forget confirm al" (for "all") erasing only
    # this identity. The one word allowed after an action is "all" after "confirm".
    more = [word.lower() for word in args[1:]]
    if more and not (action == "confirm" and more == ["all"]):
        raise usage_error(REGISTRY["forget"])
    if action == "ask":
        question = await forget_question(ctx)
        extra = (
            [Button("forget.all", ctx.t("Delete all linked identities"),
                    style=ButtonStyle.DANGER)]
            if question
            else []
        )
        return [
            ctx.reply(
                ctx.t(
                    "This deletes everything I store about you — profile, preferences, "
                    "history, feedback and scheduled digests — and cannot be undone. Are you "
                    "sure? (Type /forget confirm, or choose below.)"
                ) + question,
                buttons=[
                    Button("forget.confirm", ctx.t("Delete everything"),
                           style=ButtonStyle.DANGER),
                    *extra,
                    Button("forget.cancel", ctx.t("Cancel")),
                ],
                purpose="forget_confirm",
            )
        ]
    if action == "confirm":
        # Its own claim goes with the person's rows: a replay after it took effect is a new
        # /forget of what is left (the person made anew), and the deletions after the commit
        # that the first one, its COMMIT lost to an outage, never did are done for those it
        # erased (bot/handlers/commands.py); ``replayed`` then, its count is not known.
        every = more == ["all"]
        linked = await forget_linked(ctx) if every else 0
        removed = await lifecycle.forget_person(
            ctx.services, ctx.session, ctx.person, report=ctx.deletion
        )
        total = sum(removed.values()) + linked
        ctx.defer(lambda: _unfinished(ctx))  # features delete after the commit
        if ctx.replayed:
            return [ctx.reply(ctx.t(
                "Done. I deleted everything about you. If you talk to me again, I'll start "
                "from scratch and ask before learning anything."
            ))]
        return [
            ctx.reply(
                ctx.t(
                    "Done. I deleted everything about you ({total} rows). If you talk to me "
                    "again, I'll start from scratch and ask before learning anything.",
                    total=total,
                )
            )
        ]
    if action == "cancel":
        return [ctx.reply(ctx.t("Okay, nothing was deleted."))]
    raise usage_error(REGISTRY["forget"])


async def _unfinished(ctx: CommandContext) -> list[Reply]:
    """Never claim a deletion that did not happen: say which part failed."""
    report = ctx.deletion
    if report.complete:
        return []
    text = ctx.t(
        N_(
            "But not everything could be deleted: {parts} failed. The operator can see why "
            "in the log; please ask them to finish the deletion."
        ),
        parts=", ".join(report.failed),
    )
    return [ctx.reply(text, purpose="error")]


@command("help")
async def help_(ctx: CommandContext, args: list[str]) -> list[Reply]:
    lines = [ctx.t("Commands:")]
    for spec in sorted(REGISTRY.values(), key=lambda s: s.name):
        if spec.admin_only and not ctx.event.context.admin:
            continue  # refused to anyone else (the platform's role decides): not offered
        lines.append(f"• /{spec.name} — {ctx.t(spec.summary)} ({usage_lines(spec, ctx.locale)})")
    lines.append(ctx.t("Anything else you type is a message to me."))
    return [ctx.reply("\n".join(lines))]
