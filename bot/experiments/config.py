"""Experiments defined in configuration.

Where they are read from (first found wins):

1. the TOML file named by the environment variable ``TAILORBOT_EXPERIMENTS_FILE``;
2. the ``[experiments]`` table of ``tailorbot.toml`` in the working directory (or of the file
   given to ``--config``).

Both use the same shape::

    [experiments.concise_prompt]
    kind = "prompt"                       # prompt | ranking
    description = "A shorter system prompt: more 👍 on replies?"
    traffic = 1.0                         # share of consented people enrolled
    [experiments.concise_prompt.variants]
    control = {}                          # the first variant is the control unless one is
    concise = { template = "chat_concise.j2" }   # named "control"
    # other prompt variants: { templates_dir = "experiments/warm" } (an override folder)
    #                        { preferences = { verbosity = "brief" } } (never over explicit)

    [experiments.digest_diversity]
    kind = "ranking"
    [experiments.digest_diversity.variants]
    control = {}
    focused = { ranking = { diversity = 0.9, collaborative_weight = 1.0 } }

Every variant may carry ``weight`` (default 1). Everything is validated at load time (unknown
keys, RankingSettings fields, preference values) and a prompt variant's templates when the core
is built (bot.experiments.render.check_variants), so a typo fails at start-up
with its experiment's name rather than in someone's conversation. Only one experiment per
kind may run at a time, so no reply is shaped by two experiments and each control group is
clean.

This lives in the experiments package rather than in :mod:`bot.config` on purpose: it keeps
Settings flat and lets operators swap experiment files without touching the bot's settings.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from profiles.preferences import PreferenceError, ResolvedPreferences, ResolvedValue, validate
from profiles.ranking import RankingSettings

Kind = Literal["prompt", "ranking"]
KINDS: tuple[Kind, ...] = ("prompt", "ranking")
ENV_FILE = "TAILORBOT_EXPERIMENTS_FILE"
_RANKING_FIELDS = {
    f.name for f in dataclasses.fields(RankingSettings) if f.name != "freshness_half_life"
}
_VARIANT_KEYS = {"weight", "template", "templates_dir", "ranking", "preferences"}
_EXPERIMENT_KEYS = {"kind", "description", "traffic", "variants"}


class ExperimentConfigError(ValueError):
    """A bad experiment definition; the message names the experiment and the key."""


@dataclass(frozen=True, slots=True)
class Variant:
    """What one group of people receives. The control changes nothing."""

    experiment: str
    name: str
    kind: Kind
    weight: float = 1.0
    control: bool = False
    template: str | None = None
    templates_dir: Path | None = None
    ranking: Mapping[str, float] = field(default_factory=dict)
    preferences: Mapping[str, str] = field(default_factory=dict)

    def ranking_settings(self, base: RankingSettings | None = None) -> RankingSettings:
        """The ranker's settings under this variant (``base`` for the control)."""
        overrides: dict[str, Any] = dict(self.ranking)
        return dataclasses.replace(base or RankingSettings(), **overrides)

    def apply_preferences(self, prefs: ResolvedPreferences) -> ResolvedPreferences:
        """The variant's preference defaults, only where the person set nothing explicit:
        an explicit choice always wins over an experiment."""
        if not self.preferences:
            return prefs
        values = dict(prefs.values)
        for key, value in self.preferences.items():
            current = values.get(key)
            if current is not None and current.source == "explicit":
                continue
            values[key] = ResolvedValue(key, value, f"experiment:{self.experiment}", None)
        return ResolvedPreferences(values)


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    kind: Kind
    variants: tuple[Variant, ...]
    description: str = ""
    traffic: float = 1.0

    @property
    def control(self) -> Variant:
        return next(v for v in self.variants if v.control)

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(f"experiment {self.name} has no variant {name!r}")


@dataclass(frozen=True, slots=True)
class ExperimentRegistry:
    experiments: tuple[Experiment, ...] = ()
    source: str = "none"

    def get(self, name: str) -> Experiment:
        for experiment in self.experiments:
            if experiment.name == name:
                return experiment
        known = ", ".join(e.name for e in self.experiments) or "none configured"
        raise KeyError(f"no experiment named {name!r} ({known})")

    def of_kind(self, kind: str) -> list[Experiment]:
        return [e for e in self.experiments if e.kind == kind]


