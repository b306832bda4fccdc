"""Commands (typed, slash, or a button mapped to a command line) and buttons: one
transaction per command, deferred work (model calls) after it commits.

A command whose transaction met the database gone after its claim was sent may have taken
effect (a COMMIT sent into a hang commits when the server thaws: profiles/db_timeout.py). It
is kept in the outage journal with its claim's time, as a message is (bot/pipeline/identify.py
``ClaimUnsure``), and its replay, finding that claim, runs the command again in the
transaction that found it, with :attr:`CommandContext.replayed` set — never as a duplicate,
which left the person without its answer (``/export`` without its file). Running again is
what most commands need: their effect is a value set or a row kept once (``/prefs set``,
``/consent``, ``/memory add``, ``/digest subscribe``), or nothing (``/export``, ``/profile``),
and the work after the commit that the hung one never did (a revocation's deletions, a
digest moved) is done then. Those whose second run would act on something else or answer
untruly look at ``replayed`` (``/memory remove`` by number, bot/memory/commands.py).
``/forget confirm`` deletes its own claim with the person's rows: its replay runs as a new
command, on whatever is left (the person made anew). So that the deletions after the commit
that the hung one never did are done all the same, a command keeps who its transaction
erased with its claim's time (bot/journal.py ``Erased``); its replay that finds one of them
gone does those deletions for them after its own commit, and counts as :attr:`replayed`
(``/forget`` then cannot say how many rows went).

The command table is the core's commands (bot/commands/) and each feature's, which its
package registers on import (bot/digest/, bot/memory/); the two features are imported here so
every core knows their commands, however it was built."""

from __future__ import annotations

import datetime as dt
import logging

from sqlmodel.ext.asyncio.session import AsyncSession

import bot.digest
import bot.memory  # noqa: F401  (/memory, /link)
from bot import lifecycle
from bot.command_base import MAX_ARGS_CHARS
from bot.commands import (
    ACTION_COMMANDS,
    REGISTRY,
    CommandContext,
    CommandError,
    split_args,
    unknown_command_text,
)
from bot.events import ActionEvent, AnyEvent, MessageEvent, Reply, ReplyKind
from bot.features import DeletionReport, FeatureFailed
from bot.handlers.feedback import Feedback
from bot.i18n import N_, negotiate, t
from bot.journal import Erased, Owed
from bot.locale_lookup import stored_locale
from bot.pipeline.assemble import Assemble
from bot.pipeline.identify import ClaimAttempt, ClaimUnsure, Identify, key_of
from bot.pipeline.observe import Observe
from bot.services import Services
from profiles.db import DatabaseUnavailable
from profiles.models import Person
from profiles.signals import clean_text

log = logging.getLogger(__name__)

THANKS = N_("Thanks for the feedback!")
INACTIVE = N_("That button is no longer active.")
FEATURE_FAILED = N_(
    "Nothing was changed: the {feature} part failed. The operator can see why in the log; "
    "please try again later."
)


