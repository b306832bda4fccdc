"""Run ``tailorbot …`` inside the test process (Typer's CliRunner) and see what a person at
a terminal sees: the exit status, standard output, and standard error — with the traceback
of an exception the command let escape, as the interpreter would print it (CliRunner itself
keeps that aside, so "no traceback" would hold by construction).

Why not a subprocess: a new interpreter spends 2-3 CPU-seconds importing the bot before it
runs a command, more than most commands take; tests/adapters/test_terminal.py ran twenty of
them per pass. Tests where the process is the point (the console script itself, signals,
what a fresh interpreter imports) start one of their own.

A command that talks to a fake platform runs here too, with the fake served from a thread
of its own (:func:`served`): the command's ``asyncio.run`` needs this thread without a
running loop. Its settings then go in a file (:func:`write_config`), not the environment:
while another thread runs, the environment may be changed only in ways that do not move it
(tests/support/faketime.py; ``env=`` here removes the model's variables, and adds none
unless a test asks).

A command starts from some process-wide state a new process would not have, and changes it
for its own run where a process would drop the change at its exit. So the command starts
with the process's experiment registry emptied (``--config`` or ./tailorbot.toml, loaded
once: bot/experiments/assign.py), the root logger without handlers and Python's default
warning filters, and all of these are put back after it, with the working directory and
the environment (``bot.logs.configure`` points a handler at the runner's stderr). Call it
from a synchronous test, on the main thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

from typer.testing import CliRunner

# The model settings a developer may have exported: a command run here must not reach a real
# model (the subprocess helpers drop them from the child's environment for the same reason).
MODEL_VARIABLES = ("ANTHROPIC_API_KEY", "TAILORBOT_OPENAI_BASE_URL")
# The warnings a new interpreter does not print (Python's default filters).
IGNORED_BY_DEFAULT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
LIMIT_SECONDS = 30.0  # to start or stop a served fake: a local server takes milliseconds

T = TypeVar("T")


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str  # with the traceback of an exception that escaped the command, if one did
    output: str  # both, interleaved as a terminal shows them (and the traceback last)

    @property
    def exit_code(self) -> int:  # as Typer's own Result names it
        return self.returncode


def tailorbot(
    args: list[str], *, stdin: str = "", cwd: Path, env: Mapping[str, str] | None = None
) -> Run:
    """``tailorbot ARGS`` with ``stdin`` as its input, in ``cwd``, with ``env`` added to (and
    the model's variables removed from) the environment for the command's run."""
    from adapters.cli.main import app

    environment: dict[str, str | None] = {
        name: None for name in MODEL_VARIABLES if name in os.environ
    }
    environment.update(env or {})
    with _process_state_restored(), contextlib.chdir(cwd):
        result = CliRunner().invoke(app, args, input=stdin, env=environment, prog_name="tailorbot")
    escaped = result.exception
    printed = ""
    if escaped is not None and not isinstance(escaped, SystemExit):
        printed = "".join(traceback.format_exception(escaped))
    return Run(result.exit_code, result.stdout, result.stderr + printed, result.output + printed)


@contextlib.contextmanager
def _process_state_restored() -> Iterator[None]:
    from bot.experiments import assign

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    override = list(assign._override)
    registry_loaded = assign.default_registry.cache_info().currsize > 0
    # As in a new process: no experiment registry loaded yet, so the command reads its own
    # ./tailorbot.toml; no logging set up, so a warning logged before the command sets it
    # up goes to stderr (logging's last resort) instead of pytest's capture; Python's own
    # warning filters, so a warning is printed on stderr as the interpreter prints it.
    assign.default_registry.cache_clear()
    assign._override.clear()
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for category in IGNORED_BY_DEFAULT:
                warnings.simplefilter("ignore", category)
            warnings.showwarning = _printed
            yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        assign._override[:] = override
        assign.default_registry.cache_clear()
        if registry_loaded:  # loaded again here, back in the test's working directory
            assign.default_registry()


def _printed(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as the interpreter shows one: on (the command's) stderr."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def write_config(path: Path, **settings: str | bool | int) -> Path:
    """A ``tailorbot.toml`` at ``path`` with these settings (their field names)."""
    lines = [f"{name} = {json.dumps(value)}" for name, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def served(fake: AbstractAsyncContextManager[T]) -> Iterator[T]:
    """``async with fake`` on an event loop of its own, in a thread of its own, for as long
    as the block runs: a command run in this thread (:func:`tailorbot`) can call it. Change
    the fake between commands, while nothing calls it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="served fake", daemon=True)
    thread.start()

    async def enter() -> T:
        return await fake.__aenter__()

    async def leave() -> None:
        await fake.__aexit__(None, None, None)

    try:
        entered = asyncio.run_coroutine_threadsafe(enter(), loop).result(LIMIT_SECONDS)
        try:
            yield entered
        finally:
            asyncio.run_coroutine_threadsafe(leave(), loop).result(LIMIT_SECONDS)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(LIMIT_SECONDS)
        loop.close()
