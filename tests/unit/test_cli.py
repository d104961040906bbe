"""The `circlekeeper` command: one clear line and status 2 for bad settings; the admin commands."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "q1Xx7hUeU9qA7jPZ7hV0YV3lK0F3xP1bXb6xYQ2pJZk="


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "CIRCLEKEEPER_", "LOG_LEVEL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "x" * 30, "DISCORD_API_BASE": "not-a-url"}, "DISCORD_API_BASE"),
        ({"DISCORD_TOKEN": "x" * 30, "LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
    ],
)
def test_run_refuses_bad_settings_with_one_line_and_status_2(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    result = cli("run", cwd=tmp_path, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"circlekeeper: {variable}:")
    assert "Traceback" not in result.stderr
    assert "x" * 30 not in result.stderr + result.stdout


def test_check_on_defaults_creates_and_validates_the_database(tmp_path: Path) -> None:
    result = cli("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "settings OK" in result.stdout
    assert "key OK" in result.stdout
    assert (tmp_path / "data" / "circlekeeper.db").exists()
    assert (tmp_path / "data" / "circlekeeper.key").stat().st_mode & 0o777 == 0o600


def test_check_refuses_a_wrong_key_and_a_newer_database(tmp_path: Path) -> None:
    assert cli("check", cwd=tmp_path).returncode == 0
    other_key = "q1Xx7hUeU9qA7jPZ7hV0YV3lK0F3xP1bXb6xYQ2pJZk="
    wrong = cli("check", cwd=tmp_path, CIRCLEKEEPER_DATA_KEY=other_key)
    assert wrong.returncode == 2
    assert "does not open" in wrong.stderr and "Traceback" not in wrong.stderr

    conn = sqlite3.connect(tmp_path / "data" / "circlekeeper.db")
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    conn.close()
    newer = cli("check", cwd=tmp_path)
    assert newer.returncode == 2
    assert "schema revision 0999_from_the_future" in newer.stderr


def test_migrate_backup_and_rotate_key(tmp_path: Path) -> None:
    assert "Applied" in cli("migrate", cwd=tmp_path).stdout
    assert "none pending" in cli("migrate", cwd=tmp_path).stdout
    backup = cli("backup", str(tmp_path / "copy.db"), cwd=tmp_path)
    assert backup.returncode == 0, backup.stderr
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy.close()
    assert (
        cli("backup", str(tmp_path / "copy.db"), cwd=tmp_path).returncode == 1
    )  # never overwrites

    assert cli("check", cwd=tmp_path).returncode == 0  # creates the data key
    key_path = tmp_path / "data" / "circlekeeper.key"
    old_key = key_path.read_text()
    rotated = cli("rotate-key", cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert key_path.read_text() != old_key
    assert cli("check", cwd=tmp_path).returncode == 0  # the new key opens the database


def test_copy_db_prints_each_table_verified_and_the_copy_opens_with_the_same_key(
    tmp_path: Path,
) -> None:
    assert cli("check", cwd=tmp_path).returncode == 0  # a database and its key
    copied = cli("copy-db", "data/circlekeeper.db", "copy/circlekeeper.db", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert "  meta " in copied.stdout and "1 row(s)" in copied.stdout
    assert "row counts and checksums match" in copied.stdout
    key = (tmp_path / "data" / "circlekeeper.key").read_text().strip()
    on_copy = cli(
        "check",
        cwd=tmp_path,
        CIRCLEKEEPER_DB="copy/circlekeeper.db",
        CIRCLEKEEPER_DATA_KEY=key,
    )
    assert on_copy.returncode == 0, on_copy.stderr
    again = cli("copy-db", "data/circlekeeper.db", "copy/circlekeeper.db", cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr


def test_an_unreachable_postgresql_server_is_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    url = "postgresql://ck:s3cret-pw@127.0.0.1:1/circlekeeper"  # nothing listens on port 1
    result = cli("check", cwd=tmp_path, CIRCLEKEEPER_DB=url, CIRCLEKEEPER_DATA_KEY=GOOD_KEY)
    assert result.returncode == 2
    assert "cannot open postgresql://ck:***@127.0.0.1:1/circlekeeper" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_version_and_help(tmp_path: Path) -> None:
    assert cli("--version", cwd=tmp_path).stdout.startswith("circlekeeper ")
    help_text = cli("--help", cwd=tmp_path).stdout
    for command in ("run", "check", "migrate", "backup", "copy-db", "rotate-key", "sandbox"):
        assert command in help_text
