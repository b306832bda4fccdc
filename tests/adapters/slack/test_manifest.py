"""The manifest `tailorbot slack manifest` prints passes Slack's own published schema.

The schema is vendored next to this file (``slack_manifest.schema.2.0.0.json``) from
https://github.com/slackapi/manifest-schema (schemas/manifest.schema.2.0.0.json, MIT; the exact
commit is in the file's ``$comment``), so the check runs offline and cannot change under us.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters.slack.manifest import build_manifest
from bot.config import Settings

SCHEMA_FILE = Path(__file__).with_name("slack_manifest.schema.2.0.0.json")


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(validator: jsonschema.protocols.Validator, manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(manifest)]


@pytest.mark.parametrize("request_url", [None, "https://bot.example.com/slack/events"])
@pytest.mark.parametrize("oauth", [False, True])
def test_manifest_passes_slacks_schema(
    validator: jsonschema.protocols.Validator, request_url: str | None, oauth: bool
) -> None:
    overrides: dict[str, Any] = {}
    if oauth:
        overrides = {"slack_client_id": "1.2", "slack_client_secret": "s"}
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    manifest = build_manifest(settings, request_url=request_url)
    assert errors(validator, manifest) == []
    redirects = manifest["oauth_config"].get("redirect_urls")
    if oauth and request_url:
        assert redirects == ["https://bot.example.com/slack/oauth_redirect"]
    else:
        assert redirects is None


def test_schema_catches_an_empty_usage_hint(validator: jsonschema.protocols.Validator) -> None:
    """The schema really checks what broke before: an empty usage hint is refused (so the
    test above would have failed on the old `/export` entry)."""
    manifest = build_manifest(Settings(_env_file=None))  # type: ignore[call-arg]
    commands = manifest["features"]["slash_commands"]
    assert all(c.get("usage_hint", "x") for c in commands)
    commands[1]["usage_hint"] = ""
    assert any("usage_hint" in e for e in errors(validator, manifest))


def test_the_manifest_in_the_docs_is_what_the_command_prints() -> None:
    """docs/slack.md's copy had gone stale (no /link, no /memory, an old /forget hint)."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "slack.md").read_text("utf-8")
    block = doc.split("## The manifest", 1)[1].split("```json\n", 1)[1].split("\n```", 1)[0]
    settings = Settings(_env_file=None, bot_name="tailorbot")  # type: ignore[call-arg]
    assert json.loads(block) == build_manifest(settings)
