"""The prompt renderer a prompt variant uses.

Two ways to vary the prompt, both validated when first used (every template compiles, as the
base renderer does at start-up):

* ``template = "name.j2"``: the chat system prompt is rendered from that template instead of
  ``chat_system.j2`` (same values, same token budgeting);
* ``templates_dir = "folder"``: that folder's ``*.j2`` files override the templates of the
  deployment (which still override the built-in ones).

Renderers are cached per variant: building one compiles every template, which must not
happen per message.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, TemplateNotFound, TemplateSyntaxError, meta

from bot.experiments.config import ExperimentConfigError, ExperimentRegistry, Variant
from prompts.context import PromptContext
from prompts.render import BUILTIN_TEMPLATES, VERBOSITY_RULES, PromptRenderer, TemplateError


class _TemplateRenderer(PromptRenderer):
    """A renderer whose chat system prompt comes from another template."""

    def __init__(self, base: PromptRenderer, template: str) -> None:
        # Share the base's compiled environment; only the system template differs.
        self.env = base.env
        self.template = template
        try:  # fail now if it is missing or does not compile, as the core's TemplateError
            self.env.get_template(template)
        except TemplateNotFound:
            have = ", ".join(sorted(self.env.list_templates(extensions=["j2"])))
            raise TemplateError(f"no template {template!r} (have: {have})") from None
        except TemplateSyntaxError as exc:
            raise TemplateError(
                f"template {exc.name or template} line {exc.lineno}: {exc.message}"
            ) from None

    def _chat_system(self, context: PromptContext) -> str:
        values = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
        values["verbosity_rule"] = VERBOSITY_RULES.get(context.verbosity, VERBOSITY_RULES["normal"])
        return self.render(self.template, **values)


_cache: dict[tuple[int, str, str], PromptRenderer] = {}


def renderer_for(variant: Variant | None, base: PromptRenderer) -> PromptRenderer:
    """``base`` itself for no variant, a control, or a variant that changes no template."""
    if variant is None or variant.control or not (variant.template or variant.templates_dir):
        return base
    key = (id(base), variant.experiment, variant.name)
    found = _cache.get(key)
    if found is not None:
        return found
    renderer: PromptRenderer
    if variant.templates_dir is not None:
        renderer = _folder_renderer(base, variant.templates_dir)
        if variant.template:
            renderer = _TemplateRenderer(renderer, variant.template)
    else:
        assert variant.template is not None
        renderer = _TemplateRenderer(base, variant.template)
    _cache[key] = renderer
    return renderer


def _folder_renderer(base: PromptRenderer, folder: Path) -> PromptRenderer:
    renderer = PromptRenderer(folder)
    loaders = [FileSystemLoader(str(folder))]
    if isinstance(base.env.loader, ChoiceLoader):
        loaders.extend(base.env.loader.loaders)  # type: ignore[arg-type]
    renderer.env.loader = ChoiceLoader(loaders)
    renderer.check_all()
    return renderer


def check_variants(registry: ExperimentRegistry, base: PromptRenderer) -> None:
    """Build every prompt variant's renderer now, at start: a variant naming a template that
    does not exist was accepted, and then every message of a person in it failed (as a
    database outage at first: jinja2's TemplateNotFound is an OSError)."""
    for experiment in registry.of_kind("prompt"):
        for variant in experiment.variants:
            try:
                renderer_for(variant, base)
            except TemplateError as exc:
                raise ExperimentConfigError(
                    f"experiment {experiment.name}, variant {variant.name}: {exc}"
                ) from None


def unused_overrides(
    registry: ExperimentRegistry, renderer: PromptRenderer, folder: Path | None
) -> list[str]:
    """Templates of the override folder (``prompt_templates_dir``) that nothing renders: no
    built-in template of that name, no prompt variant naming it, no used template including
    or extending it — most likely a misspelt name ("chat_sytem.j2"), which was ignored in
    silence."""
    if folder is None or not folder.is_dir():
        return []
    wanted = {path.name for path in BUILTIN_TEMPLATES.glob("*.j2")}
    wanted |= {
        variant.template
        for experiment in registry.of_kind("prompt")
        for variant in experiment.variants
        if variant.template
    }
    env, used = renderer.env, set[str]()
    assert env.loader is not None
    while wanted - used:
        name = (wanted - used).pop()
        used.add(name)
        try:
            source = env.loader.get_source(env, name)[0]
        except TemplateNotFound:
            continue
        wanted |= {found for found in meta.find_referenced_templates(env.parse(source)) if found}
    return sorted(path.name for path in folder.glob("*.j2") if path.name not in used)
