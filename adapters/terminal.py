"""Terminal adapter: a console backend in Errbot's spirit, going through the same core.

Interactive (stdin is a TTY): a rich prompt; the model's answers are rendered as Markdown;
buttons become a numbered choice (type the number; anything else you type is an ordinary
line, so ``/forget confirm`` works as written) and ``/react 👍`` reacts to the bot's last
reply. Scripted (stdin is not a TTY): one input line in, exactly one output line out, nothing
asked. Several replies to one line are joined with a tab and newlines inside a reply are
written as ``\\n``, so the mapping stays line for line; ``--jsonl`` prints one JSON array of
replies per line instead. ``/export`` files go to the data directory (``bot.exports``), never
the working directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.markup import escape
from rich.prompt import Prompt
from rich.text import Text

from bot.core import Core
from bot.events import (
    ActionEvent,
    AnyEvent,
    Button,
    MessageEvent,
    PersonRef,
    PlatformContext,
    ReactionEvent,
    Reply,
    Surface,
)
from bot.exports import save_export
from bot.i18n import N_, t
from bot.locale_lookup import stored_locale
from bot.reaction_notes import NOT_AN_EMOJI, REACT_USAGE, reaction_note, typed_reaction
from profiles.engine import PersonKey
from profiles.models import Person

PLATFORM = "terminal"
WORKSPACE = "local"
QUIT_WORDS = {"/quit", "/exit", ":q"}
# Replies whose text is the model's (CommonMark) are rendered as Markdown; the bot's own texts
# are plain, and may hold values such as ``<key>`` or ``c_sharp`` that Markdown would eat.
MARKDOWN_PURPOSES = frozenset({"chat", "recommendation", "digest", "profile_summary"})
NOTHING_TO_REACT = N_("Nothing to react to yet.")

log = logging.getLogger(__name__)


def system_timezone() -> str | None:
    """The machine's IANA zone when it can be named (TZ, /etc/timezone), else None."""
    candidates = [os.environ.get("TZ", "")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        name = name.lstrip(":")
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return None


@dataclass
class TerminalSession:
    """Turns lines into events and replies into text; holds only what a console needs."""

    core: Core
    user: str
    last_reply_id: str | None = None
    # The language of the console's own notes: the person's setting, then that of the
    # latest reply (the core words each reply in it).
    locale: str | None = None
    context: PlatformContext = field(
        default_factory=lambda: PlatformContext(
            timezone=system_timezone(), device="terminal", locale=None
        )
    )

    @property
    def person(self) -> PersonRef:
        return PersonRef(PLATFORM, WORKSPACE, self.user, self.user)

    def _id(self) -> str:
        return uuid.uuid4().hex

    def event_for_line(self, line: str) -> AnyEvent | str:
        """An event for the core, or the console's own answer (translated) to a ``/react``
        that cannot become a reaction: ``/react <emoji>`` is terminal-only syntax for a
        reaction on the last reply."""
        words = line.split(maxsplit=1)
        if words and words[0] == "/react":
            typed = words[1].strip() if len(words) > 1 else ""
            if not typed:
                return t(REACT_USAGE, self.locale)
            emoji = typed_reaction(typed)
            if emoji is None:
                shown = typed if len(typed) <= 40 else typed[:39] + "…"
                return t(NOT_AN_EMOJI, self.locale, text=shown)
            if self.last_reply_id is None:
                return t(NOTHING_TO_REACT, self.locale)
            return ReactionEvent(
                event_id=self._id(),
                person=self.person,
                channel_id="terminal",
                target_message_id=self.last_reply_id,
                emoji=emoji,
                context=self.context,
            )
        return MessageEvent(
            event_id=self._id(),
            person=self.person,
            channel_id="terminal",
            text=line,
            surface=Surface.DM,
            message_id=self._id(),
            context=self.context,
        )

    def action(self, action_id: str, value: str = "") -> ActionEvent:
        return ActionEvent(
            event_id=self._id(),
            person=self.person,
            channel_id="terminal",
            action_id=action_id,
            value=value,
            context=self.context,
        )

    async def send(
        self, event: AnyEvent, on_partial: Callable[[str], Awaitable[None]] | None = None
    ) -> list[Reply]:
        replies = await self.core.handle(event, on_partial=on_partial)
        for reply in replies:
            if reply.reply_id:
                # The terminal has no message ids of its own: the core's id is the platform id.
                await self.core.bind_reply(reply.reply_id, reply.reply_id)
                self.last_reply_id = reply.reply_id
            self.locale = reply.locale or self.locale
        return replies

    async def find_locale(self) -> str:
        """The person's language setting, looked up (never creating them)."""
        key = PersonKey(PLATFORM, WORKSPACE, self.user)
        self.locale = await stored_locale(self.core.services, key, self.context.locale)
        return self.locale

    def save_attachment(self, reply: Reply) -> Path | None:
        if reply.attachment is None:
            return None
        _, payload = reply.attachment
        return save_export(self.core.services.settings, PLATFORM, WORKSPACE, self.user, payload)


T = TypeVar("T")

async def off_loop(read: Callable[..., T], *args: object) -> T:
    """Wait for the person's input without blocking the event loop: while the prompt waits,
    `tailorbot run` keeps serving /readyz and /metrics and firing digests. A daemon thread
    (not the default executor) so leaving with Ctrl-C never waits for one more line."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def work() -> None:
        try:
            value = read(*args)
        except BaseException as exc:  # EOFError, KeyboardInterrupt: re-raised in the loop
            loop.call_soon_threadsafe(settle, functools.partial(future.set_exception, exc))
        else:
            loop.call_soon_threadsafe(settle, functools.partial(future.set_result, value))

    threading.Thread(target=work, name="terminal-input", daemon=True).start()
    return await future


def flatten(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "").replace("\n", "\\n")


async def run_scripted(
    session: TerminalSession,
    stdin: TextIO,
    stdout: TextIO,
    *,
    jsonl: bool = False,
    stderr: TextIO | None = None,
) -> int:
    """Line in, line out. Returns the number of lines handled."""
    stderr = stderr or sys.stderr
    handled = 0
    while raw := await off_loop(stdin.readline):
        line = raw.rstrip("\n")
        if line.strip() in QUIT_WORDS:
            break
        event = session.event_for_line(line)
        if isinstance(event, str):
            replies = [Reply(text=event, purpose="error")]
        else:
            replies = await session.send(event) or _acknowledge(event, session.locale)
        texts: list[str] = []
        records: list[dict[str, object]] = []
        for reply in replies:
            if reply.purpose == "consent_notice":
                print(
                    t("note: learning is off until consent is given (send '/consent grant' "
                      "or start with --consent)", reply.locale or session.locale),
                    file=stderr,
                )
                continue
            text = reply.text
            path = session.save_attachment(reply)
            if path is not None:
                text += " " + t("Saved to {path}.", reply.locale, path=str(path))
            texts.append(text)
            records.append(
                {
                    "text": text,
                    "kind": reply.kind.value,
                    "purpose": reply.purpose,
                    "buttons": [b.action_id for b in reply.buttons],
                    "reply_id": reply.reply_id,
                }
            )
        if jsonl:
            stdout.write(json.dumps(records, ensure_ascii=False) + "\n")
        else:
            stdout.write("\t".join(flatten(t) for t in texts) + "\n")
        stdout.flush()
        handled += 1
    return handled


async def run_interactive(
    session: TerminalSession,
    console: Console | None = None,
    ask: Callable[[str], str] | None = None,
) -> None:
    """Read lines until /quit or end of input. Buttons under a reply are listed as numbered
    choices; the next line picks one by its number, and any other line is handled as usual
    (so typing a command such as ``/forget confirm`` is never refused)."""
    console = console or Console()
    ask = ask or (lambda prompt: Prompt.ask(prompt, console=console))
    name = session.core.services.settings.bot_name
    console.print(t(
        "[bold]{name}[/bold] — talking as [cyan]{user}[/cyan]. /help for commands, /react 👍 "
        "to rate my last reply, /quit to leave.", await session.find_locale(),
        name=escape(name), user=escape(session.user)))
    choices: list[Button] = []
    while True:
        try:
            line = await off_loop(ask, f"[cyan]{escape(session.user)}[/cyan]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if line.strip() in QUIT_WORDS:
            return
        chosen = pick(choices, line)
        choices = []
        event: AnyEvent | str
        if chosen is not None:
            event = session.action(chosen.action_id, chosen.value)
        else:
            event = session.event_for_line(line)
        if isinstance(event, str):
            console.print(Text(event, style="dim"))
            continue
        with Live(console=console, transient=True, refresh_per_second=8) as live:

            async def show_partial(text: str) -> None:
                """Streamed model output appears as it arrives, then the final reply."""
                live.update(Text(f"{name} {text}", style="dim"))

            replies = await session.send(event, show_partial) or _acknowledge(event, session.locale)
        for reply in replies:
            body = renderable(reply)
            if isinstance(body, Markdown):
                console.print(Text(name, style="bold green"))
                console.print(body)
            else:
                console.print(Text.assemble((name, "bold green"), " ", body))
            path = session.save_attachment(reply)
            if path is not None:
                console.print(Text(t("Saved to {path} (only you can read it).", reply.locale,
                                     path=str(path)), style="dim"))
            if reply.buttons:
                first = len(choices) + 1
                choices.extend(reply.buttons)
                console.print(choice_line(reply.buttons, first, reply.locale))


def renderable(reply: Reply) -> Markdown | Text:
    if reply.purpose in MARKDOWN_PURPOSES:
        return Markdown(hard_breaks(reply.text))
    return Text(reply.text)


def hard_breaks(text: str) -> str:
    """Every line break kept, as Slack and Discord show them: in CommonMark a single newline
    only continues the paragraph, so a digest's bold heading and its first line (or a model's
    short lines) ran together on the console. Two trailing spaces make a hard break; lines in
    a fenced code block are left as they are."""
    lines = text.split("\n")
    fence: str | None = None
    for index, line in enumerate(lines[:-1]):
        marker = line.lstrip()[:3]
        if marker in ("```", "~~~"):
            fence = None if fence == marker else (fence or marker)
            continue
        if fence is None and line.strip() and lines[index + 1].strip():
            lines[index] = line.rstrip() + "  "
    return "\n".join(lines)


def choice_line(buttons: list[Button], first: int = 1, locale: str | None = None) -> Text:
    """``[1] Allow  [2] Not now  — type a number`` under the reply the buttons belong to."""
    line = Text()
    for number, button in enumerate(buttons, start=first):
        line.append(f"[{number}] ", style="bold cyan")
        line.append(button.label)
        line.append("  ")
    line.append(t("— type a number to choose", locale), style="dim")
    return line


def pick(choices: list[Button], line: str) -> Button | None:
    """The button a line chooses: its number (1-based) among the offered choices."""
    text = line.strip()
    if text.isdecimal() and 1 <= int(text) <= len(choices):  # not isdigit(): "²" is one
        return choices[int(text) - 1]
    return None


class TerminalOutbox:
    """The terminal's :class:`bot.outbox.Outbox`: what leaves outside a typed line's own answer
    (a scheduled digest for the person at the console, a reply to an event replayed after a
    database outage) is written into the running chat, one line per reply.

    Only the person at the console's: the outage journal lives beside the database file, which
    every terminal user of that file shares, so the session that drained it printed other
    people's replayed answers (and a digest due to another terminal user would have been
    printed here too). Their replayed answers are not shown (what they taught is kept all the
    same); their digest is refused, so the runner counts it failed and it comes back, rather
    than marked sent and lost."""

    platform = PLATFORM

    def __init__(
        self,
        stdout: TextIO,
        user: str | None = None,
        save: Callable[[Reply], Path | None] | None = None,
    ) -> None:
        """``save``: writes a reply's attachment (:meth:`TerminalSession.save_attachment`):
        an /export replayed after an outage said "here is everything" and saved nothing
        (input audit)."""
        self._stdout = stdout
        self._user = user
        self._save = save

    async def reply(self, event: AnyEvent, replies: list[Reply]) -> None:
        if self._mine(event.person.workspace, event.person.user_id):
            self._write(replies)

    async def send(self, person: Person, replies: list[Reply]) -> None:
        if not self._mine(person.workspace, person.user_id):
            raise LookupError(f"terminal user {person.user_id} is not at this console")
        self._write(replies)

    def _mine(self, workspace: str, user_id: str) -> bool:
        mine = self._user is None or (workspace, user_id) == (WORKSPACE, self._user)
        if not mine:
            log.info("not shown at %s's console: a reply for terminal user %s", self._user,
                     user_id)
        return mine

    def _write(self, replies: list[Reply]) -> None:
        for reply in replies:
            text = flatten(reply.text)
            try:
                path = self._save(reply) if self._save is not None else None
            except OSError:  # a full disk or a data directory it cannot write: said, not fatal
                log.exception("an attachment could not be saved")
                path = None
                text += " " + t("(The file could not be saved; send the command again.)",
                                reply.locale)
            if path is not None:
                text += " " + t("Saved to {path}.", reply.locale, path=str(path))
            self._stdout.write(text + "\n")
        self._stdout.flush()


def _acknowledge(event: AnyEvent, locale: str | None = None) -> list[Reply]:
    """Reactions produce no reply on chat platforms; a console should still say it heard."""
    if isinstance(event, ReactionEvent):
        return [Reply(text=t(reaction_note(event.emoji), locale, emoji=event.emoji),
                      purpose="ack", locale=locale)]
    return []


async def chat(
    core: Core,
    *,
    user: str,
    grant_consent: bool = False,
    jsonl: bool = False,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    interactive: bool | None = None,
    stderr: TextIO | None = None,
) -> None:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if interactive is None:
        interactive = stdin.isatty()
    session = TerminalSession(core, user)
    # Scripted, stdout is one line per input line (README): a reply that arrives on its own
    # (a digest, an answer replayed after a database outage) goes to stderr — on stdout it
    # shifted every later answer by a line (input audit).
    outbox = TerminalOutbox(stdout if interactive else stderr, user,
                            save=session.save_attachment)
    core.services.open_outbox(outbox)  # scheduled digests appear in the running chat
    try:
        if grant_consent:
            await session.send(session.action("consent.grant"))
        await session.find_locale()
        if interactive:
            await run_interactive(session)
        else:
            await run_scripted(session, stdin, stdout, jsonl=jsonl, stderr=stderr)
    finally:
        core.services.close_outbox(outbox)
