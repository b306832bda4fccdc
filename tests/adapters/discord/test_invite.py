"""Invite URL, permissions and the prefs value suggestions (pure functions)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from adapters.discord.commands import fixed_choices, value_suggestions
from adapters.discord.invite import client_id_from_token, invite_url
from profiles.preferences import SPECS


def test_invite_url_has_exactly_the_scopes_and_permissions_used() -> None:
    query = parse_qs(urlsplit(invite_url(123)).query)

    assert query["client_id"] == ["123"]
    assert query["scope"] == ["bot applications.commands"]
    permissions = discord.Permissions(int(query["permissions"][0]))
    assert permissions == discord.Permissions(
        view_channel=True, send_messages=True, send_messages_in_threads=True,
        read_message_history=True, embed_links=True, attach_files=True,
    )
    assert not permissions.administrator and not permissions.manage_messages


def test_client_id_comes_from_the_tokens_first_segment() -> None:
    first = base64.b64encode(b"1122334455667788").decode().rstrip("=")
    assert client_id_from_token(f"{first}.GhIjKl.signature") == 1122334455667788
    with pytest.raises(ValueError):
        client_id_from_token("not-a-token")


def test_fixed_choices_come_from_the_specs_and_validate() -> None:
    assert fixed_choices(SPECS["tone"]) == ["casual", "neutral", "formal"]
    assert fixed_choices(SPECS["emoji"]) == ["on", "off"]
    assert fixed_choices(SPECS["digest"]) == ["off", "daily", "weekdays", "weekly"]
    assert fixed_choices(SPECS["language"]) == []


def test_free_values_are_suggested_once_valid() -> None:
    assert value_suggestions("language", "pt-br") == ["pt_BR"]
    assert value_suggestions("language", "klingon!") == []
    assert value_suggestions("nonsense", "x") == []
