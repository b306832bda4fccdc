"""Export files of the terminal's /export: where they go, and which a /forget removes."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings, data_dir
from bot.exports import export_path, remove_exports, save_export


def settings(database_url: str, where: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=where, _env_file=None)  # type: ignore[call-arg]


def test_a_forget_in_one_database_leaves_another_database_s_export(tmp_path):
    """The data directory is shared by every database on the machine: a /forget of "hank" in
    one deleted the export of another database's "hank", and their exports overwrote each
    other."""
    one = settings(f"sqlite:///{tmp_path / 'one.db'}", tmp_path)
    other = settings(f"sqlite:///{tmp_path / 'other.db'}", tmp_path)
    kept = save_export(other, "terminal", "local", "hank", b'{"theirs": true}')
    mine = save_export(one, "terminal", "local", "hank", b'{"mine": true}')
    assert kept != mine

    assert remove_exports(one, "terminal", "local", "hank")

    assert not mine.exists() and kept.read_bytes() == b'{"theirs": true}'


def test_a_database_s_password_is_not_what_names_its_folder(tmp_path):
    with_password = settings("postgresql://bot:secret@db.example/tailorbot", tmp_path)
    other_password = settings("postgresql://bot:changed@db.example/tailorbot", tmp_path)
    path = export_path(with_password, "slack", "T1", "U1")
    assert path == export_path(other_password, "slack", "T1", "U1")
    assert "secret" not in str(path)


def test_an_export_kept_before_folders_per_database_is_removed_too(tmp_path):
    """Written where every database's exports went: whose it was cannot be told, and a
    forgotten person's copy must not stay."""
    one = settings(f"sqlite:///{tmp_path / 'one.db'}", tmp_path)
    legacy = data_dir(one) / "exports" / "tailorbot-export-terminal-local-hank.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"{}")

    assert remove_exports(one, "terminal", "local", "hank")

    assert not legacy.exists()
