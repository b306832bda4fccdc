"""The Bolt app: listeners that translate Slack traffic for the core and deliver its replies.

One :class:`SlackAdapter` owns an ``AsyncApp`` (the same in Socket Mode and HTTP mode; only
the transport differs, see ``runner.py``), an ``AsyncWebClient`` pointed at
``settings.slack_api_url`` with slack_sdk's rate-limit and connection-error retry handlers, and
the small in-memory caches translation needs.

Acknowledging: Slack wants an answer within 3 seconds, the core may take longer (a model
call). Every listener therefore acks at once and hands the work to a tracked background task.
Bolt runs with ``process_before_response=True`` so that, by the time it has acknowledged a
request, the task exists: :meth:`SlackAdapter.drain` can wait for it (tests, shutdown), and
nothing runs untracked. The listeners themselves only parse and spawn, so they stay far below
the 3-second budget.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.backoff import backoff
from adapters.lru import LRU
from adapters.recent_texts import RecentText, RecentTextEraser
from adapters.slack import home, markup, oauth, translate
from adapters.slack.accounts import AccountCheckOptions, Sleep
from adapters.slack.delivery import Deliverer
from adapters.slack.directory import SlackUser, UserDirectory
from adapters.slack.manifest import SUGGESTED_PROMPTS, native_commands, umbrella_command
from adapters.slack.reconcile import AccountChecker
from adapters.slack.render import feedback_acknowledged
from adapters.slack.stream import ReplyStream
from adapters.slack.threads import ThreadTracker
from adapters.slack.translate import BotIdentity, Origin
from adapters.slack.types import (
    BlockAction,
    BlockActionsPayload,
    EventEnvelope,
    HomeOpenedEventPayload,
    MessageEventPayload,
    ReactionEventPayload,
    SlashCommandPayload,
    TokensRevokedEventPayload,
    UserChangeEventPayload,
)
from adapters.slack.workspaces import Workspace, Workspaces
from bot.config import Settings
from bot.core import Core, reply_thread
from bot.events import AnyEvent, PersonRef, PlatformContext, Reply, ReplyKind, Surface
from bot.features import FeatureBase
from bot.home import home_view
from bot.i18n import N_, t
from bot.outbox import FEEDBACK_DOWN, FEEDBACK_UP
from profiles.models import Person

log = logging.getLogger(__name__)

# Catalog texts (bot/i18n.py), in the person's Slack locale.
THINKING = N_("is thinking…")
FAILED = N_("Sorry, something went wrong while handling that. Please try again.")
SHUTDOWN_GRACE = 30.0  # seconds in-flight work may take to finish when the adapter stops


class SlackOutbox:
    """The Slack adapter's :class:`bot.outbox.Outbox`."""

    platform = translate.PLATFORM

    def __init__(self, adapter: SlackAdapter) -> None:
        self._adapter = adapter

    async def reply(self, event: AnyEvent, replies: list[Reply]) -> None:
        await self._adapter.reply_to_event(event, replies)

    async def send(self, person: Person, replies: list[Reply]) -> None:
        await self._adapter.send_to_person(person, replies)


class HomeRefresh(FeatureBase):
    """Republishes the Home tab of people who opened it when something about them changed,
    and those of a workspace's admins when an admin changed the workspace."""

    def __init__(
        self,
        name: str,
        refresh: Callable[[PersonRef], Awaitable[None]],
        refresh_admins: Callable[[str, str, PersonRef | None], Awaitable[None]],
    ) -> None:
        self.name = name
        self._refresh = refresh
        self._refresh_admins = refresh_admins

    async def on_person_changed(self, ref: PersonRef) -> None:
        await self._refresh(ref)

    async def on_workspace_changed(
        self, platform: str, workspace: str, by: PersonRef | None
    ) -> None:
        await self._refresh_admins(platform, workspace, by)


