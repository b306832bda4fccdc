"""/consent, /export and /forget: the person's control over their data."""

from __future__ import annotations

from bot.commands.base import REGISTRY, CommandContext, CommandError, command, usage_text
from bot.events import Button, ButtonStyle, Reply, ReplyKind
from profiles.models import ConsentStatus
from profiles.privacy import export_json, export_person

CONSENT_NOTICE = (
    "Hi! I can adapt to you: I'd learn the topics you talk about, your language, how long and "
    "formal your messages are, when you're usually around, and how you react to my replies. "
    "Short excerpts of what you post in public channels may appear in colleagues' digests. "
    "I keep it per workspace, you can see it (/profile), export it (/export) or erase it "
    "(/forget) at any time. Allow me to learn from your messages?"
)
CONSENT_BUTTONS = [
    Button("consent.grant", "Allow", style=ButtonStyle.PRIMARY),
    Button("consent.decline", "Not now"),
]


@command(
    "consent",
    "see or change whether I learn from your messages",
    ["/consent", "/consent grant", "/consent revoke"],
    subcommands=("grant", "revoke"),
)
async def consent(ctx: CommandContext, args: list[str]) -> list[Reply]:
    action = args[0].lower() if args else "status"
    engine = ctx.engine
    if action == "status":
        row = await engine.consent(ctx.session, ctx.person_id)
        learning = engine.may_learn(row)
        state = {
            ConsentStatus.GRANTED.value: "granted",
            ConsentStatus.REVOKED.value: "revoked",
            ConsentStatus.UNKNOWN.value: "not given yet",
        }[row.status]
        doing = "I am learning from your messages." if learning else "I am not learning anything."
        hint = "/consent revoke stops it." if learning else "/consent grant lets me adapt to you."
        return [ctx.reply(f"Consent: {state} (since {row.changed_at:%Y-%m-%d}). {doing} {hint}")]
    if action == "grant":
        await engine.set_consent(ctx.session, ctx.person_id, ConsentStatus.GRANTED, ctx.now)
        return [
            ctx.reply(
                "Thanks! I'll learn from your messages from now on. /profile shows what I know; "
                "/consent revoke stops it at any time."
            )
        ]
    if action == "decline":
        row = await engine.consent(ctx.session, ctx.person_id)
        if engine.consent_opt_out:
            await engine.set_consent(ctx.session, ctx.person_id, ConsentStatus.REVOKED, ctx.now)
        row.notice_shown_at = row.notice_shown_at or ctx.now
        return [
            ctx.reply(
                "No problem: I won't learn from your messages. "
                "/consent grant if you change your mind."
            )
        ]
    if action == "revoke":
        await engine.set_consent(ctx.session, ctx.person_id, ConsentStatus.REVOKED, ctx.now)
        await ctx.core.on_consent_revoked(ctx)
        return [
            ctx.reply(
                "Done: I stopped learning from your messages. What I learned so far is still "
                "stored; do you want me to delete it?",
                buttons=[
                    Button("forget.confirm", "Delete everything", style=ButtonStyle.DANGER),
                    Button("forget.cancel", "Keep it"),
                ],
            )
        ]
    raise CommandError(usage_text(REGISTRY["consent"]))


@command("export", "get a copy of everything I store about you", ["/export"])
async def export(ctx: CommandContext, args: list[str]) -> list[Reply]:
    data = await export_person(ctx.session, ctx.person_id)
    rows = sum(len(rows) for rows in data["tables"].values())
    filename = f"tailorbot-export-{ctx.person.platform}-{ctx.person.user_id}.json"
    return [
        Reply(
            text=f"Here is everything I store about you: {rows} rows in "
            f"{len(data['tables'])} tables.",
            kind=ReplyKind.DM,
            attachment=(filename, export_json(data)),
            purpose="export",
        )
    ]


@command(
    "forget",
    "delete everything I store about you",
    ["/forget", "/forget confirm"],
    subcommands=("confirm",),
)
async def forget(ctx: CommandContext, args: list[str]) -> list[Reply]:
    action = args[0].lower() if args else "ask"
    if action == "ask":
        return [
            ctx.reply(
                "This deletes everything I store about you — profile, preferences, history, "
                "feedback and scheduled digests — and cannot be undone. Are you sure? "
                "(Type /forget confirm, or use the buttons.)",
                buttons=[
                    Button("forget.confirm", "Delete everything", style=ButtonStyle.DANGER),
                    Button("forget.cancel", "Cancel"),
                ],
                purpose="forget_confirm",
            )
        ]
    if action == "confirm":
        removed = await ctx.core.forget_person(ctx.session, ctx.person)
        total = sum(removed.values())
        return [
            ctx.reply(
                f"Done. I deleted everything about you ({total} rows). If you talk to me again, "
                "I'll start from scratch and ask before learning anything."
            )
        ]
    if action == "cancel":
        return [ctx.reply("Okay, nothing was deleted.")]
    raise CommandError(usage_text(REGISTRY["forget"]))


@command("help", "list what I can do", ["/help"])
async def help_(ctx: CommandContext, args: list[str]) -> list[Reply]:
    lines = ["Commands:"]
    for spec in sorted(REGISTRY.values(), key=lambda s: s.name):
        lines.append(f"• /{spec.name} — {spec.summary} ({' · '.join(spec.usage)})")
    lines.append("Anything else you type is a message to me.")
    return [ctx.reply("\n".join(lines))]