class Commands:
    def __init__(self, services: Services, feedback: Feedback) -> None:
        self.services = services
        self.identify = Identify(services)
        self.assemble = Assemble(services)
        self.observe = Observe(services)
        self.feedback = feedback

    async def command(
        self, event: AnyEvent, name: str, raw_args: str, *, owed: Owed | None = None
    ) -> list[Reply]:
        """The command's replies. ``owed``: a replay from the outage journal, whose
        ``claims`` are those of earlier attempts that met the database gone (see the module
        docstring); raises :class:`ClaimUnsure` when this one does after its claim was
        sent."""
        tried = owed.claims if owed is not None else ()
        erased = owed.erased if owed is not None else ()
        attempt = ClaimAttempt(self.services.clock())
        try:
            return await self._command(event, name, raw_args, tried, erased, attempt)
        except DatabaseUnavailable as exc:
            if not attempt.sent:
                raise
            raise ClaimUnsure(
                str(exc), (*tried, attempt.at), tuple(dict.fromkeys((*erased, *attempt.erased)))
            ) from exc

    async def _command(
        self,
        event: AnyEvent,
        name: str,
        raw_args: str,
        tried: tuple[dt.datetime, ...],
        erased: tuple[Erased, ...],
        attempt: ClaimAttempt,
    ) -> list[Reply]:
        spec = REGISTRY.get(name)
        thread = getattr(event, "thread_id", None)
        if spec is None:
            locale = await self._locale(event)
            return [
                Reply(
                    text=unknown_command_text(name, locale, admin=event.context.admin),
                    kind=ReplyKind.EPHEMERAL,
                    purpose="error",
                    thread_id=thread,
                    locale=locale,
                )
            ]
        services = self.services
        locale = negotiate(event.context.locale, services.settings.default_locale)
        # /forget discards what waits instead (bot/learning.py)
        if name != "forget" and spec.settles(raw_args):
            # What the person's last messages taught first: /profile and /export show it.
            await services.learner.settle(key_of(event))
        async def run(session: AsyncSession) -> tuple[list[Reply], CommandContext | None]:
            """The replies, and the context whose after-commit work is owed (None: none)."""
            nonlocal locale
            attempt.erased = ()
            deletion = DeletionReport()
            # Before the person is looked up, which may make them anew (with, on SQLite, a
            # deleted row's id): an earlier attempt's erasure that took effect unseen took
            # its claim with it, and what it owed after its commit is done after this one's.
            replayed = bool(await lifecycle.erasures_owed(services, session, erased, deletion))
            person = await self.identify.person(session, event)
            if not await self.identify.claim(session, person, event, attempt):
                if not tried or not await self.identify.claimed_by(event, tried, session):
                    return [], None
                log.info("command %s took effect before an outage it met: answered now",
                         event.event_id)
                replayed = True
            ctx = CommandContext(
                services=services, session=session, person=person, event=event,
                now=services.clock(),
                locale=await self.assemble.locale_of(session, person, event),
                replayed=replayed, line=_line(event, name, raw_args), deletion=deletion,
            )
            locale = ctx.locale
            try:
                # Cleaned whole, then cut: what was cut is counted (CommandContext.args_cut).
                # (NFKC makes at most 18 characters of one: nothing is cut here)
                cleaned = clean_text(raw_args, max_chars=18 * len(raw_args) + 1)
                ctx.args_cut = max(0, len(cleaned) - MAX_ARGS_CHARS)
                args = split_args(cleaned[:MAX_ARGS_CHARS])
                replies = await spec.handler(ctx, args)
                if name != "forget":
                    await self._platform_context(session, person, event)
                return replies, ctx
            except CommandError as exc:
                error = Reply(
                    text=exc.text(ctx.locale),
                    kind=ReplyKind.EPHEMERAL,
                    purpose="error",
                    thread_id=thread,
                    locale=ctx.locale,
                )
                return [error], None
            finally:  # whom the COMMIT erases: kept with the command if it meets an outage
                attempt.erased = tuple(lifecycle.erased_in(session))

        try:
            # Run again if PostgreSQL aborts it over a conflict with another transaction: a
            # /forget must not fail because a batch touched the same person at that moment.
            replies, ctx = await services.in_transaction(run, quick=spec.quick)
        except FeatureFailed as failed:  # rolled back as a whole: nothing is half-done
            return [
                Reply(
                    text=t(FEATURE_FAILED, locale, feature=failed.feature),
                    kind=ReplyKind.EPHEMERAL,
                    purpose="error",
                    thread_id=thread,
                    locale=locale,
                )
            ]
        if ctx is None:
            return replies
        for work in ctx.after_commit:  # after the commit: model calls hold no locks
            replies.extend(await work())
        for reply in replies:
            reply.thread_id = reply.thread_id or thread
        await services.features.person_changed(event.person)
        return replies

    async def action(self, event: ActionEvent, *, owed: Owed | None = None) -> list[Reply]:
        line = ACTION_COMMANDS.get(event.action_id)
        if line is not None:
            name, _, args = line.partition(" ")
            if event.value:  # e.g. the id of the recommendation or digest item a button is on
                args = f"{args} {event.value}".strip()  # words, as typed: quotes mean nothing
            return await self.command(event, name, args, owed=owed)
        if event.action_id in ("feedback.up", "feedback.down"):
            await self.feedback.button(event)
            return [Reply(text=t(THANKS, await self._locale(event)), kind=ReplyKind.EPHEMERAL,
                          purpose="ack")]
        return [Reply(text=t(INACTIVE, await self._locale(event)), kind=ReplyKind.EPHEMERAL,
                      purpose="error")]

    async def _platform_context(
        self, session: AsyncSession, person: Person, event: AnyEvent
    ) -> None:
        """Store the timezone and locale the platform reports with a command, as a message's
        are (Observe.store_platform_context), for a person who allows learning once it has
        run (after "/consent grant" too; never after "/consent deny" or "revoke", nor for
        someone who never answered, nor after "/forget").
        Why: Discord reports a locale only with an interaction, never with a message, so a
        Discord user's stored language came only from ``/prefs``, and their short messages
        were read with the English rules (profiles/signals.py ``usual``)."""
        if not (event.context.locale or event.context.timezone):
            return
        assert person.id is not None
        if not await self.services.engine.answered_learning(session, person):
            return
        await self.observe.store_platform_context(
            session, person.id, event, self.services.clock()
        )

    async def _locale(self, event: AnyEvent) -> str:
        """The person's language setting for an answer that records nothing (an unknown
        command, a stale button): looked up, never created; the platform's locale for someone
        unknown, or when the database cannot be read (the answer must still go out)."""
        return await stored_locale(self.services, key_of(event), event.context.locale)


LINE_SHOWN = 80  # characters of a command line quoted back to the person


def _line(event: AnyEvent, name: str, raw_args: str) -> str:
    """The command as the person gave it, for an answer that quotes it: the sentence of a
    message ("forget that …"), else the command line (a button's too)."""
    line = event.text.strip() if isinstance(event, MessageEvent) else f"/{name} {raw_args}"
    line = " ".join(line.split())
    return line if len(line) <= LINE_SHOWN else line[: LINE_SHOWN - 1] + "…"
