"""Command plumbing: parsing, the registry, and the context a handler gets.

Commands are written once here and reached from every surface: a platform slash command, a
``/word`` typed in a DM or the terminal, or a button (an action id maps to a command line).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.command_catalog import CATALOG
from bot.events import AnyEvent, Reply, ReplyKind
from bot.features import DeletionReport
from bot.i18n import N_, nt, t
from bot.services import Services
from profiles.engine import ProfileEngine
from profiles.models import Person

UNSEEN = N_(
    "I did “{command}” just as my memory (database) stopped answering, so I could not see "
    "how it went: {check} shows where things stand now."
)


class CommandError(Exception):
    """A malformed command; the message is shown to the person, translated when it is a
    catalog text (``CommandError(N_("Unknown {x}"), x=...)``; an already translated message
    passes through unchanged). A value may be a function of the locale (a usage line, a
    profiles/ error) when it has words of its own: the locale is known only when shown."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values

    def text(self, locale: str | None) -> str:
        values = {k: v(locale) if callable(v) else v for k, v in self.values.items()}
        return t(self.message, locale, **values)


@dataclass(slots=True)
class CommandContext:
    services: Services
    session: AsyncSession
    person: Person
    event: AnyEvent
    now: dt.datetime
    after_commit: list[Callable[[], Awaitable[list[Reply]]]] = field(default_factory=list)
    locale: str = "en"
    # Characters cut off the end of the arguments (handlers see at most MAX_ARGS_CHARS): a
    # command that refuses long text says how long it really was, where the input audit
    # found "/memory add" of 2,500 characters answered "(1996 characters; …)".
    args_cut: int = 0
    # This command took effect already: its transaction's COMMIT went into a database
    # outage and committed (a hang that thawed), and the replay that found its claim — or
    # found gone the people it erased — runs it again to answer it
    # (bot/handlers/commands.py). A handler whose second run would apply its effect to
    # something else, or answer untruly, does not run it twice.
    replayed: bool = False
    # The command as the person gave it (:meth:`unseen` quotes it).
    line: str = ""
    # What the deletions after the commit could not do, by feature (bot/lifecycle.py):
    # this run's, and those an earlier run's erasure owed (see ``replayed``).
    deletion: DeletionReport = field(default_factory=DeletionReport)

    def t(self, message: str, /, **values: object) -> str:
        """``message`` in the person's language (see bot.i18n)."""
        return t(message, self.locale, **values)

    def nt(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        return nt(singular, plural, n, self.locale, **values)

    @property
    def engine(self) -> ProfileEngine:
        return self.services.engine

    @property
    def person_id(self) -> int:
        assert self.person.id is not None
        return self.person.id

    def defer(self, work: Callable[[], Awaitable[list[Reply]]]) -> None:
        """Run ``work`` after this command's transaction commits: model calls belong there,
        so a slow model never holds database locks."""
        self.after_commit.append(work)

    def unseen(self, check: str) -> Reply:
        """The answer of a :attr:`replayed` command that cannot run again (it would act on
        what is left: "/memory remove 2" removed the next one): that it was done, and
        where to see what it did (``check``, a command)."""
        return self.reply(self.t(UNSEEN, command=self.line, check=check))

    def reply(self, text: str, **kwargs: object) -> Reply:
        """Command answers are private by default: only the person sees them."""
        kwargs.setdefault("kind", ReplyKind.EPHEMERAL)
        kwargs.setdefault("purpose", "command")
        kwargs.setdefault("locale", self.locale)
        return Reply(text=text, **kwargs)  # type: ignore[arg-type]


Handler = Callable[[CommandContext, list[str]], Awaitable[list[Reply]]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    summary: str
    usage: list[str]
    handler: Handler
    subcommands: tuple[str, ...] = field(default=())
    # Its transaction is a few indexed statements about the person (Database.session's
    # ``quick``): on SQLite it then holds the one writer only for its own work. /prefs held
    # it ~13 ms under load, a fifth of the writer's time in the bench's mix, while replies
    # queued behind it (docs/measurement.md).
    quick: bool = False
    admin_only: bool = False  # see CommandInfo.admin_only
    # Subcommands that read nothing the person's messages teach (``/prefs set`` stores what
    # they say): they do not wait for those messages' learning (Learner.settle). At maximum
    # ingest that wait was a learning backlog: /prefs p99 ~300 ms at 1k people, for
    # learning its answer never shows (docs/measurement.md, thirty-fifth session).
    unsettled: tuple[str, ...] = ()

    def settles(self, raw_args: str) -> bool:
        """Whether this command, called with ``raw_args``, first waits for what the
        person's earlier messages teach (what /profile and /export must show)."""
        words = raw_args.split(maxsplit=1)
        return not (words and words[0].lower() in self.unsettled)


REGISTRY: dict[str, CommandSpec] = {}


def command(
    name: str, *, quick: bool = False, unsettled: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    """Register the handler of ``/name``. What the command says about itself (summary, usage,
    subcommands) is written once, in :mod:`bot.command_catalog`, which the Slack manifest
    reads without importing any handler. ``quick``, ``unsettled``: see
    :class:`CommandSpec`."""
    info = CATALOG[name]

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = CommandSpec(
            name, info.summary, list(info.usage), handler, info.subcommands, quick=quick,
            admin_only=info.admin_only, unsettled=unsettled,
        )
        return handler

    return register


MAX_ARGS_CHARS = 2000  # what a handler sees of a command's arguments


class Arguments(list[str]):
    """A command's arguments as words, split on whitespace only, together with the text as
    typed (:func:`free_text` reads what follows the leading words).

    Quotes mean nothing in any command: a value with spaces is always a command's trailing
    free text. The input audit found shell-like splitting (shlex) refusing ``/memory add
    I'm vegetarian`` (the usage's own example) and every French elision with Python's English
    error, and silently eating the quotes in ``rock'n'roll`` or ``"centro"``."""

    def __init__(self, raw: str) -> None:
        super().__init__(raw.split())
        self.raw = raw


def split_args(raw: str) -> Arguments:
    """``raw`` as :class:`Arguments`: whitespace-separated words, no quote processing."""
    return Arguments(raw)


_WORD = re.compile(r"\s*\S+")


def free_text(args: list[str], after: int) -> str:
    """What follows the first ``after`` words, exactly as typed (apostrophes, quotes,
    inner spacing and line breaks kept; the input audit found them lost or refused).
    ``args`` built from words alone (a tool calling a handler) gives those words joined."""
    raw = args.raw if isinstance(args, Arguments) else None
    if raw is None:
        return " ".join(args[after:]).strip()
    at = 0
    for _ in range(after):
        word = _WORD.match(raw, at)
        if word is None:
            return ""
        at = word.end()
    return raw[at:].strip()


MAX_ROW_ID = 2**63 - 1  # PostgreSQL BIGINT and SQLite INTEGER both stop here
_ROW_ID = re.compile(r"[0-9]{1,19}")


def parse_row_id(raw: str) -> int | None:
    """A row id typed or carried by a button, or None when it cannot be one: ASCII digits
    only (``str.isdigit`` also accepts '²') and within the database's 64-bit range, because
    a larger number overflows the driver instead of simply matching nothing."""
    text = raw.strip()
    if not _ROW_ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


def parse_command_line(text: str) -> tuple[str, str] | None:
    """``"/prefs set tone casual"`` → ``("prefs", "set tone casual")``; None if not a command."""
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    name, _, rest = stripped[1:].partition(" ")
    name = name.strip().lower()
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        return None
    return name, rest.strip()


USAGE = N_("Usage: {usage}")
UNKNOWN_COMMAND = N_("I don't know /{name}. Commands: {names}. Try /help.")


def usage_lines(spec: CommandSpec, locale: str | None = None) -> str:
    """``/memory add [--here] <text> · …`` with the placeholders in ``locale`` (the usage
    lines that have words to translate are catalog texts, see bot.command_catalog)."""
    return " · ".join(t(line, locale) for line in spec.usage)


def usage_text(spec: CommandSpec, locale: str | None = None) -> str:
    return t(USAGE, locale, usage=usage_lines(spec, locale))


def usage_error(spec: CommandSpec) -> CommandError:
    """The usage of ``spec`` as an error, translated when it is shown (the locale is known
    only then)."""
    return CommandError(USAGE, usage=lambda locale: usage_lines(spec, locale))


def unknown_command_text(name: str, locale: str | None = None, *, admin: bool = False) -> str:
    """Names the commands ``/help`` offers the person (admin-only ones to admins only)."""
    names = ", ".join(
        f"/{n}" for n, spec in sorted(REGISTRY.items()) if admin or not spec.admin_only
    )
    return t(UNKNOWN_COMMAND, locale, name=name, names=names)
