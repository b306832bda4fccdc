"""Turning a :class:`PromptContext` into model input, inside Jinja2's sandbox.

Templates are files (``prompts/templates``); a folder named in settings can override any of
them by name. All templates are compiled at start-up so a broken override fails early with its
name and line instead of in the middle of a conversation; they are read then, once (an edited
override takes effect at the next start).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateSyntaxError,
)
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.bccache import Bucket
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from prompts.context import HistoryTurn, LocalTime, PromptContext
from prompts.fence import fence, fence_list, fence_weighted

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"

VERBOSITY_RULES = {
    "brief": "at most 2 short sentences, about 60 words",
    "normal": "a focused answer of about 150 words at most",
    "detailed": "a thorough answer, up to about 500 words, structured if useful",
}
# Hard ceilings applied after generation too (characters), see bot/shape.py.
VERBOSITY_CHAR_LIMITS = {"brief": 400, "normal": 1200, "detailed": 4000}


# A system prompt is a few thousand characters; a template producing more than this is broken
# or hostile (``{{ 'a' * 100000000 }}`` ran for over a minute through the budget loop).
MAX_OUTPUT_CHARS = 100_000
_MAX_EXPONENT = 1000


class TemplateError(Exception):
    """A template failed to compile or was refused while rendering; the message names the
    template and says why in one line (no traceback is useful to an operator here)."""


# Values whose attributes are plain data fixed by their class (and Jinja's own loop object):
# the sandbox's verdict on one of their attributes depends on the class and the name alone.
_PLAIN_TYPES = frozenset({LocalTime, HistoryTurn, LoopContext})


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, plus limits on what one operator can build: ``*`` and
    ``+`` may not make a string or list beyond MAX_OUTPUT_CHARS, ``**`` no huge powers."""

    intercepted_binops = frozenset(["*", "+", "**"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """The sandbox's own verdict, worked out once per class and name for
        :data:`_PLAIN_TYPES`. Why: a chat prompt reads ~14 such attributes (``local.*``,
        ``loop.last``), and each verdict is a chain of abstract-class checks — a quarter of
        the prompt's render time (272 → 202 µs a render measured)."""
        kind = type(obj)
        if kind not in _PLAIN_TYPES:
            return super().is_safe_attribute(obj, attr, value)
        key = (kind, attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = super().is_safe_attribute(obj, attr, value)
        return verdict

    def call_binop(self, context: Context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int) and abs(right) > _MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is too large")
            return operator.pow(left, right)
        if operator_name == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > MAX_OUTPUT_CHARS:
                    raise SecurityError(
                        f"that would build {len(seq) * times:,} items "
                        f"(at most {MAX_OUTPUT_CHARS:,})"
                    )
            return operator.mul(left, right)
        result = operator.add(left, right)
        if isinstance(result, str | list | tuple) and len(result) > MAX_OUTPUT_CHARS:
            raise SecurityError(f"that would build more than {MAX_OUTPUT_CHARS:,} items")
        return result


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory for the whole process, so every renderer after the
    first (one per experiment variant, one per core) skips Jinja's compile step (~40 ms for
    the built-in set). Jinja keys a template by name and file path and checks a checksum of
    its source, so an edited or different override file is compiled afresh. Every renderer
    builds the same BoundedSandbox with the same options, the other input to the compiled
    code."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = CompiledTemplates()


@dataclass(frozen=True, slots=True)
class PromptBudget:
    """Token budgets per section. Counts come from the backend's ``count_tokens`` (a local
    estimate: neither API offers an offline tokenizer, and a network call per prompt would
    cost more than it saves)."""

    system_tokens: int = 900
    history_tokens: int = 2000
    value_chars: int = 120


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    system: str
    turns: list[HistoryTurn]


class PromptRenderer:
    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(BUILTIN_TEMPLATES))]
        if override_dir is not None:
            loaders.insert(0, FileSystemLoader(str(override_dir)))
        self.env = BoundedSandbox(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            bytecode_cache=_COMPILED,
            # Read once, at start, where check_all vets every one: an edited override takes
            # effect (or fails) at the next start, and no render stats its file.
            auto_reload=False,
        )
        self.env.filters["data"] = fence
        self.env.filters["data_list"] = fence_list
        self.env.filters["data_weighted"] = fence_weighted
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
        """Render with an output ceiling; anything the sandbox or the template refuses becomes
        one TemplateError naming the template and the reason."""
        parts: list[str] = []
        size = 0
        try:
            for part in self.env.get_template(name).generate(**values):
                size += len(part)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateError(
                        f"template {name} was refused: its output passed "
                        f"{MAX_OUTPUT_CHARS:,} characters"
                    )
                parts.append(part)
        except TemplateError:
            raise
        except (JinjaTemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
            raise TemplateError(
                f"template {name} was refused: {type(exc).__name__}: {exc}"
            ) from None
        text = "".join(parts)
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    def chat(
        self,
        context: PromptContext,
        message: str,
        *,
        count_tokens: Callable[[str], int],
        budget: PromptBudget | None = None,
    ) -> RenderedPrompt:
        """System prompt plus turns, each section within its token budget: history is trimmed
        oldest first, then the profile loses its lowest-weight interests (and the workspace's
        popular topics) until the system prompt fits."""
        budget = budget or PromptBudget()
        context = cap_values(context, budget.value_chars)
        system = self._chat_system(context)
        interests = list(context.interests)
        popular = list(context.workspace_popular)
        notes = list(context.summary_notes)
        memories = list(context.memories)
        while count_tokens(system) > budget.system_tokens and (
            interests or popular or notes or memories
        ):
            # What was inferred gives way before what the person said explicitly.
            if popular:
                popular.pop()
            elif notes:
                notes.pop()
            elif interests:
                interests.sort(key=lambda item: -item[1])
                interests.pop()
            else:
                memories.pop(0)  # the oldest explicit memory last of all
            context = dataclasses.replace(
                context,
                interests=interests,
                workspace_popular=popular,
                summary_notes=notes,
                memories=memories,
            )
            system = self._chat_system(context)
        turns = trim_history(context.history, budget.history_tokens, count_tokens)
        turns.append(HistoryTurn("user", message))
        return RenderedPrompt(system=system, turns=turns)

    def _chat_system(self, context: PromptContext) -> str:
        values = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
        values["verbosity_rule"] = VERBOSITY_RULES.get(context.verbosity, VERBOSITY_RULES["normal"])
        return self.render("chat_system.j2", **values)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cap_values(context: PromptContext, limit: int) -> PromptContext:
    """No single user-derived value may take over the prompt: names, topics and activity are
    cut to ``limit`` characters and lists to a sane length before rendering."""
    return dataclasses.replace(
        context,
        display_name=_cap(context.display_name, 80) if context.display_name else None,
        device=_cap(context.device, 40) if context.device else None,
        activity=_cap(context.activity, limit) if context.activity else None,
        avoid_topics=[_cap(t, 60) for t in context.avoid_topics[:50]],
        interests=[(_cap(t, 60), w) for t, w in context.interests[:50]],
        workspace_popular=[_cap(t, 60) for t in context.workspace_popular[:10]],
        summary_notes=[_cap(t, 150) for t in context.summary_notes[:12]],
        language=_cap(context.language, 16),
        memories=[_cap(t, 500) for t in context.memories[-100:]],
    )


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