def _variant(experiment: str, kind: Kind, name: str, raw: Any, base: Path) -> Variant:
    where = f"experiment {experiment}, variant {name}"
    if not isinstance(raw, dict):
        raise ExperimentConfigError(f"{where}: expected a table")
    unknown = set(raw) - _VARIANT_KEYS
    if unknown:
        raise ExperimentConfigError(f"{where}: unknown keys {sorted(unknown)}")
    weight = float(raw.get("weight", 1.0))
    if weight < 0:
        raise ExperimentConfigError(f"{where}: weight must be >= 0")
    ranking = raw.get("ranking", {})
    bad = set(ranking) - _RANKING_FIELDS
    if bad:
        raise ExperimentConfigError(
            f"{where}: unknown ranking settings {sorted(bad)} (known: {sorted(_RANKING_FIELDS)})"
        )
    preferences: dict[str, str] = {}
    for key, value in dict(raw.get("preferences", {})).items():
        try:
            preferences[key] = validate(key, str(value))
        except PreferenceError as exc:
            raise ExperimentConfigError(f"{where}: {exc}") from exc
    templates_dir = raw.get("templates_dir")
    folder = None
    if templates_dir is not None:
        folder = (base / str(templates_dir)).resolve()
        if not folder.is_dir():
            raise ExperimentConfigError(f"{where}: templates_dir {folder} is not a folder")
    if kind == "ranking" and (raw.get("template") or folder or preferences):
        raise ExperimentConfigError(f"{where}: a ranking experiment varies only `ranking`")
    if kind == "prompt" and ranking:
        raise ExperimentConfigError(f"{where}: a prompt experiment cannot vary `ranking`")
    return Variant(
        experiment=experiment,
        name=name,
        kind=kind,
        weight=weight,
        template=raw.get("template"),
        templates_dir=folder,
        ranking={k: float(v) for k, v in ranking.items()},
        preferences=preferences,
    )


def parse_experiments(table: Mapping[str, Any], *, base: Path, source: str) -> ExperimentRegistry:
    experiments: list[Experiment] = []
    running_kinds: dict[str, str] = {}
    for name, raw in table.items():
        if not isinstance(raw, dict):
            raise ExperimentConfigError(f"experiment {name}: expected a table")
        if len(name) > 64:
            raise ExperimentConfigError(f"experiment {name}: names are at most 64 characters")
        unknown = set(raw) - _EXPERIMENT_KEYS
        if unknown:
            raise ExperimentConfigError(f"experiment {name}: unknown keys {sorted(unknown)}")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ExperimentConfigError(f"experiment {name}: kind must be one of {KINDS}")
        if kind in running_kinds:
            raise ExperimentConfigError(
                f"experiments {running_kinds[kind]} and {name} are both of kind {kind}: "
                "run one experiment per kind at a time"
            )
        running_kinds[kind] = name
        traffic = float(raw.get("traffic", 1.0))
        if not 0.0 < traffic <= 1.0:
            raise ExperimentConfigError(f"experiment {name}: traffic must be in (0, 1]")
        raw_variants = raw.get("variants", {})
        if len(raw_variants) < 2:
            raise ExperimentConfigError(f"experiment {name}: needs at least two variants")
        variants = [_variant(name, kind, v, spec, base) for v, spec in raw_variants.items()]
        if any(len(v.name) > 64 for v in variants):
            raise ExperimentConfigError(f"experiment {name}: variant names are at most 64 chars")
        control = next((v for v in variants if v.name == "control"), variants[0])
        if control.template or control.templates_dir or control.ranking or control.preferences:
            raise ExperimentConfigError(
                f"experiment {name}: the control ({control.name}) must change nothing"
            )
        if sum(v.weight for v in variants) <= 0:
            raise ExperimentConfigError(f"experiment {name}: weights sum to zero")
        variants = [dataclasses.replace(v, control=v is control) for v in variants]
        experiments.append(
            Experiment(name, kind, tuple(variants), str(raw.get("description", "")), traffic)
        )
    return ExperimentRegistry(tuple(experiments), source)


def load_experiments(config_file: Path | None = None) -> ExperimentRegistry:
    """From ``$TAILORBOT_EXPERIMENTS_FILE``, else ``config_file`` (default ./tailorbot.toml);
    no file or no ``[experiments]`` table means no experiments."""
    env = os.environ.get(ENV_FILE)
    path = Path(env) if env else (config_file or Path("tailorbot.toml"))
    if not path.is_file():
        if env:
            raise ExperimentConfigError(f"{ENV_FILE}={env}: no such file")
        return ExperimentRegistry()
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    table = data.get("experiments", {})
    if not isinstance(table, dict):
        raise ExperimentConfigError(f"{path}: [experiments] must be a table")
    return parse_experiments(table, base=path.parent, source=str(path))
