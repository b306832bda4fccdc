"""/prefs — explicit preferences, which always win over anything inferred."""

from __future__ import annotations

from bot import lifecycle
from bot.commands.base import REGISTRY, CommandContext, CommandError, command, usage_text
from bot.events import Reply
from profiles.preferences import SPECS, PreferenceError

_SOURCE_WORDS = {
    "explicit": "set by you",
    "platform": "from your platform profile",
    "inferred": "inferred from how you write",
    "default": "default",
}


def _valid_keys() -> str:
    return "\n".join(f"  {s.key}: {s.valid} — {s.description}" for s in SPECS.values())


@command(
    "prefs",
    "show or change your preferences",
    ["/prefs", "/prefs set <key> <value>", "/prefs reset [key]"],
    subcommands=("set", "reset"),
)
async def prefs(ctx: CommandContext, args: list[str]) -> list[Reply]:
    if not args or args[0].lower() in ("show", "list"):
        return [ctx.reply(await show(ctx))]
    action = args[0].lower()
    if action == "set":
        if len(args) < 3:
            raise CommandError(
                "Say which preference and what value, e.g. /prefs set tone casual.\n"
                f"Valid keys:\n{_valid_keys()}"
            )
        key, value = args[1], " ".join(args[2:])
        try:
            clean = await ctx.engine.set_preference(
                ctx.session, ctx.person_id, key, value, at=ctx.now
            )
        except PreferenceError as exc:
            raise CommandError(f"{exc}.\nValid keys:\n{_valid_keys()}") from exc
        lifecycle.preference_changed(ctx.services, ctx.session, ctx.person, key.strip().lower())
        return [
            ctx.reply(
                f"Saved: {key.strip().lower()} = {clean}. This now overrides anything I infer."
            )
        ]
    if action == "reset":
        reset_key = args[1].strip().lower() if len(args) > 1 else None
        if reset_key is not None and reset_key not in SPECS:
            raise CommandError(f"unknown preference {reset_key!r}.\nValid keys:\n{_valid_keys()}")
        removed = await ctx.engine.reset_preferences(ctx.session, ctx.person_id, reset_key)
        lifecycle.preference_changed(ctx.services, ctx.session, ctx.person, reset_key)
        what = f"your {reset_key} preference" if reset_key else "all your explicit preferences"
        if not removed:
            return [ctx.reply(f"Nothing to reset: {what} was not set.")]
        return [ctx.reply(f"Reset {what}. I'll go back to what I infer (or the defaults).")]
    raise CommandError(usage_text(REGISTRY["prefs"]))


async def show(ctx: CommandContext) -> str:
    resolved = await ctx.engine.preferences(ctx.session, ctx.person_id, ctx.now)
    lines = ["Your preferences (explicit values always win):"]
    for key in SPECS:
        value = resolved.values[key]
        shown = value.value or "(none)"
        when = f", {value.set_at:%Y-%m-%d}" if value.set_at else ""
        lines.append(f"• {key}: {shown} — {_SOURCE_WORDS[value.source]}{when}")
    lines.append("Change one with /prefs set <key> <value>; undo with /prefs reset <key>.")
    return "\n".join(lines)
