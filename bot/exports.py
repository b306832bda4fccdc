"""Export files written for a person (the terminal's ``/export``), kept outside the checkout.

Chat platforms deliver an export as an upload; the terminal has to write a file. It goes to
the bot's data directory (``data_dir``, by default the user data directory from
platformdirs), never the working directory, which after ``make run`` is the repository. The
file is personal data, so it is readable by its owner only, and ``/forget`` deletes it with
everything else (:func:`remove_exports` runs after the deletion commits).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings, data_dir
from profiles.models import Person

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def exports_dir(settings: Settings) -> Path:
    """A folder per database: the data directory is the user's, shared by every database
    and checkout on the machine, and a /forget in one deleted the export of a same-named
    person of another (and exports of the same name overwrote each other)."""
    return data_dir(settings) / "exports" / _database_key(settings.database_url)


def _database_key(url: str) -> str:
    """Which database, in a folder name: a digest of its URL without its password."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = url
    return hashlib.sha256(shown.encode()).hexdigest()[:12]


def export_path(settings: Settings, platform: str, workspace: str, user_id: str) -> Path:
    """One file per identity, overwritten by the next export (the newest copy is the one the
    person asked for; older copies would only be more personal data lying around)."""
    return exports_dir(settings) / _file_name(platform, workspace, user_id)


def _file_name(platform: str, workspace: str, user_id: str) -> str:
    name = "-".join(_UNSAFE.sub("_", part) for part in (platform, workspace, user_id))
    return f"tailorbot-export-{name}.json"


def save_export(
    settings: Settings, platform: str, workspace: str, user_id: str, payload: bytes
) -> Path:
    path = export_path(settings, platform, workspace, user_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 from the start, so there is no moment where others could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
    os.chmod(path, 0o600)
    return path


def remove_exports(settings: Settings, platform: str, workspace: str, user_id: str) -> bool:
    """Delete the person's export file; True when there was one. Also the file of the same
    name where exports were kept before they had a folder per database: whose database it
    came from cannot be told, and a forgotten person's copy must not stay."""
    removed = False
    legacy = data_dir(settings) / "exports" / _file_name(platform, workspace, user_id)
    for path in (export_path(settings, platform, workspace, user_id), legacy):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed = True
    return removed


async def remove_exports_of(settings: Settings, person: Person) -> None:
    """After-commit step of ``/forget``: no export file outlives the person's rows."""
    remove_exports(settings, person.platform, person.workspace, person.user_id)
