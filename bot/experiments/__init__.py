"""Online experiments on prompt and ranking variants, measured with the people's own
feedback (see docs/measurement.md, "Online experiments").

The core asks :func:`variant_for` what applies to a person when it builds their prompt or
ranks items for them; the CLI (``tailorbot experiments``) reports, stops and promotes.
"""

from bot.experiments.assign import (
    PROMOTED,
    RUNNING,
    STOPPED,
    bucket,
    choose,
    current_registry,
    set_state,
    state_of,
    use_registry_file,
    variant_for,
)
from bot.experiments.config import (
    Experiment,
    ExperimentConfigError,
    ExperimentRegistry,
    Variant,
    load_experiments,
    parse_experiments,
)
from bot.experiments.render import renderer_for

__all__ = [
    "PROMOTED",
    "RUNNING",
    "STOPPED",
    "Experiment",
    "ExperimentConfigError",
    "ExperimentRegistry",
    "Variant",
    "bucket",
    "choose",
    "current_registry",
    "load_experiments",
    "parse_experiments",
    "renderer_for",
    "set_state",
    "state_of",
    "use_registry_file",
    "variant_for",
]
