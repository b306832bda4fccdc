"""What happens around a person's data when it changes: forgetting, consent revocation and
preference changes, fanned out to every registered feature (bot/features.py).

Why not on the core: ``/forget``, ``/consent revoke``, ``/prefs`` and the CLI's
``users forget`` all need it, and none of them routes events. The schema-driven deletion of
the person's rows stays in profiles/privacy.py; this module adds what lives elsewhere (the
outage journal, exports, feature state) and runs it in the right order around the commit.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.events import DepartureEvent, Gone, PersonRef
from bot.exports import remove_exports_of
from bot.features import DeletionReport
from bot.journal import Erased
from bot.observe import count_erasure
from bot.services import Services
from bot.written_languages import Writer
from profiles.engine import PersonKey
from profiles.models import Person
from profiles.privacy import forget_person as forget_person_rows
from profiles.privacy import hold_all_for_erasure, hold_for_erasure

log = logging.getLogger(__name__)

_ERASED = "tailorbot.erased"  # session.info: whom the transaction erased (erased_in)


async def forget_person(
    services: Services,
    session: AsyncSession,
    person: Person,
    *,
    report: DeletionReport | None = None,
) -> dict[str, int]:
    """Delete every row about ``person`` (features first remove what other people's rows
    quote of them, e.g. an identity link: raises
    :class:`bot.features.FeatureFailed` naming the feature,
    and the caller's transaction rolls back); once that commits, every feature removes what it
    keeps outside the tables (scheduled jobs, held exchanges: :func:`after_erasure`).
    ``session`` comes from ``services.transaction()``; ``report``, if given, says afterwards
    which features could not delete their part (so /forget can tell the person)."""
    assert person.id is not None
    await hold_for_erasure(session, person.id)  # before anything is deleted: see there
    # Their observations may still wait for the learner's next batch: never applied now
    # (a batch already writing commits before this transaction or finds them gone).
    key = _writer(person)
    services.learner.forget({person.id}, keys={key})
    services.written.forget(key)
    await services.features.erase(session, person)
    # Bindings of their replies kept while the database was away: their turns go now.
    kept = await services.bindings.kept_of(session, person.id)
    # What others learned from their words (reactions to their messages) goes first: it is
    # found by their id, which the cascade below would otherwise clear without the interests.
    lent = await services.engine.withdraw_words_of(session, person.id)
    removed = await forget_person_rows(session, person.id)
    removed["signal_read_from_their_words"] = lent
    # Their words may also wait in the outage journal: removed now, not after commit, so
    # a crash in between cannot replay them into a fresh person.
    removed["outage_journal"] = services.journal.forget(
        person.platform, person.user_id, person.workspace
    )
    erased = Erased(person.id, person.platform, person.workspace, person.user_id, tuple(kept))
    erased_in(session).append(erased)
    services.after_commit(session, lambda: after_erasure(services, erased, report))
    return removed


def erased_in(session: AsyncSession) -> list[Erased]:
    """Whom ``session``'s transaction erased so far: a command whose COMMIT meets the
    database gone keeps them (bot/handlers/commands.py), so that its replay can do their
    erasure's work after the commit if that COMMIT took effect unseen."""
    erased: list[Erased] = session.info.setdefault(_ERASED, [])
    return erased


async def after_erasure(
    services: Services, erased: Erased, report: DeletionReport | None = None
) -> None:
    """What an erasure does once it has committed: kept reply bindings of their turns
    dropped, features' data outside the tables deleted (a scheduled digest, held exchanges,
    cached texts), export files removed, SQLite's WAL scrubbed. Keyed by ``erased`` alone,
    and each part finds nothing to do where it has been done: so it can run later, without
    the person's row — for a /forget whose COMMIT took effect unseen, by its replay
    (:func:`erasures_owed`)."""
    if erased.turns:
        await services.bindings.drop(list(erased.turns))
    await count_erasure()
    person = Person(id=erased.person_id, platform=erased.platform,
                    workspace=erased.workspace, user_id=erased.user_id)
    await delete_feature_data(services, person, report)
    await remove_exports_of(services.settings, person)
    await services.db.scrub()  # no copy left in SQLite's WAL file


async def erasures_owed(
    services: Services,
    session: AsyncSession,
    erased: Sequence[Erased],
    report: DeletionReport | None = None,
) -> list[Erased]:
    """Of the people an earlier attempt of a command erased (``erased``, kept with it when
    its COMMIT met the database gone), those whose erasure took effect: no row has their
    id any more. What their erasure does after the commit never ran; it runs once
    ``session`` commits. Asked before ``session`` may make anyone anew: on SQLite a new row
    may take a deleted row's id."""
    if not erased:
        return []
    ids = {e.person_id for e in erased}
    # By id and account together: on SQLite a row made since may hold the deleted row's id
    # (a table's largest is given again), and that someone else's row made the erasure
    # look undone, its work after the commit never done.
    present = {tuple(row) for row in await session.exec(
        select(Person.id, Person.platform, Person.workspace, Person.user_id)
        .where(col(Person.id).in_(ids))
    )}
    gone = [e for e in erased
            if (e.person_id, e.platform, e.workspace, e.user_id) not in present]
    for owed in gone:
        services.after_commit(session, functools.partial(after_erasure, services, owed, report))
    return gone


async def delete_feature_data(
    services: Services, person: Person, report: DeletionReport | None = None
) -> None:
    outcome = await services.features.delete_person_data(person)
    if report is not None:
        report.failed.extend(outcome.failed)


async def forget_ref(services: Services, ref: PersonRef) -> bool:
    """Forget a person the platform told us about (left, deactivated, deletion request).
    Adapters call it only when ``settings.forget_on_leave`` allows; True if data existed."""
    key = PersonKey(ref.platform, ref.workspace, ref.user_id)
    services.journal.forget(ref.platform, ref.user_id, ref.workspace)

    async def forget(session: AsyncSession) -> bool:
        person = await services.engine.find_person(session, key)
        if person is None:
            return False
        await forget_person(services, session, person)
        return True

    return await services.in_transaction(forget)


async def forget_user(services: Services, platform: str, user_id: str) -> int:
    """Forget one account in every workspace of a platform (a platform-wide deletion
    request, e.g. Discord's). Returns how many person records were removed."""
    services.journal.forget(platform, user_id)

    async def forget(session: AsyncSession) -> int:
        people = await session.exec(
            select(Person).where(Person.platform == platform, Person.user_id == user_id)
        )
        found = list(people)
        await hold_all_for_erasure(session, [p.id for p in found if p.id is not None])
        for person in found:
            await forget_person(services, session, person)
        return len(found)

    return await services.in_transaction(forget)


async def forget_workspace(services: Services, platform: str, workspace: str) -> int:
    """Forget everyone of one workspace: the bot was removed from it (Slack's
    ``app_uninstalled``, Discord's guild removal, after which no member-leave event comes).
    Adapters call it only when ``settings.forget_on_leave`` allows; returns how many person
    records were removed. Patient (profiles/db_timeout.py): one transaction erases everyone
    of the workspace, however many, and no person waits for it."""

    services.journal.forget_workspace(platform, workspace)

    async def forget(session: AsyncSession) -> int:
        people = list(await session.exec(
            select(Person).where(Person.platform == platform, Person.workspace == workspace)
        ))
        # all at once, in id order, as every forget of several people (profiles/privacy.py)
        await hold_all_for_erasure(session, [p.id for p in people if p.id is not None])
        for person in people:
            await forget_person(services, session, person)
        return len(people)

    with services.db.patient():
        forgotten = await services.in_transaction(forget)
        # Those without a row too: their waiting events (above) and what caches hold of
        # their words (a recent message's text kept for reactions; privacy audit).
        await services.features.delete_workspace_data(platform, workspace)
    return forgotten


async def depart(services: Services, departure: DepartureEvent) -> int:
    """The erasure a platform's notice asked for (:class:`DepartureEvent`, kept while the
    database was away), done now: how many person records were removed."""
    ref = departure.person
    if departure.gone is Gone.WORKSPACE:
        return await forget_workspace(services, ref.platform, ref.workspace)
    if departure.gone is Gone.ACCOUNT:
        return await forget_user(services, ref.platform, ref.user_id)
    return int(await forget_ref(services, ref))


async def forget_absent(
    services: Services, platform: str, workspace: str, present_user_ids: Container[str]
) -> int:
    """Forget the people of one workspace who are no longer in it, found when the bot
    reconnects: they left while it was disconnected, and the platform never delivers the
    missed leave events. ``present_user_ids`` is the platform's COMPLETE member list of that
    workspace (or a live view of it, asked while deciding): everyone it lacks is erased, so an
    adapter calls this only with a list it knows complete, never a partial one. Only this
    workspace is touched: the same account's other workspaces (a DM scope included) stay.
    Adapters call it only when ``settings.forget_on_leave`` allows; returns how many person
    records were removed."""
    # Membership asked while deciding, not before: whoever joined meanwhile is present.
    return await _forget_members(services, platform, workspace,
                                 lambda user_id: user_id not in present_user_ids)


@dataclass(frozen=True, slots=True)
class AccountReport:
    """What a platform answered, asked about accounts of one workspace that tailorbot knows
    (an adapter checking, after being disconnected, what it was not told meanwhile): the
    platform's own words, for the core to decide on (:func:`accounts_reported`). An account
    the platform was not asked about, or answered nothing certain of, is in neither set."""

    deleted: frozenset[str] = frozenset()
    """Accounts the platform says are deleted or deactivated."""
    unknown: frozenset[str] = frozenset()
    """Accounts the platform says it does not know (e.g. Slack's ``user_not_found``)."""


async def accounts_reported(
    services: Services, platform: str, workspace: str, report: AccountReport
) -> int:
    """Forget the people of one workspace whose accounts the platform, asked, says are
    deleted: they were deactivated while the bot was disconnected, and the platform never
    delivers the missed event. For a platform whose member list cannot be taken as complete
    for everyone met there (Slack's leaves out people of other organisations met in shared
    channels): only an account the platform itself says is deleted goes, never one it merely
    does not list.

    Accounts it does not know are kept: "no such user" is also the answer to a token of
    another workspace, or about someone of another organisation whose shared channel ended,
    who both still exist; erasing on it would erase on a misconfiguration. Only this
    workspace is touched. Adapters call it only when ``settings.forget_on_leave`` allows;
    returns how many person records were removed."""
    if report.unknown:
        log.info("%s workspace %s: %d accounts the platform does not know kept (not a "
                 "deletion: another organisation's, or another workspace's token)",
                 platform, workspace, len(report.unknown))
    if not report.deleted:
        return 0
    return await _forget_members(services, platform, workspace,
                                 lambda user_id: user_id in report.deleted)


async def _forget_members(
    services: Services, platform: str, workspace: str, gone: Callable[[str], bool]
) -> int:
    """Forget the people of one workspace (rows, and events waiting in the outage journal)
    for whom ``gone`` holds, in one transaction, held in id order."""
    # Someone known only by their waiting events would get a row at the replay.
    for user_id in services.journal.users(platform, workspace):
        if gone(user_id):
            services.journal.forget(platform, user_id, workspace)

    async def forget(session: AsyncSession) -> int:
        people = await session.exec(
            select(Person).where(Person.platform == platform, Person.workspace == workspace)
        )
        leaving = [p for p in people if gone(p.user_id)]
        await hold_all_for_erasure(session, [p.id for p in leaving if p.id is not None])
        for person in leaving:
            await forget_person(services, session, person)
        return len(leaving)

    return await services.in_transaction(forget)


async def known_accounts(services: Services, platform: str, workspace: str) -> set[str]:
    """The accounts of one workspace tailorbot holds anything of (a row, or events waiting
    in the outage journal): those an adapter asks the platform about."""
    async with services.db.read() as session:
        rows = await session.exec(
            select(Person.user_id).where(Person.platform == platform,
                                         Person.workspace == workspace)
        )
        known = {str(user_id) for user_id in rows}
    return known | services.journal.users(platform, workspace)


async def known_workspaces(services: Services, platform: str) -> set[str]:
    """The workspaces of a platform tailorbot knows people of (rows, or events waiting in
    the outage journal)."""
    async with services.db.read() as session:
        rows = await session.exec(
            select(Person.workspace).where(Person.platform == platform).distinct()
        )
        known = {str(workspace) for workspace in rows}
    return known | services.journal.workspaces(platform)


async def forget_absent_workspaces(
    services: Services,
    platform: str,
    present_workspaces: Container[str],
    *,
    covered: Callable[[str], bool],
) -> dict[str, int]:
    """Forget every workspace tailorbot knows people of (rows, or events waiting in the
    outage journal) that the platform no longer lists for the bot: it was removed while
    disconnected, and the removal event was never delivered. ``covered`` says which
    workspaces ``present_workspaces`` speaks for (e.g. one shard's servers, never a DM
    scope): one it does not cover is kept whatever the list says, so a process that sees a
    part of the platform never forgets the rest. A list that lacks every one of two or more
    covered workspaces forgets nothing: that is far likelier another bot's token, or a new
    application not yet invited, than a bot removed everywhere at once (the log says so).
    Adapters call it only when ``settings.forget_on_leave`` allows; returns the people
    forgotten per workspace."""
    known = await known_workspaces(services, platform)
    ours = {w for w in known if covered(w)}
    gone = sorted(w for w in ours if w not in present_workspaces)
    if len(gone) >= 2 and len(gone) == len(ours):
        log.error(
            "%s lists the bot in none of the %d workspaces tailorbot knows people of: none "
            "forgotten (is this the bot that met them? check its token). If it really was "
            "removed from all of them, their people can be forgotten with `tailorbot users "
            "forget`.", platform, len(gone))
        return {}
    return {workspace: await forget_workspace(services, platform, workspace)
            for workspace in gone}


def _writer(person: Person) -> Writer:
    """The person's (platform, workspace, user id): how the learner's queue and the written
    languages know them."""
    return (person.platform, person.workspace, person.user_id)


def consent_revoked(services: Services, session: AsyncSession, person: Person) -> None:
    """Revocation stops collection at once; scheduled personal work stops too (after the
    revocation commits), and what their messages' languages said (bot/written_languages.py)
    is dropped."""
    services.written.forget(_writer(person))
    services.after_commit(session, lambda: delete_feature_data(services, person))


def preference_changed(
    services: Services, session: AsyncSession, person: Person, key: str | None
) -> None:
    """Features (e.g. rescheduling a digest) hear of it once the change has committed."""
    services.after_commit(session, lambda: services.features.preference_changed(person, key))
