"""A real local HTTP server that speaks enough of the Slack Web API (and Socket Mode) for the
Slack adapter to be tested through the real ``slack_sdk`` client and ``slack_bolt`` app.

Why a server and not mocks: slack_sdk owns request encoding (JSON vs form vs query), auth
headers, 429 retry handling, file upload v2's three steps and the Socket Mode WebSocket
protocol. Mocking it would test our assumptions about slack_sdk instead of slack_sdk. Here
every call goes over a socket on 127.0.0.1 and is recorded, so tests assert on what Slack
would have received.

Usage::

    async with FakeSlackAPI() as slack:
        slack.add_user("U1", "Ada", tz="Europe/Paris", locale="fr-FR")
        slack.fail_next("chat.postMessage", status=429)      # once, then normal answers
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        ...
        [post] = slack.calls_to("chat.postMessage")
        assert post.params["channel"] == "D1"

Distribution ("Add to Slack"): :meth:`FakeSlackAPI.authorize` plays the person who approves
the install in the browser and returns the ``code`` Slack would put on the redirect;
``oauth.v2.access`` exchanges it (once, with the right client id and secret) for a bot token of
that workspace. Every token belongs to one workspace: ``auth.test`` answers for it, and
:meth:`FakeSlackAPI.revoke` makes Slack refuse it from then on (``token_revoked``);
:meth:`FakeSlackAPI.uninstall` as Slack refuses a removed app's bot token
(``account_inactive``); ``refused`` maps any other token to the error every call with it gets
(``invalid_auth`` for a token Slack never issued).

Users belong to a workspace (``team_id``): ``users.list`` lists those of the token's
workspace, in pages (``limit``, ``cursor``, as Slack's opaque base64 cursors; ``page_size``
makes pages smaller than asked, as Slack may), deleted accounts included with ``"deleted":
true``; ``users.info`` answers ``user_not_found`` for anyone else.

Slack's message limits are enforced as Slack does (see :data:`TEXT_LIMIT` and below): a message's
``text`` past 40,000 characters is truncated with a ``message_truncated`` warning, more than 50
blocks or a section text past 3,000 characters is refused with ``invalid_blocks``, and the
streaming methods refuse a ``markdown_text`` past 12,000 characters. A streamed message is
"in streaming state" from ``chat.startStream`` to ``chat.stopStream``; appending to or stopping
it afterwards is refused.

Endpoints: ``/api/<method>`` (Web API), ``/upload/<file id>`` (file upload URLs),
``/response/<name>`` (slash command and button ``response_url``s), ``/socket`` (Socket Mode
WebSocket; ``apps.connections.open`` points there).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0APP"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"

# Slack's limits on what a message may carry.
# "Slack will truncate messages containing more than 40,000 characters", answering with the
# warning ``message_truncated`` (https://api.slack.com/changelog/2018-04-truncating-really-long-
# messages; chat.postMessage, "Truncating content").
TEXT_LIMIT = 40_000
# "You can include up to 50 blocks in each message" (https://docs.slack.dev/reference/block-kit/
# blocks); a section's text: "Maximum length for the text in this field is 3000 characters"
# (https://docs.slack.dev/reference/block-kit/blocks/section-block). Either refused with
# ``invalid_blocks`` ("Blocks submitted with this message are not valid").
BLOCKS_LIMIT = 50
SECTION_TEXT_LIMIT = 3000
# chat.startStream / appendStream / stopStream: ``markdown_text`` "Limit this field to 12,000
# characters" (https://docs.slack.dev/reference/methods/chat.appendStream); refused with
# ``msg_too_long``, chat.postMessage's error for text that is too long.
MARKDOWN_TEXT_LIMIT = 12_000

# Form/query values that Slack methods take as JSON-encoded strings.
_JSON_FIELDS = ("blocks", "files", "prompts", "attachments", "chunks", "metadata")


@dataclass(slots=True)
class Call:
    """One request as the server received it. ``params`` merges query string, form fields and
    JSON body (JSON-encoded form fields such as ``blocks`` are decoded)."""

    method: str
    params: dict[str, Any]
    token: str | None
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: int | None
    error: str | None
    page: str | None = None
    page_type: str = "text/html"
    drop: bool = False
    after: int = 0  # calls answered normally first


class FakeSlackAPI:
    """Start with ``async with``; every instance listens on its own ephemeral port."""

    def __init__(
        self, *, team_id: str = TEAM_ID, bot_user_id: str = BOT_USER_ID, bot_id: str = BOT_ID,
        streaming: bool = True,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.streaming = streaming
        # Workspaces whose tokens are refused the streaming methods (streaming=False: all)
        self.streaming_refused_teams: set[str] = set()
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.uploads: dict[str, bytes] = {}
        self.acks: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}  # user id → their published Home tab
        # (channel, ts) of streamed messages not stopped yet ("in streaming state")
        self.streams_open: set[tuple[str, str]] = set()
        # token → workspace it was issued for; codes waiting for oauth.v2.access
        self.tokens: dict[str, str] = {}
        self.revoked: set[str] = set()
        self.refused: dict[str, str] = {}  # token → the error every call with it gets
        self.page_size: int | None = None  # users.list pages at most this long, whatever asked
        # Scopes granted to the bot token, sent as Slack does in every Web API response's
        # X-OAuth-Scopes header; None sends no header.
        self.granted_scopes: list[str] | None = None
        self._codes: dict[str, dict[str, Any]] = {}
        self._tokens_issued = itertools.count(1)
        self._failures: dict[str, list[_Failure]] = defaultdict(list)
        self._before: dict[str, list[Callable[[], Awaitable[object]]]] = defaultdict(list)
        self._url_uses: dict[str, int] = defaultdict(int)
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._ack_events: dict[str, asyncio.Event] = {}
        self._connected = asyncio.Event()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> FakeSlackAPI:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # Scripting ---------------------------------------------------------------------------------
    def add_user(
        self, user_id: str, name: str, *, tz: str | None = "UTC", locale: str | None = "en-US",
        is_bot: bool = False, deleted: bool = False, is_admin: bool = False,
        is_owner: bool = False,
    ) -> dict[str, Any]:
        user = {
            "id": user_id, "team_id": self.team_id, "name": name.lower(), "real_name": name,
            "deleted": deleted, "is_bot": is_bot, "tz": tz, "locale": locale,
            "is_admin": is_admin, "is_owner": is_owner,
            "profile": {"display_name": name, "real_name": name},
        }
        self.users[user_id] = user
        return user

    def fail_next(
        self, method: str, *, status: int = 429, retry_after: int | None = 0,
        error: str | None = None, page: str | None = None, page_type: str = "text/html",
        drop: bool = False, after: int = 0,
    ) -> None:
        """The next call to ``method`` fails once: an HTTP ``status`` (429 carries
        ``Retry-After``), or with ``status=200`` an ``{"ok": false, "error": error}`` body.
        With ``page``, the answer is that text as ``page_type`` instead, as from something
        in front of Slack that does not speak its Web API (a proxy's error page); with
        ``drop``, the connection closes with no answer at all (a network failure). ``after``:
        that many calls to ``method`` are answered normally first (a later page). Failures
        queued for one method come one after the other."""
        self._failures[method].append(
            _Failure(status, retry_after, error, page, page_type, drop, after))

    def recover(self) -> None:
        """Failures still queued are dropped: Slack answers normally again."""
        self._failures.clear()

    def before_next(self, method: str, happening: Callable[[], Awaitable[object]]) -> None:
        """The next call to ``method`` is answered only once ``happening()`` is done:
        something that happens at Slack while the call is under way (e.g. a reinstall)."""
        self._before[method].append(happening)

    def seed_message(
        self, channel: str, *, user: str | None, text: str, thread_ts: str | None = None,
        bot_id: str | None = None, ts: str | None = None,
    ) -> str:
        """A message that exists in Slack already (e.g. a thread parent)."""
        ts = ts or self._next_ts()
        message = {"type": "message", "ts": ts, "text": text}
        if user:
            message["user"] = user
        if bot_id:
            message["bot_id"] = bot_id
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages[channel].append(message)
        return ts

    def authorize(
        self, team_id: str, *, team_name: str = "Team", installer: str = "U0ADMIN",
        bot_user_id: str | None = None, bot_id: str | None = None,
    ) -> str:
        """Someone in ``team_id`` approved the install: the ``code`` for the redirect."""
        code = f"code-{uuid.uuid4().hex[:12]}"
        self._codes[code] = {
            "team_id": team_id, "team_name": team_name, "installer": installer,
            "bot_user_id": bot_user_id or f"UBOT{team_id}", "bot_id": bot_id or f"B{team_id}",
        }
        return code

    def revoke(self, team_id: str) -> None:
        """The workspace's tokens stop working (uninstall, revocation)."""
        self.revoked.update(t for t, team in self.tokens.items() if team == team_id)

    def uninstall(self, team_id: str) -> None:
        """The workspace removed the app: Slack answers its bot tokens ``account_inactive``
        ("Authentication token is for a deleted user or workspace when using a bot token")."""
        for token, team in self.tokens.items():
            if team == team_id:
                self.refused[token] = "account_inactive"

    def token_of(self, team_id: str) -> str | None:
        return next((t for t, team in self.tokens.items() if team == team_id), None)

    # Reading back ------------------------------------------------------------------------------
    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    @property
    def connections(self) -> int:
        """Open Socket Mode WebSockets."""
        return len(self._sockets)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages[channel] if m["ts"] == ts), None)

    async def wait_until(self, check: Callable[[], bool]) -> None:
        """Wait (at most 5 s) until ``check()`` holds; re-checked after every request the
        server records and every WebSocket change. For code under test the test cannot
        drain (e.g. ``runner.serve``)."""
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(check)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # Socket Mode -------------------------------------------------------------------------------
    async def wait_connected(self) -> None:
        async with asyncio.timeout(5):
            await self._connected.wait()

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> dict[str, Any]:
        """Push one Socket Mode envelope (``events_api``, ``slash_commands``, ``interactive``)
        to the connected client and wait for its acknowledgement, which is returned."""
        await self.wait_connected()
        envelope_id = str(uuid.uuid4())
        self._ack_events[envelope_id] = asyncio.Event()
        envelope = {
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        async with asyncio.timeout(5):
            await self._ack_events[envelope_id].wait()
        return self.acks[envelope_id]

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({
            "type": "hello", "num_connections": len(self._sockets),
            "connection_info": {"app_id": APP_ID}, "debug_info": {"host": "fake"},
        }))
        self._connected.set()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                envelope_id = data.get("envelope_id")
                if envelope_id:
                    self.acks[envelope_id] = data
                    self._ack_events.setdefault(envelope_id, asyncio.Event()).set()
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._connected.clear()
            await self._notify()
        return ws

    # HTTP handlers -----------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> tuple[dict[str, Any], bytes]:
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        content_type = request.content_type
        if content_type == "application/json" and body:
            params.update(json.loads(body))
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_FIELDS:
            value = params.get(key)
            if isinstance(value, str) and value[:1] in "[{":
                params[key] = json.loads(value)
        return params, body

    @staticmethod
    def _token(request: web.Request, params: dict[str, Any]) -> str | None:
        auth = request.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, body = await self._params(request)
        call = Call(method, params, self._token(request, params), body=body,
                    headers=dict(request.headers))
        self.calls.append(call)
        try:
            if self._before.get(method):
                await self._before[method].pop(0)()
            failures = self._failures.get(method)
            if failures and failures[0].drop and not failures[0].after:
                failures.pop(0)
                call.status = 0
                if request.transport is not None:
                    request.transport.close()
                raise asyncio.CancelledError  # aiohttp's way out for a connection gone
            return self._answer(method, params, request, call)
        finally:
            await self._notify()

    def _answer(
        self, method: str, params: dict[str, Any], request: web.Request, call: Call
    ) -> web.Response:
        if call.token in self.revoked:
            call.status = 299
            return web.json_response({"ok": False, "error": "token_revoked"})
        if call.token in self.refused:
            call.status = 299
            return web.json_response({"ok": False, "error": self.refused[call.token]})
        failures = self._failures.get(method)
        if failures and failures[0].after:
            failures[0].after -= 1
        elif failures:
            failure = failures.pop(0)
            call.status = failure.status
            if failure.page is not None:
                return web.Response(status=failure.status, text=failure.page,
                                    content_type=failure.page_type)
            headers = {}
            if failure.status == 429 and failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            if failure.status == 200:
                call.status = 299  # recorded as failed, still HTTP 200 on the wire
                return web.json_response({"ok": False, "error": failure.error or "fatal_error"})
            return web.json_response({"ok": False, "error": failure.error or "ratelimited"},
                                     status=failure.status, headers=headers)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        result = handler(params, request)
        if not result.get("ok", True):
            call.status = 299
        headers = {}
        if self.granted_scopes is not None:
            headers["X-OAuth-Scopes"] = ",".join(self.granted_scopes)
        return web.json_response({"ok": True, **result}, headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        body = await request.read()
        self.uploads[file_id] = body
        self.calls.append(Call("upload", {"file_id": file_id}, None, body=body))
        await self._notify()
        return web.Response(text=f"OK - {len(body)}")

    async def _response_url(self, request: web.Request) -> web.Response:
        """As Slack: five posts per URL; the sixth is refused (404 ``used_url``)."""
        params, body = await self._params(request)
        name = request.match_info["name"]
        self._url_uses[name] += 1
        if self._url_uses[name] > 5:
            return web.Response(status=404, text="used_url")
        params["response_url"] = name
        self.calls.append(Call("response_url", params, None, body=body))
        await self._notify()
        return web.Response(text="ok")

    # Web API methods ---------------------------------------------------------------------------
    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _bot_message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message = {
            "type": "message", "ts": ts, "user": self.bot_user_id, "bot_id": self.bot_id,
            "text": params.get("text") or params.get("markdown_text") or "",
        }
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        return message

    def _m_auth_test(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        team = self.tokens.get(str(self._token(request, params)))
        if team is not None:
            return {"url": "https://fake.slack.test/", "team": team, "user": "tailorbot",
                    "team_id": team, "user_id": f"UBOT{team}", "bot_id": f"B{team}",
                    "is_enterprise_install": False}
        return {"url": "https://fake.slack.test/", "team": "Fake", "user": "tailorbot",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _m_oauth_v2_access(self, params: dict[str, Any], request: web.Request
                           ) -> dict[str, Any]:
        """Code → bot token, as Slack does at the end of an install (client credentials come
        as HTTP Basic auth or form fields; a code works once)."""
        client_id, secret = params.get("client_id"), params.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return {"ok": False, "error": "invalid_client_id"}
        grant = self._codes.pop(str(params.get("code")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxb-{grant['team_id']}-{next(self._tokens_issued)}-{uuid.uuid4().hex}"
        self.tokens[token] = grant["team_id"]
        return {
            "app_id": APP_ID, "authed_user": {"id": grant["installer"]},
            "scope": "chat:write,commands", "token_type": "bot", "access_token": token,
            "bot_user_id": grant["bot_user_id"],
            "team": {"id": grant["team_id"], "name": grant["team_name"]},
            "enterprise": None, "is_enterprise_install": False,
        }

    @staticmethod
    def _refused_blocks(params: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's refusal of blocks it does not take (:data:`BLOCKS_LIMIT`,
        :data:`SECTION_TEXT_LIMIT`), or None."""
        blocks = params.get("blocks") or []
        too_long = [b for b in blocks if b.get("type") == "section"
                    and len((b.get("text") or {}).get("text", "")) > SECTION_TEXT_LIMIT]
        if len(blocks) > BLOCKS_LIMIT or too_long:
            return {"ok": False, "error": "invalid_blocks"}
        return None

    @staticmethod
    def _truncated(params: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        """``params``' text cut as Slack cuts it (:data:`TEXT_LIMIT`), with Slack's warning in
        ``answer`` when it was."""
        text = params.get("text")
        if isinstance(text, str) and len(text) > TEXT_LIMIT:
            params = dict(params, text=text[:TEXT_LIMIT])
            answer["response_metadata"] = {"warnings": ["message_truncated"], "messages": [
                "[WARN] Your message was truncated but still posted. The `text` field accepts "
                "up to 40,000 characters."]}
        return params

    @staticmethod
    def _markdown_too_long(params: dict[str, Any]) -> dict[str, Any] | None:
        if len(params.get("markdown_text") or "") > MARKDOWN_TEXT_LIMIT:
            return {"ok": False, "error": "msg_too_long"}
        return None

    def _m_chat_postMessage(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        refused = self._refused_blocks(params)
        if refused is not None:
            return refused
        answer: dict[str, Any] = {"channel": params["channel"]}
        params = self._truncated(params, answer)
        ts = self._next_ts()
        message = self._bot_message(params, ts)
        self.messages[params["channel"]].append(message)
        return {**answer, "ts": ts, "message": message}

    def _m_chat_update(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        message = self.message(params["channel"], params["ts"])
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        refused = self._refused_blocks(params)
        if refused is not None:
            return refused
        answer: dict[str, Any] = {"channel": params["channel"], "ts": params["ts"]}
        params = self._truncated(params, answer)
        message["text"] = params.get("text", message["text"])
        if "blocks" in params:
            message["blocks"] = params["blocks"]
        return {**answer, "text": message["text"]}

    def _m_chat_delete(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/chat.delete: a bot token deletes the bot's
        own messages."""
        message = self.message(params["channel"], params["ts"])
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        self.messages[params["channel"]].remove(message)
        self.streams_open.discard((params["channel"], params["ts"]))
        return {"channel": params["channel"], "ts": params["ts"]}

    def _m_chat_postEphemeral(self, params: dict[str, Any], request: web.Request
                              ) -> dict[str, Any]:
        refused = self._refused_blocks(params)
        if refused is not None:
            return refused
        answer: dict[str, Any] = {}
        self._truncated(params, answer)
        return {**answer, "message_ts": self._next_ts()}

    def _m_chat_startStream(self, params: dict[str, Any], request: web.Request
                            ) -> dict[str, Any]:
        team = self.tokens.get(self._token(request, params) or "")
        if not self.streaming or team in self.streaming_refused_teams:
            return {"ok": False, "error": "unknown_method"}
        refused = self._markdown_too_long(params)
        if refused is not None:
            return refused
        ts = self._next_ts()
        message = self._bot_message(params, ts)
        message["text"] = params.get("markdown_text") or ""
        self.messages[params["channel"]].append(message)
        self.streams_open.add((params["channel"], ts))
        return {"channel": params["channel"], "ts": ts}

    def _stream_refusal(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's refusal of a call to a stream: ``message_not_found``, or
        ``message_not_in_streaming_state`` once it was stopped (Slack's SDKs' stream helpers
        refuse to append after ``stop`` for that reason), or a ``markdown_text`` too long."""
        if self.message(params["channel"], params["ts"]) is None:
            return {"ok": False, "error": "message_not_found"}
        if (params["channel"], params["ts"]) not in self.streams_open:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        return self._markdown_too_long(params)

    def _m_chat_appendStream(self, params: dict[str, Any], request: web.Request
                             ) -> dict[str, Any]:
        refused = self._stream_refusal(params)
        if refused is not None:
            return refused
        message = self.message(params["channel"], params["ts"])
        assert message is not None
        message["text"] += params.get("markdown_text") or ""
        return {"channel": params["channel"], "ts": params["ts"]}

    def _m_chat_stopStream(self, params: dict[str, Any], request: web.Request
                           ) -> dict[str, Any]:
        refused = self._stream_refusal(params) or self._refused_blocks(params)
        if refused is not None:
            return refused
        message = self.message(params["channel"], params["ts"])
        assert message is not None
        for chunk in params.get("chunks") or []:
            message["text"] += chunk.get("text", "")
        message["text"] += params.get("markdown_text") or ""
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        self.streams_open.discard((params["channel"], params["ts"]))
        return {"channel": params["channel"], "ts": params["ts"]}

    def _m_conversations_open(self, params: dict[str, Any], request: web.Request
                              ) -> dict[str, Any]:
        users = str(params.get("users", ""))
        return {"channel": {"id": "D" + users.split(",")[0].removeprefix("U")}}

    def _m_conversations_replies(self, params: dict[str, Any], request: web.Request
                                 ) -> dict[str, Any]:
        channel, ts = params.get("channel", ""), params.get("ts")
        thread = [m for m in self.messages[channel]
                  if m["ts"] == ts or m.get("thread_ts") == ts]
        thread.sort(key=lambda m: m["ts"])
        # pages of ``limit`` as Slack gives them, the cursor being the next offset
        limit = int(params.get("limit") or 1000)
        start = int(params.get("cursor") or 0)
        page, rest = thread[start:start + limit], thread[start + limit:]
        more = {"next_cursor": str(start + limit)} if rest else {"next_cursor": ""}
        return {"messages": page, "has_more": bool(rest), "response_metadata": more}

    def _team(self, request: web.Request, params: dict[str, Any]) -> str:
        """The workspace a call's token speaks for."""
        return self.tokens.get(str(self._token(request, params)), self.team_id)

    @staticmethod
    def _shown(user: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        shown = dict(user)
        if str(params.get("include_locale")).lower() not in ("true", "1"):
            shown.pop("locale", None)
        return shown

    def _m_users_info(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None or user.get("team_id", self.team_id) != self._team(request, params):
            return {"ok": False, "error": "user_not_found"}
        return {"user": self._shown(user, params)}

    def _m_users_list(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        """The workspace's members, deleted ones too, in pages: ``limit`` (0 or absent:
        all), a cursor naming the next member as Slack's do (base64 of ``user:<id>``)."""
        team = self._team(request, params)
        members = sorted((u for u in self.users.values() if u.get("team_id") == team),
                         key=lambda u: str(u["id"]))
        start = 0
        cursor = str(params.get("cursor") or "")
        if cursor:
            try:
                named = base64.b64decode(cursor, validate=True).decode().removeprefix("user:")
            except (binascii.Error, UnicodeDecodeError):
                return {"ok": False, "error": "invalid_cursor"}
            ids = [str(u["id"]) for u in members]
            if named not in ids:
                return {"ok": False, "error": "invalid_cursor"}
            start = ids.index(named)
        limit = int(params.get("limit") or 0) or len(members)
        if self.page_size is not None:
            limit = min(limit, self.page_size)
        page = members[start:start + limit]
        rest = members[start + limit:]
        following = (base64.b64encode(f"user:{rest[0]['id']}".encode()).decode()
                     if rest else "")
        return {"members": [self._shown(u, params) for u in page], "cache_ts": int(time.time()),
                "response_metadata": {"next_cursor": following}}

    def _m_files_getUploadURLExternal(self, params: dict[str, Any], request: web.Request
                                      ) -> dict[str, Any]:
        file_id = f"F{next(self._files):04d}"
        return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
                "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any], request: web.Request
                                        ) -> dict[str, Any]:
        files = params.get("files") or []
        return {"files": [{"id": f["id"], "title": f.get("title"), "name": f.get("title")}
                          for f in files]}

    def _m_assistant_threads_setStatus(self, params: dict[str, Any], request: web.Request
                                       ) -> dict[str, Any]:
        return {}

    def _m_assistant_threads_setSuggestedPrompts(self, params: dict[str, Any],
                                                 request: web.Request) -> dict[str, Any]:
        return {}

    def _m_assistant_threads_setTitle(self, params: dict[str, Any], request: web.Request
                                      ) -> dict[str, Any]:
        return {}

    def _m_views_publish(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        self.views[str(params.get("user_id"))] = view
        return {"view": {"id": f"V{len(self.views)}", **(view or {})}}

    def _m_apps_connections_open(self, params: dict[str, Any], request: web.Request
                                 ) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/socket"}
