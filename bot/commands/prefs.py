"""/prefs — explicit preferences, which always win over anything inferred."""

from __future__ import annotations

from bot import lifecycle
from bot.command_base import (
    REGISTRY,
    CommandContext,
    CommandError,
    command,
    free_text,
    usage_error,
)
from bot.effective_prefs import effective_preferences, source_kind
from bot.events import Reply
from bot.i18n import N_, t
from bot.profile_texts import describe_key, preference_error, valid_values
from profiles.preferences import SPECS, PreferenceError, ResolvedPreferences

SOURCE_WORDS = {
    "explicit": N_("set by you"),
    "platform": N_("from your platform profile"),
    "inferred": N_("inferred from how you write"),
    "default": N_("default"),
    "linked": N_("shared by your linked identity"),
    "experiment": N_("an experiment's default"),
}


def source_words(source: str, locale: str | None) -> str:
    """Where a preference's value comes from, in words (``experiment:<name>`` is one kind)."""
    return t(SOURCE_WORDS.get(source_kind(source), source), locale)


async def shown_preferences(ctx: CommandContext) -> ResolvedPreferences:
    """What the model is told (bot/effective_prefs.py): the person sees the same."""
    own = await ctx.engine.preferences(ctx.session, ctx.person_id, ctx.now)
    learning = await ctx.engine.may_learn_in(
        ctx.session, ctx.person, await ctx.engine.consent(ctx.session, ctx.person_id))
    return (await effective_preferences(ctx.session, ctx.person, own, learning=learning))[0]


def _valid_keys(locale: str | None) -> str:
    return "\n".join(
        f"  {s.key}: {valid_values(s, locale)} — {describe_key(s, locale)}" for s in SPECS.values()
    )


# "show" waits: it lists what messages reported too (a platform's timezone, locale)
@command("prefs", quick=True, unsettled=("set", "reset"))
async def prefs(ctx: CommandContext, args: list[str]) -> list[Reply]:
    if not args or args[0].lower() in ("show", "list"):
        return [ctx.reply(await show(ctx))]
    action = args[0].lower()
    if action == "set":
        if len(args) < 3:
            raise CommandError(
                N_("Say which preference and what value, e.g. /prefs set tone casual.\n"
                   "Valid keys:\n{keys}"),
                keys=_valid_keys,
            )
        key, value = args[1], free_text(args, 2)  # "rock'n'roll" kept (input audit)
        try:
            clean = await ctx.engine.set_preference(
                ctx.session, ctx.person_id, key, value, at=ctx.now
            )
        except PreferenceError as exc:
            if exc.code == "unknown_key":  # its text lists the keys too (input audit: twice)
                raise CommandError(N_("unknown preference '{key}'.\nValid keys:\n{keys}"),
                                   key=key, keys=_valid_keys) from exc
            raise CommandError(N_("{error}.\nValid keys:\n{keys}"), error=preference_error(exc),
                               keys=_valid_keys) from exc
        lifecycle.preference_changed(ctx.services, ctx.session, ctx.person, key.strip().lower())
        return [
            ctx.reply(ctx.t("Saved: {key} = {value}. This now overrides anything I infer.",
                            key=key.strip().lower(), value=clean))
        ]
    if action == "reset":
        reset_key = args[1].strip().lower() if len(args) > 1 else None
        if reset_key is not None and reset_key not in SPECS:
            raise CommandError(N_("unknown preference '{key}'.\nValid keys:\n{keys}"),
                               key=reset_key, keys=_valid_keys)
        removed = await ctx.engine.reset_preferences(ctx.session, ctx.person_id, reset_key)
        lifecycle.preference_changed(ctx.services, ctx.session, ctx.person, reset_key)
        if not removed and not ctx.replayed:  # replayed: it was this command that reset it
            return [ctx.reply(
                ctx.t("Nothing to reset: your {key} preference was not set.", key=reset_key)
                if reset_key else ctx.t("Nothing to reset: you had no explicit preferences.")
            )]
        return [ctx.reply(
            ctx.t("Reset your {key} preference. I'll go back to what I infer (or the "
                  "defaults).", key=reset_key)
            if reset_key else ctx.t("Reset all your explicit preferences. I'll go back to what "
                                    "I infer (or the defaults).")
        )]
    raise usage_error(REGISTRY["prefs"])


async def show(ctx: CommandContext) -> str:
    resolved = await shown_preferences(ctx)
    lines = [ctx.t("Your preferences (explicit values always win):")]
    for key in SPECS:
        value = resolved.values[key]
        shown = value.value or ctx.t("(none)")
        when = f", {value.set_at:%Y-%m-%d}" if value.set_at else ""
        lines.append(f"• {key}: {shown} — {source_words(value.source, ctx.locale)}{when}")
    lines.append(ctx.t("Change one with /prefs set <key> <value>; undo with /prefs reset "
                       "<key>."))
    return "\n".join(lines)