@dataclass(slots=True)
class SlackOptions:
    """Knobs that are about Slack mechanics rather than product settings (tests shrink the
    intervals; nothing here changes what the bot learns or says)."""

    stream_interval: float = 1.0
    use_streaming_api: bool = True
    user_cache_ttl: float = 3600.0
    rate_limit_retries: int = 2
    connection_retries: int = 2
    thread_cache_size: int = 5000
    # Home tabs republished when an admin changes the workspace: the admins who opened theirs
    # most recently, at most this many (each costs a users.info, cached, and a views.publish).
    home_admin_refresh_limit: int = 20
    thread_negative_ttl: float = 300.0
    text_cache_size: int = 2000
    suggested_prompts: tuple[dict[str, str], ...] = field(default=SUGGESTED_PROMPTS)
    # With forget_on_leave: how deleted accounts are asked about (adapters/slack/reconcile.py),
    # and the clock its checks wait on between two (tests drive it).
    accounts: AccountCheckOptions = field(default_factory=AccountCheckOptions)
    sleep: Sleep = asyncio.sleep
    # What answers being written go by: partial updates' interval and Slack's Retry-After.
    clock: Callable[[], float] = time.monotonic


class _RedundantTokenWarning(logging.Filter):
    """Bolt reads ``SLACK_BOT_TOKEN`` from the environment even when it is given a client, and
    then warns at every start that the token will be unused. Here the client *is* built from
    that token (plus our base URL, HTTP session and retry handlers), so the warning is noise;
    every other Bolt message passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


BOLT_LOGGER = logging.getLogger("tailorbot.slack.bolt")
BOLT_LOGGER.addFilter(_RedundantTokenWarning())


def retry_handlers(options: SlackOptions) -> list[AsyncRetryHandler]:
    """429s wait for ``Retry-After`` and try again; dropped connections are retried too."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=options.rate_limit_retries),
        AsyncConnectionErrorRetryHandler(max_retry_count=options.connection_retries),
    ]


