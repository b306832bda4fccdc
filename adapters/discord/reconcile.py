"""After (re)connecting, with ``forget_on_leave``: forget the members who left, and the servers
that removed the bot, while it was disconnected.

Why: Discord delivers a member's leaving (``GUILD_MEMBER_REMOVE``) and the bot's removal from a
server (``GUILD_DELETE``) only to a connected bot. A resumed session gets what it missed; a new
one (a restart, a deploy, an outage longer than Discord keeps a session) does not, and a member
who left meanwhile kept their data for good, against the operator's setting.

When: at READY — ``on_ready``, or each shard's ``on_shard_ready`` on a sharded client (a shard
that starts a new session alone fires no ``on_ready``) — and for a server that was unavailable
then, or became so later (an outage hides its leave events too), once it is available again.
What a failure stopped (the database away, most often: a bot and its database started
together) is tried again after a minute, then less often, within the same session: the next
connect, which it used to wait for, may be weeks away.

The adapter supplies Discord's facts; the core decides who is gone (bot/lifecycle.py):

* **Servers.** Every server READY lists, unavailable ones included (an outage is not a
  removal), stays. A server tailorbot knows people of that is not listed, among the servers
  this session's shards cover, removed the bot: it is forgotten as ``on_guild_remove`` does
  (unless no known server at all is listed: see :func:`bot.lifecycle.forget_absent_workspaces`).
* **Members**, per server, only from a member list known complete: the ``members`` intent
  granted, the server available, its whole member list read (``REQUEST_GUILD_MEMBERS``) in
  this session, as many members as the server counts. Anything less skips the server and
  the log says why: an incomplete list would erase people who are still there. (discord.py's
  ``Guild.chunked`` alone is not proof: a pending member request is answered with what had
  arrived when a new session starts, and a server back from an outage keeps its members
  from before it in the cache, those who left meanwhile included.)

Direct messages are the workspace ``"dm"`` (adapters/discord/translate.py), which is no
server: never covered by a server list, never reconciled.

Costs and limits:

* one ``REQUEST_GUILD_MEMBERS`` per server per READY, one server at a time; discord.py then
  keeps the member lists in memory (it caches the members it reads with the ``members``
  intent), as a bot that chunks its servers at start does.
* A member who joins while the list is read makes the counts differ: that server is skipped
  until the next connect (safe side).
* On a sharded client discord.py keeps a server in its cache when one shard alone starts a
  new session without it: a server that removed the bot meanwhile counts as listed until
  the process restarts (then it is forgotten). A restart of the process is not affected.
* One Discord application per database: the READY of one bot says nothing about another
  bot's servers (a READY that lists none of the known servers forgets none of them; one that
  lists some does forget the others).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import discord

from adapters.backoff import backoff
from adapters.discord.translate import PLATFORM
from bot.config import Settings
from bot.core import Core

log = logging.getLogger(__name__)

CHUNK_TIMEOUT = 60.0
"""Seconds a server's member list may take to arrive (more for large servers, see
:func:`chunk_timeout`); later, the server is skipped until the next connect."""
CHUNK_MEMBERS_PER_SECOND = 2000


@dataclass
class Reconciliation:
    """What one reconcile did, as the log says it: for the caller that waits for it (tests)."""

    shard_id: int | None
    workspaces: dict[str, int] = field(default_factory=dict)  # forgotten server: people
    forgotten: dict[int, int] = field(default_factory=dict)  # reconciled server: people
    skipped: dict[int, str] = field(default_factory=dict)  # server: why
    servers_unchecked: bool = False  # the servers that removed the bot: not found (a failure)

    @property
    def failed(self) -> set[int]:
        """The servers whose members could not be checked for a failure (not a state of
        Discord's): tried again (:meth:`Reconciler._again`)."""
        return {guild_id for guild_id, why in self.skipped.items() if why == FAILED}

    @property
    def unfinished(self) -> bool:
        return self.servers_unchecked or bool(self.failed)


FAILED = "failed"


@dataclass(frozen=True)
class Skip:
    """Why a server's members were not checked; ``worrying``: worth an operator's look (a
    list that did not arrive whole), not a state of Discord's (an outage)."""

    why: str
    worrying: bool = False


def chunk_timeout(guild: discord.Guild) -> float:
    return max(CHUNK_TIMEOUT, (guild.member_count or 0) / CHUNK_MEMBERS_PER_SECOND)


def is_server_id(workspace: str) -> bool:
    """Whether a Discord workspace is a server (a snowflake), not the DM scope."""
    return workspace.isascii() and workspace.isdigit()


class Members:
    """A server's members as the core asks while deciding: the complete list read, and
    whoever joined since the reading began (``joined``, kept up to date by the caller), so a
    newcomer whose first words made them a row meanwhile is present. Once the server is
    unavailable or replaced by a newer session's, everyone counts as present: nobody is
    erased on facts that may have gone stale."""

    def __init__(self, client: discord.Client, guild: discord.Guild, read: Iterable[int],
                 joined: set[int]) -> None:
        self._client = client
        self._guild = guild
        self._read = frozenset(read)
        self._joined = joined

    def __contains__(self, user_id: object) -> bool:
        if not isinstance(user_id, str) or not is_server_id(user_id):
            return True  # no Discord account id: not this list's to judge
        guild = self._guild
        if guild.unavailable or self._client.get_guild(guild.id) is not guild:
            return True
        member = int(user_id)
        return member in self._read or member in self._joined


class Reconciler:
    """One per client: runs a reconcile per READY (per shard), one at a time, and stops an
    older run once a newer READY of the same shard arrives (its facts replace the older's)."""

    def __init__(self, core: Core, settings: Settings, client: discord.Client) -> None:
        self.core = core
        self.settings = settings
        self.client = client
        self.runs = 0
        self.last: Reconciliation | None = None
        self._sessions: dict[int | None, int] = {}
        self._lock = asyncio.Lock()
        self._finished = asyncio.Condition()
        self._waiting: set[int] = set()  # servers skipped as unavailable
        self._joined: dict[int, set[int]] = {}  # servers being read: who joined meanwhile
        self._tasks: set[asyncio.Task[object]] = set()
        self.sleep: Callable[[float], Awaitable[object]] = asyncio.sleep  # tests' clock

    async def wait(self, runs: int) -> Reconciliation | None:
        """Once ``runs`` reconciles have finished since the client started: the latest's
        outcome (None with ``forget_on_leave`` off, where a READY reconciles nothing)."""
        async with self._finished:
            await self._finished.wait_for(lambda: self.runs >= runs)
        return self.last

    def close(self) -> None:
        """The client is done: a reconcile still running stops (its open transaction rolls
        back; the next connect reconciles again)."""
        for task in list(self._tasks):
            task.cancel()

    async def session_ready(self, shard_id: int | None) -> None:
        """A new session's READY (of one shard, or of the whole client: ``None``)."""
        session = self._sessions[shard_id] = self._sessions.get(shard_id, 0) + 1
        if not self.settings.forget_on_leave:
            await self._finish(None)
            return
        outcome = Reconciliation(shard_id)
        try:
            async with self._tracked(), self._lock:
                if self._sessions[shard_id] != session:
                    return  # a newer READY's run follows, on newer facts
                await self._forget_removed_servers(shard_id, outcome)
                if not self.client.intents.members:
                    log.warning(
                        "forget_on_leave: without the members intent nobody who left a server "
                        "while the bot was disconnected can be found; enable Server Members "
                        "for this bot (docs/discord.md)")
                for guild in self._guilds(shard_id):
                    if self._sessions[shard_id] != session:
                        log.info("a new Discord session started: its reconcile takes over")
                        return
                    await self._reconcile(guild, outcome)
                self._summary(outcome)
        finally:
            await self._finish(outcome)
        self._try_again(shard_id, session, outcome)

    async def guild_available(self, guild: discord.Guild) -> None:
        """A server back from an outage: its members who left meanwhile are found now."""
        if not self.settings.forget_on_leave or guild.id not in self._waiting:
            return
        self._waiting.discard(guild.id)
        shard_id = guild.shard_id if self._sharded else None
        session = self._sessions.get(shard_id, 0)
        outcome = Reconciliation(shard_id)
        try:
            async with self._tracked(), self._lock:
                await self._reconcile(guild, outcome)
        finally:
            await self._finish(outcome)
        self._try_again(shard_id, session, outcome)

    def _try_again(self, shard_id: int | None, session: int, outcome: Reconciliation) -> None:
        """What ``outcome`` could not finish is tried again within this session."""
        if outcome.unfinished and self._sessions.get(shard_id) == session:
            task = asyncio.create_task(self._again(shard_id, session, outcome))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _again(self, shard_id: int | None, session: int, outcome: Reconciliation) -> None:
        """Try again, later and less often, what failed, until it is done or a newer session
        of the shard reconciles on newer facts. A server's member list is read again: the
        one read before may have gone stale while waiting."""
        delays = backoff()
        while outcome.unfinished:
            await self.sleep(next(delays))
            failed, outcome = outcome, Reconciliation(shard_id)
            try:
                async with self._lock:
                    if self._sessions.get(shard_id) != session:
                        return
                    if failed.servers_unchecked:
                        await self._forget_removed_servers(shard_id, outcome)
                    for guild in self._guilds(shard_id):
                        if guild.id in failed.failed:
                            await self._reconcile(guild, outcome)
                    self._summary(outcome)
            finally:
                await self._finish(outcome)

    def guild_unavailable(self, guild: discord.Guild) -> None:
        if self.settings.forget_on_leave:
            self._waiting.add(guild.id)

    def member_joined(self, member: discord.Member) -> None:
        joined = self._joined.get(member.guild.id)
        if joined is not None:
            joined.add(member.id)

    # ----------------------------------------------------------------------------------------
    @property
    def _sharded(self) -> bool:
        return isinstance(self.client, discord.AutoShardedClient)

    def _guilds(self, shard_id: int | None) -> list[discord.Guild]:
        guilds = self.client.guilds
        return sorted((g for g in guilds if shard_id is None or g.shard_id == shard_id),
                      key=lambda g: g.id)

    def _covers(self, shard_id: int | None, workspace: str) -> bool:
        """Whether this session's server list speaks for ``workspace``: a server of one of
        its shards (several processes may share the shards: the others' are not ours)."""
        if not is_server_id(workspace):
            return False
        if shard_id is None:
            return True
        count = self.client.shard_count
        return count is not None and (int(workspace) >> 22) % count == shard_id

    async def _forget_removed_servers(self, shard_id: int | None,
                                      outcome: Reconciliation) -> None:
        # Every server the cache holds: READY's (unavailable ones too) and any joined since.
        listed = {str(guild.id) for guild in self.client.guilds}
        try:
            outcome.workspaces = await self.core.forget_absent_workspaces(
                PLATFORM, listed, covered=lambda workspace: self._covers(shard_id, workspace))
        except Exception:
            log.exception("could not forget the Discord servers that removed the bot while it "
                          "was disconnected; tried again later")
            outcome.servers_unchecked = True
            return
        for workspace, removed in outcome.workspaces.items():
            log.warning("Discord server %s removed the bot while it was disconnected: "
                        "forgot %d people", workspace, removed)

    async def _reconcile(self, guild: discord.Guild, outcome: Reconciliation) -> None:
        # Joins are kept from before the request: one the list misses is still present.
        # (Not discord.py's member cache: a server back from an outage keeps there the
        # members it had before, those who left meanwhile included.)
        joined = self._joined[guild.id] = set()
        try:
            read = await self._member_list(guild)
            if isinstance(read, Skip):
                outcome.skipped[guild.id] = read.why
                if self.client.intents.members:  # else said once for all servers
                    log.log(logging.WARNING if read.worrying else logging.INFO,
                            "Discord server %s: members who left while the bot was "
                            "disconnected not checked: %s", guild.id, read.why)
                return
            forgotten = await self.core.forget_absent(PLATFORM, str(guild.id),
                                                      Members(self.client, guild, read, joined))
        except Exception:
            log.exception("Discord server %s: could not forget the members who left while "
                          "the bot was disconnected; tried again later", guild.id)
            outcome.skipped[guild.id] = FAILED
            return
        finally:
            del self._joined[guild.id]
        outcome.forgotten[guild.id] = forgotten
        # Every server's count at each connect would be thousands of lines for a large bot:
        # those that lost nobody are in the summary (:meth:`_summary`).
        log.log(logging.INFO if forgotten else logging.DEBUG,
                "Discord server %s: forgot %d people who left while the bot was disconnected",
                guild.id, forgotten)

    async def _member_list(self, guild: discord.Guild) -> set[int] | Skip:
        """The server's complete member list, or why there is none."""
        if not self.client.intents.members:
            return Skip("the members intent is not granted")
        if guild.unavailable:
            self._waiting.add(guild.id)
            return Skip("the server is unavailable (a Discord outage, not a removal); "
                        "checked once it is back")
        try:
            async with asyncio.timeout(chunk_timeout(guild)):
                members = await guild.chunk()
        except TimeoutError:
            return Skip("its member list did not arrive in time", worrying=True)
        except (discord.DiscordException, OSError) as exc:
            return Skip(f"its member list could not be requested ({exc})", worrying=True)
        if guild.unavailable or self.client.get_guild(guild.id) is not guild:
            self._waiting.add(guild.id)
            return Skip("the server became unavailable, or a new session started, while its "
                        "member list was read")
        read = {member.id for member in members or ()}
        if guild.member_count is None or len(read) != guild.member_count:
            return Skip(f"its member list is incomplete ({len(read)} read, "
                        f"{guild.member_count} counted)", worrying=True)
        return read

    @contextlib.asynccontextmanager
    async def _tracked(self) -> AsyncIterator[None]:
        """The running task, while inside, is one :meth:`close` stops."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    @staticmethod
    def _summary(outcome: Reconciliation) -> None:
        log.info(
            "Discord reconcile after connecting%s: members of %d servers checked, %d people "
            "who left forgotten; %d servers skipped; %d servers that removed the bot "
            "forgotten (%d people)",
            "" if outcome.shard_id is None else f" (shard {outcome.shard_id})",
            len(outcome.forgotten), sum(outcome.forgotten.values()), len(outcome.skipped),
            len(outcome.workspaces), sum(outcome.workspaces.values()))

    async def _finish(self, outcome: Reconciliation | None) -> None:
        async with self._finished:
            self.runs += 1
            self.last = outcome
            self._finished.notify_all()
