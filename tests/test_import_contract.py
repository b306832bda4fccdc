"""The shape of the code, checked like behaviour: the import-linter contracts in
pyproject.toml (adapters -> bot -> profiles | prompts; Services is a leaf; features never
import the core's commands) and no import cycle inside bot/, counting imports made only for
type checking: neither between modules nor between packages (bot.commands, bot.digest,
bot.memory … each a node, a top-level module like bot.core its own node).

Why a test and not only `make lint`: CI runs the suite, and a cycle that creeps back in is a
design regression as real as a failing behaviour (issue 15: a 13-module cycle through the
core was once held open only by TYPE_CHECKING imports).
"""

from __future__ import annotations

import logging
from pathlib import Path

import grimp
import pytest
from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("adapters", "bot", "profiles", "prompts")

pytestmark = pytest.mark.static


def _cycles(graph: grimp.ImportGraph, prefix: str) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(m for m in graph.modules if m == prefix or m.startswith(prefix + "."))
    edges = {
        m: sorted(
            i for i in graph.find_modules_directly_imported_by(m)
            if i == prefix or i.startswith(prefix + ".")
        )
        for m in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            for target in targets:
                if target in on_stack:
                    low[node] = min(low[node], low[target])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_inside_bot() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)
    assert _cycles(graph, "bot") == []


def _packages(graph: grimp.ImportGraph, prefix: str) -> grimp.ImportGraph:
    """``graph`` with every module inside ``prefix`` folded into the first level below it:
    ``bot.memory.links`` becomes ``bot.memory``; ``bot.core`` stays ``bot.core``."""
    depth = prefix.count(".") + 2

    def node(module: str) -> str:
        return ".".join(module.split(".")[:depth])

    folded = grimp.ImportGraph()
    inside = [m for m in graph.modules if m == prefix or m.startswith(prefix + ".")]
    for module in inside:
        folded.add_module(node(module))
    for module in inside:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(prefix + ".") and node(imported) != node(module):
                folded.add_import(importer=node(module), imported=node(imported))
    return folded


def test_no_import_cycle_between_packages_of_bot() -> None:
    """Module cycles can be absent while packages still cycle (``bot.commands`` importing
    ``bot.memory`` for /profile while ``bot.memory`` imported the command registry from
    ``bot.commands``): a reader can no longer take one package as the ground of the other."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)
    assert _cycles(_packages(graph, "bot"), "bot") == []


def test_package_cycle_finder_finds_a_cycle() -> None:
    """Two packages importing each other through different modules are reported."""
    graph = grimp.build_graph("bot", cache_dir=None)
    graph.add_import(importer="bot.memory.intent", imported="bot.commands.prefs")
    graph.add_import(importer="bot.commands.admin", imported="bot.memory.prompt")
    assert _cycles(graph, "bot") == []  # no module cycle: bot.commands.prefs has no path back
    cycles = _cycles(_packages(graph, "bot"), "bot")
    assert any("bot.memory" in c and "bot.commands" in c for c in cycles)


def test_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a two-module cycle added to a real graph is reported."""
    graph = grimp.build_graph("bot", cache_dir=None)
    graph.add_import(importer="bot.services", imported="bot.core")
    cycles = _cycles(graph, "bot")
    assert any("bot.services" in c and "bot.core" in c for c in cycles)


def test_import_linter_contracts_are_kept() -> None:
    """The same check as `lint-imports` in `make lint`; its report is in the captured output.
    import-linter configures logging with ``dictConfig``, which disables every logger that
    exists already (``bot.core`` …): their state is restored, or later tests that read the
    log (caplog) would see nothing."""
    loggers = [
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    disabled = {logger.name: logger.disabled for logger in loggers}
    try:
        status = lint_imports(
            config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True,
            is_debug_mode=True,
        )
    finally:
        for logger in loggers:
            logger.disabled = disabled[logger.name]
    assert status == EXIT_STATUS_SUCCESS
    assert not logging.getLogger("bot.core").disabled


def test_running_the_contracts_leaves_the_bot_s_log_readable(caplog) -> None:
    """A test that reads the log still sees the core's lines after the contract check."""
    logging.getLogger("bot.core")  # exists before the check, as in a full run
    test_import_linter_contracts_are_kept()
    with caplog.at_level(logging.ERROR):
        logging.getLogger("bot.core").error("still heard")
    assert "still heard" in caplog.text