class SlackAdapter:
    """Build inside a running event loop (it opens an HTTP session); close with
    :meth:`aclose`."""

    def __init__(
        self, core: Core, settings: Settings, *, options: SlackOptions | None = None
    ) -> None:
        self.core = core
        self.settings = settings
        self.options = options or SlackOptions()
        self.session = aiohttp.ClientSession()
        self.retry_handlers = retry_handlers(self.options)
        self.oauth = oauth.configured(settings)
        # Bolt's own client: the bot token in single-token mode; token-less with OAuth (Bolt
        # then gives each request a client with the workspace's token, and uses this one for
        # oauth.v2.access).
        self.client = self._client(None if self.oauth else settings.slack_bot_token)
        self.installations = oauth.installation_store(settings, core) if self.oauth else None
        self.workspaces = Workspaces(self._workspace, store=self.installations,
                                     single_token=settings.slack_bot_token)
        # Workspaces that refused Slack's streaming methods: their answers use message updates
        # (per workspace: one app installed in several, and one refusing is no reason to stop
        # streaming in the others)
        self.streaming_refused: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Installations of uninstalled workspaces whose deletion failed, tried again later
        # (_delete_installation_later); stopped by aclose, never waited for by drain.
        self._deletions: set[asyncio.Task[None]] = set()
        # (channel, ts) → normalised text of recent messages, so a reaction to one can say
        # what it was about without an API call; memory only, bounded.
        self._texts: LRU[tuple[str, str], RecentText] = LRU(self.options.text_cache_size)
        # channel id → channel_type seen on its message events (public, private, mpim, im).
        self._channel_types: LRU[Any, Any] = LRU(self.options.thread_cache_size)
        # event id → origin, so replies to events replayed from the core's backlog can be sent.
        self._origins: LRU[Any, Any] = LRU(10_000)
        # (team, user) of people who opened the Home tab: refreshed when something changes.
        self._homes: LRU[tuple[str, str], bool] = LRU(self.options.thread_cache_size)
        self._home_feature = HomeRefresh(
            f"slack_home:{id(self)}", self._person_changed, self._workspace_changed
        )
        core.services.features.register(self._home_feature)
        self._text_eraser = RecentTextEraser(f"slack_texts:{id(self)}", translate.PLATFORM,
                                             self._texts)
        core.services.features.register(self._text_eraser)
        self.app = self._build_app()
        self.outbox = SlackOutbox(self)
        self._open_outbox()
        self.accounts = AccountChecker(core, settings, session=self.session,
                                       store=self.installations, uninstalled=self._uninstalled,
                                       options=self.options.accounts, sleep=self.options.sleep)
        self._account_checks: asyncio.Task[None] | None = None

    def _client(self, token: str | None) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=self.settings.slack_api_url,
                              session=self.session, retry_handlers=list(self.retry_handlers))

    def _workspace(self, team_id: str | None, token: str | None) -> Workspace:
        """The clients and caches for one workspace (see workspaces.py)."""
        client = self._client(token)
        return Workspace(
            team_id=team_id,
            client=client,
            users=UserDirectory(client, ttl=self.options.user_cache_ttl),
            threads=ThreadTracker(client, size=self.options.thread_cache_size,
                                  negative_ttl=self.options.thread_negative_ttl),
            deliverer=Deliverer(client, self.core, retry_handlers=list(self.retry_handlers),
                                session=self.session),
        )

    # Lifecycle ----------------------------------------------------------------------------------
    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, tracked, with errors logged instead of lost."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack event handling failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until every spawned task (and any it spawned) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def start_account_checks(self) -> None:
        """With ``forget_on_leave`` or "Add to Slack": check now, and every
        ``slack_account_check_hours``, for accounts deleted and workspaces that removed the
        app while the bot was not told (adapters/slack/reconcile.py). Called once connected;
        stopped by :meth:`aclose`."""
        wanted = self.settings.forget_on_leave or self.installations is not None
        if wanted and self._account_checks is None:
            self._account_checks = asyncio.create_task(self.accounts.run())

    async def aclose(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Let in-flight work finish (up to ``grace`` seconds), then close the HTTP session.
        Work still running after that is cancelled; Slack already has its acknowledgement, so
        it will not resend those events (the grace period keeps this rare). An account check
        under way stops (its open transaction rolls back; the next start checks again)."""
        if self._account_checks is not None:
            self._account_checks.cancel()
            await asyncio.gather(self._account_checks, return_exceptions=True)
        for deletion in list(self._deletions):
            deletion.cancel()
        await asyncio.gather(*self._deletions, return_exceptions=True)
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        self.core.services.close_outbox(self.outbox)
        self.core.services.features.unregister(self._home_feature.name)
        self.core.services.features.unregister(self._text_eraser.name)
        await self.session.close()

    # App ----------------------------------------------------------------------------------------
    def _build_app(self) -> AsyncApp:
        app = AsyncApp(
            name="tailorbot-slack",
            logger=BOLT_LOGGER,
            client=self.client,
            signing_secret=self.settings.slack_signing_secret or "",
            process_before_response=True,
            # Bolt drops the bot's own events before any listener; translate.skip_reason
            # repeats the check as a second line of defence.
            ignoring_self_events_enabled=True,
            **oauth.app_options(self.settings, self.installations, self.core),
        )
        assistant = AsyncAssistant()
        assistant.thread_started(self._on_assistant_thread_started)
        assistant.user_message(self._on_assistant_message)
        app.assistant(assistant)
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_app_mention)
        app.event("reaction_added")(self._on_reaction)
        app.event("reaction_removed")(self._on_reaction)
        app.event("user_change")(self._on_user_change)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("tokens_revoked")(self._on_tokens_revoked)
        app.command(umbrella_command(self.settings))(self._on_umbrella_command)
        for command in native_commands(self.settings):
            app.command(command)(self._on_command)
        app.action(re.compile(r".+"))(self._on_action)
        return app

    # Listeners (parse, ack, spawn) ---------------------------------------------------------------
    async def _on_message(self, body: EventEnvelope, event: MessageEventPayload,
                          context: dict[str, Any]) -> None:
        bot = _bot(context)
        self._remember_text(body, event, bot)
        self._remember_channel(event)
        reason = translate.skip_reason(event, bot)
        if reason is not None:
            log.debug("message ignored: %s", reason)
            return
        if translate.is_dm_channel(event):
            self.spawn(self._converse(body, event, bot, mentioned=False))
        elif not markup.mentions(str(event.get("text") or ""), bot.user_id or ""):
            # Mentions arrive as app_mention too and are answered there, once.
            self.spawn(self._channel_message(body, event, bot))

    async def _on_app_mention(self, body: EventEnvelope, event: MessageEventPayload,
                              context: dict[str, Any]) -> None:
        bot = _bot(context)
        if translate.skip_reason(event, bot) is not None or translate.is_dm_channel(event):
            return  # DMs arrive as message.im; the same text must not be answered twice
        self.spawn(self._converse(body, event, bot, mentioned=True))

    async def _on_assistant_thread_started(self, body: dict[str, Any],
                                           set_suggested_prompts: Callable[..., Awaitable[Any]]
                                           ) -> None:
        self.spawn(self._suggest(set_suggested_prompts))

    async def _on_assistant_message(self, body: EventEnvelope, event: MessageEventPayload,
                                    context: dict[str, Any],
                                    set_status: Callable[..., Awaitable[Any]]) -> None:
        """Bolt routes every user message in a DM thread here (its notion of an assistant
        thread); it is the same conversation path as a DM, plus a thinking status."""
        bot = _bot(context)
        self._remember_text(body, event, bot)
        if translate.skip_reason(event, bot) is not None:
            return
        self.spawn(self._converse(body, event, bot, mentioned=False, set_status=set_status))

    async def _on_reaction(self, body: EventEnvelope, event: ReactionEventPayload,
                           context: dict[str, Any]) -> None:
        bot = _bot(context)
        if event.get("user") in (None, bot.user_id):
            return
        self.spawn(self._react(body, event))

    async def _on_user_change(self, body: EventEnvelope, event: UserChangeEventPayload) -> None:
        user = event.get("user") or {}
        team = str(user.get("team_id") or translate.team_of(body))
        if user.get("id"):
            self.spawn(self._profile_changed(team, str(user["id"])))
        if user.get("deleted") and user.get("id") and self.settings.forget_on_leave:
            self.spawn(self._forget(translate.person(team, str(user["id"]))))

    async def _on_home_opened(self, body: EventEnvelope, event: HomeOpenedEventPayload) -> None:
        if event.get("tab") == "home" and event.get("user"):
            team = translate.team_of(body)
            self._homes.put((team, str(event["user"])), True)
            self.spawn(self._publish_home(team, str(event["user"])))

    async def _person_changed(self, ref: PersonRef) -> None:
        if ref.platform == translate.PLATFORM and (ref.workspace, ref.user_id) in self._homes:
            self.spawn(self._publish_home(ref.workspace, ref.user_id))

    async def _workspace_changed(
        self, platform: str, workspace: str, by: PersonRef | None
    ) -> None:
        """An admin changed the workspace: republish the Home tabs of its other admins who
        opened theirs (the one who made the change is refreshed as any person is), the most
        recently opened first: at most ``home_admin_refresh_limit`` tabs, looking at no more
        than five times as many people (whether one is an admin is a users.info, cached)."""
        if platform != translate.PLATFORM:
            return
        ws = await self.workspaces.get(workspace)
        if ws is None:
            return
        actor = by.user_id if by is not None and by.workspace == workspace else None
        opened = [user for team, user in reversed(self._homes.keys())
                  if team == workspace and user != actor]
        limit = self.options.home_admin_refresh_limit
        published = 0
        for user_id in opened[: 5 * limit]:
            if published >= limit:
                break
            if (await ws.users.get(user_id)).is_admin:
                published += 1
                self.spawn(self._publish_home(workspace, user_id))

    async def _publish_home(self, team_id: str, user_id: str) -> None:
        ws = await self.workspaces.get(team_id)
        if ws is None:
            return
        user = await ws.users.get(user_id)
        view = await home_view(self.core.services, translate.person(team_id, user_id),
                               admin=user.is_admin, platform_locale=user.locale)
        try:
            await ws.client.views_publish(user_id=user_id, view=home.home_view(view))
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not publish the Home tab of %s: %s", user_id, exc)

    async def _on_uninstalled(self, body: EventEnvelope) -> None:
        team_id = translate.team_of(body)

        async def uninstalled() -> None:
            await self._uninstalled(team_id)

        self.spawn(uninstalled())

    async def _on_tokens_revoked(
        self, body: EventEnvelope, event: TokensRevokedEventPayload
    ) -> None:
        self.spawn(self._tokens_revoked(translate.team_of(body), event))

    async def _on_command(self, ack: Callable[..., Awaitable[Any]],
                          command: SlashCommandPayload) -> None:
        await ack()
        name = str(command.get("command", "")).lstrip("/").lower()
        self.spawn(self._command(command, name, str(command.get("text") or "")))

    async def _on_umbrella_command(self, ack: Callable[..., Awaitable[Any]],
                                   command: SlashCommandPayload) -> None:
        await ack()
        name, args = translate.split_umbrella(str(command.get("text") or ""))
        self.spawn(self._command(command, name, args))

    async def _on_action(
        self, ack: Callable[..., Awaitable[Any]], body: BlockActionsPayload
    ) -> None:
        await ack()
        for action in body.get("actions") or []:
            self.spawn(self._act(body, action))

    # Work (runs in tracked tasks) -----------------------------------------------------------------
    async def _converse(
        self, body: EventEnvelope, event: MessageEventPayload, bot: BotIdentity, *,
        mentioned: bool, set_status: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        ws = await self.workspaces.get(translate.team_of(body))
        if ws is None:
            return
        if mentioned and event.get("channel"):
            thread = translate.thread_of(event) or event.get("ts")
            if thread:
                ws.threads.joined(str(event["channel"]), str(thread), str(event.get("user")))
        raw = str(event.get("text") or "")
        user = await ws.users.get(str(event["user"]))
        names = await ws.users.names(
            uid for uid in markup.mentioned_user_ids(raw) if uid != bot.user_id
        )
        text = markup.normalise(raw, bot_user_id=bot.user_id, names=names)
        message = translate.message_event(
            body, event, text=text, mentioned=mentioned, context=_context(user),
            display_name=user.name, private=self._is_private(event),
            mentioned_names=tuple(names.values()),
        )
        origin = translate.message_origin(body, event)
        self._origins.put(message.event_id, origin)
        stream = ReplyStream(
            ws.client,
            channel=str(event.get("channel")),
            thread_ts=reply_thread(message),
            team_id=origin.team_id,
            user_id=origin.user_id,
            interval=self.options.stream_interval,
            use_streaming_api=(self.options.use_streaming_api
                               and (origin.team_id or "") not in self.streaming_refused),
            on_refused=lambda: self.streaming_refused.add(origin.team_id or ""),
            clock=self.options.clock,
            abandoned=t(FAILED, user.locale),
        )
        if set_status is not None:
            await _quietly(set_status(t(THINKING, user.locale)))
        posted = False
        addressed = message.surface == Surface.DM or message.mentioned
        try:
            replies = await self.core.handle(message, on_partial=stream.on_partial)
        except Exception:
            log.exception("message %s failed", message.event_id)
            replies = [Reply(text=t(FAILED, user.locale), kind=ReplyKind.EPHEMERAL,
                             purpose="error", thread_id=message.thread_id)]
        if not addressed and replies:
            # Channel chatter is only observed; whatever comes back (e.g. the core's
            # "database unavailable" notice) must not pop up for people not talking to us.
            log.info("not replying to unaddressed message %s (%d replies dropped)",
                     message.event_id, len(replies))
            replies = []
        try:
            posted = await ws.deliverer.deliver(origin, replies, stream)
        finally:
            if set_status is not None and not posted and not stream.started:
                await _quietly(set_status(""))

    async def _channel_message(self, body: EventEnvelope, event: MessageEventPayload,
                               bot: BotIdentity) -> None:
        """A channel message without a mention. In a thread the person started with the bot
        (or one the bot started) it is a follow-up, addressed to the bot, and answered; anything
        else goes to the core unaddressed, which learns from it (with consent) and stays quiet.
        Other people chatting under a bot answer are therefore not interrupted."""
        thread = translate.thread_of(event)
        ws = await self.workspaces.get(translate.team_of(body))
        addressed = ws is not None and thread is not None and await ws.threads.addressed(
            str(event.get("channel")), thread, str(event.get("user")), bot
        )
        await self._converse(body, event, bot, mentioned=addressed)

    async def _react(self, body: EventEnvelope, event: ReactionEventPayload) -> None:
        item = event.get("item") or {}
        added = event.get("type") == "reaction_added"
        ws = await self.workspaces.get(translate.team_of(body))
        if ws is None:
            return
        user = await ws.users.get(str(event["user"]))
        if user.is_bot:
            return
        target = self._texts.get((str(item.get("channel")), str(item.get("ts"))))
        reaction = translate.reaction_event(
            body, event, added=added, context=_context(user),
            target_text=target.text if target is not None else None,
            target_author=target.user if target is not None else None,
        )
        if reaction is not None:
            await self.core.handle(reaction)

    async def _command(self, payload: SlashCommandPayload, name: str, args: str) -> None:
        origin = translate.command_origin(payload)
        ws = await self.workspaces.get(origin.team_id)
        if ws is None:
            return
        locale: str | None = None
        try:
            user = await ws.users.get(str(payload["user_id"]))
            locale = user.locale
            names = await ws.users.names(markup.mentioned_user_ids(args))
            event = translate.command_event(
                payload, name=name,
                args=markup.normalise(args, names=names, channel_ids=name == "admin"),
                context=_context(user), display_name=user.name,
            )
            self._origins.put(event.event_id, origin)
            replies = await self.core.handle(event)
        except Exception:
            log.exception("slash command /%s failed", name)
            replies = [Reply(text=t(FAILED, locale), purpose="error", kind=ReplyKind.EPHEMERAL)]
        await ws.deliverer.deliver(origin, replies)

    async def _act(self, body: BlockActionsPayload, action: BlockAction) -> None:
        origin = translate.action_origin(body)
        ws = await self.workspaces.get(origin.team_id)
        if ws is None:
            return
        locale: str | None = None
        try:
            user = await ws.users.get(origin.user_id)
            locale = user.locale
            event = translate.action_event(body, action, context=_context(user))
            self._origins.put(event.event_id, origin)
            replies = await self.core.handle(event)
        except Exception:
            log.exception("button %s failed", action.get("action_id"))
            replies = [Reply(text=t(FAILED, locale), purpose="error", kind=ReplyKind.EPHEMERAL)]
        action_id = str(action.get("action_id") or "")
        thanks = next((r.text for r in replies if r.purpose == "ack"), None)
        if action_id in (FEEDBACK_UP, FEEDBACK_DOWN) and thanks is not None and (
            await self._feedback_noted(ws, body, origin, action_id, thanks)
        ):
            replies = [r for r in replies if r.purpose != "ack"]
        await ws.deliverer.deliver(origin, replies)

    async def _feedback_noted(self, ws: Workspace, body: BlockActionsPayload, origin: Origin,
                              action_id: str, thanks: str) -> bool:
        """Replace the pressed 👍/👎 row of an answer with a note of the choice (chat.update).
        False when that is not possible (ephemeral message, no row, Slack refused): the core's
        own "thanks" then goes out as an ephemeral reply instead."""
        message = body.get("message") or {}
        payload = feedback_acknowledged(message, action_id, thanks)
        if payload is None or origin.ephemeral_container or not origin.channel_id:
            return False
        try:
            await ws.client.chat_update(channel=origin.channel_id, ts=str(message["ts"]),
                                          **payload)
        except (SlackApiError, SlackClientError, KeyError) as exc:
            log.info("could not mark feedback on %s: %s", message.get("ts"), exc)
            return False
        return True

    async def _suggest(self, set_suggested_prompts: Callable[..., Awaitable[Any]]) -> None:
        await _quietly(set_suggested_prompts(prompts=list(self.options.suggested_prompts),
                                             title="Try one of these:"))

    async def _profile_changed(self, team_id: str, user_id: str) -> None:
        ws = await self.workspaces.get(team_id)
        if ws is not None:
            ws.users.forget(user_id)

    async def _uninstalled(self, team_id: str) -> int:
        """The workspace removed the app: its installation and tokens are deleted at once
        (Bolt's revocation handler, on our store); with ``forget_on_leave`` everything known
        about its people goes too (returns how many). See docs/slack.md ("Uninstalling")."""
        self.workspaces.evict(team_id)
        if self.installations is not None:
            try:
                await self.installations.async_delete_all(enterprise_id=None, team_id=team_id)
            except Exception:
                # The database away: the people's erasure below must not be lost with it
                # (the core keeps it for later); the tokens are revoked by Slack already.
                log.exception("Slack workspace %s: its installation could not be deleted; "
                              "tried again later", team_id)
                # time.time(): the clock slack_sdk stamps an installation's installed_at
                # with, which the retry compares this with (not the core's, a test's)
                self._delete_installation_later(team_id, uninstalled_at=time.time())
        log.warning("Slack workspace %s uninstalled the app", team_id)
        if not self.settings.forget_on_leave:
            return 0
        removed = await self.core.forget_workspace(translate.PLATFORM, team_id)
        log.warning("forgot %d people of Slack workspace %s", removed, team_id)
        return removed

    def _delete_installation_later(self, team_id: str, *, uninstalled_at: float) -> None:
        task = asyncio.create_task(self._delete_installation(team_id, uninstalled_at))
        self._deletions.add(task)
        task.add_done_callback(self._deletions.discard)

    async def _delete_installation(self, team_id: str, uninstalled_at: float) -> None:
        """An uninstalled workspace's installation rows (its revoked tokens, its team's
        name), whose deletion met the database away: tried again after a minute, doubling up
        to an hour, until it is done — Slack sends ``app_uninstalled`` once. A workspace that
        installed the app again meanwhile keeps its new installation."""
        store = self.installations
        assert store is not None
        for delay in backoff():
            await self.options.sleep(delay)
            try:
                again = await store.async_find_bot(enterprise_id=None, team_id=team_id)
                if again is not None and again.installed_at > uninstalled_at:
                    log.info("Slack workspace %s installed the app again: its new "
                             "installation kept", team_id)
                    return
                await store.async_delete_all(enterprise_id=None, team_id=team_id)
            except Exception:
                log.exception("Slack workspace %s: its installation could not be deleted; "
                              "tried again later", team_id)
                continue
            log.warning("Slack workspace %s: the installation of the app it uninstalled is "
                        "deleted", team_id)
            return

    async def _tokens_revoked(self, team_id: str, event: TokensRevokedEventPayload) -> None:
        self.workspaces.evict(team_id)
        if self.installations is None:
            log.warning("Slack tokens revoked for %s (single-token mode: set a new "
                        "SLACK_BOT_TOKEN)", team_id)
            return
        tokens = event.get("tokens") or {}
        for user_id in tokens.get("oauth") or []:
            await self.installations.async_delete_installation(
                enterprise_id=None, team_id=team_id, user_id=str(user_id))
        if tokens.get("bot"):
            await self.installations.async_delete_bot(enterprise_id=None, team_id=team_id)
        log.warning("Slack tokens revoked in workspace %s", team_id)

    async def _forget(self, ref: PersonRef) -> None:
        if await self.core.forget_ref(ref):
            log.info("forgot Slack user %s/%s after account removal", ref.workspace, ref.user_id)

    # Small memories -----------------------------------------------------------------------------
    def _remember_text(self, body: EventEnvelope, event: MessageEventPayload,
                       bot: BotIdentity) -> None:
        """Keep a recent message's text for reactions to it; an edit replaces it and a
        deletion drops it, so a reaction never learns from words their author took back."""
        subtype = event.get("subtype")
        channel = str(event.get("channel"))
        if subtype == "message_deleted":
            self._texts.pop((channel, str(event.get("deleted_ts"))))
            return
        if subtype == "message_changed":
            edited = event.get("message")
            if isinstance(edited, dict) and self._texts.get(
                (channel, str(edited.get("ts")))
            ) is not None:
                self._keep_text(body, channel, edited, bot)
            return
        if subtype in translate.ACCEPTED_SUBTYPES and event.get("ts"):
            self._keep_text(body, channel, event, bot)

    def _keep_text(self, body: EventEnvelope, channel: str, message: Any,
                   bot: BotIdentity) -> None:
        text = markup.normalise(str(message.get("text") or ""), bot_user_id=bot.user_id)
        key = (channel, str(message.get("ts")))
        if not text:
            self._texts.pop(key)
            return
        self._texts.put(
            key, RecentText(translate.team_of(body), str(message.get("user")), text[:4000]))

    def _remember_channel(self, event: MessageEventPayload) -> None:
        channel_type = event.get("channel_type")
        if channel_type and event.get("channel"):
            self._channel_types.put(event["channel"], channel_type)

    def _is_private(self, event: MessageEventPayload) -> bool:
        """Whether the conversation is not public. ``app_mention`` payloads do not say, so
        the type seen on the channel's message events is used; unknown counts as private,
        so nothing from a private channel can leak into workspace-wide aggregates."""
        channel_type = event.get("channel_type") or self._channel_types.get(event.get("channel"))
        return translate.is_private(channel_type)

    # Outbox (bot/outbox.py) ----------------------------------------------------------------------
    def _open_outbox(self) -> None:
        """Replies to replayed events and scheduled digests leave through this outbox."""
        self.core.services.open_outbox(self.outbox)

    async def reply_to_event(self, event: AnyEvent, replies: list[Reply]) -> None:
        """Replies to Slack events replayed after a database outage come back through here."""
        origin = self._origins.get(event.event_id) or Origin(
            team_id=event.person.workspace, user_id=event.person.user_id,
            channel_id=event.channel_id or None,
        )
        ws = await self.workspaces.get(origin.team_id)
        if ws is not None:
            await ws.deliverer.deliver(origin, replies)

    async def send_to_person(self, person: Person, replies: list[Reply]) -> None:
        """Scheduled messages (digests): into the person's DM with the bot."""
        origin = Origin(team_id=person.workspace, user_id=person.user_id, channel_id=None)
        ws = await self.workspaces.get(origin.team_id)
        if ws is None:
            log.info("not delivering to %s: workspace not installed", person.workspace)
            return
        await ws.deliverer.deliver(origin, replies)


def _bot(context: dict[str, Any]) -> BotIdentity:
    return BotIdentity(user_id=context.get("bot_user_id"), bot_id=context.get("bot_id"))


def _context(user: SlackUser) -> PlatformContext:
    return PlatformContext(timezone=user.timezone, locale=user.locale, admin=user.is_admin)


async def _quietly(call: Awaitable[Any]) -> None:
    """Assistant status and prompts are cosmetic: a workspace without the assistant surface
    (or a DM thread that is not an assistant thread) answers with an error we can ignore."""
    try:
        await call
    except (SlackApiError, SlackClientError) as exc:
        log.debug("assistant call failed: %s", exc)
