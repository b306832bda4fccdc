"""Turning a :class:`PromptContext` into model input, inside Jinja2's sandbox.

Templates are files (``prompts/templates``); a folder named in settings can override any of
them by name. All templates are compiled at start-up so a broken override fails early with its
name and line instead of in the middle of a conversation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from prompts.context import HistoryTurn, PromptContext
from prompts.fence import fence, fence_list

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"

VERBOSITY_RULES = {
    "brief": "at most 2 short sentences, about 60 words",
    "normal": "a focused answer of about 150 words at most",
    "detailed": "a thorough answer, up to about 500 words, structured if useful",
}
# Hard ceilings applied after generation too (characters), see bot/shape.py.
VERBOSITY_CHAR_LIMITS = {"brief": 400, "normal": 1200, "detailed": 4000}


class TemplateError(Exception):
    """A template failed to compile; the message names the template and the line."""


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    system: str
    turns: list[HistoryTurn]


class PromptRenderer:
    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(BUILTIN_TEMPLATES))]
        if override_dir is not None:
            loaders.insert(0, FileSystemLoader(str(override_dir)))
        self.env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["data"] = fence
        self.env.filters["data_list"] = fence_list
        self.check_all()

    def check_all(self) -> None:
        for name in self.env.list_templates(extensions=["j2"]):
            try:
                self.env.get_template(name)
            except TemplateSyntaxError as exc:
                raise TemplateError(
                    f"template {exc.name or name} line {exc.lineno}: {exc.message}"
                ) from exc

    def render(self, name: str, **values: object) -> str:
        text = self.env.get_template(name).render(**values)
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    def chat(
        self,
        context: PromptContext,
        message: str,
        *,
        count_tokens: Callable[[str], int],
        history_budget: int = 2000,
    ) -> RenderedPrompt:
        values = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
        values["verbosity_rule"] = VERBOSITY_RULES.get(context.verbosity, VERBOSITY_RULES["normal"])
        system = self.render("chat_system.j2", **values)
        turns = trim_history(context.history, history_budget, count_tokens)
        turns.append(HistoryTurn("user", message))
        return RenderedPrompt(system=system, turns=turns)


def trim_history(
    history: list[HistoryTurn], budget: int, count_tokens: Callable[[str], int]
) -> list[HistoryTurn]:
    """Keep the newest turns that fit the budget; the list starts with a user turn so the
    model sees well-formed alternation."""
    kept: list[HistoryTurn] = []
    used = 0
    for turn in reversed(history):
        cost = count_tokens(turn.text) + 4
        if used + cost > budget:
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept
