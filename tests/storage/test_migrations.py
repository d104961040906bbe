"""Alembic revisions on both backends, and adoption of pre-Alembic SQLite files."""

import sqlite3
from pathlib import Path

import pytest

from bot.storage.database import Database, DatabaseTooNew, SqliteDatabase
from bot.storage.migrations.runner import USER_VERSION_REVISIONS, head_revision, script_directory

# The hand-run SQL migrations as they shipped before Alembic (PRAGMA user_version 1..5).
PRE_ALEMBIC = Path(__file__).parent / "fixtures" / "pre_alembic"


def _all_revisions() -> list[str]:
    return [rev.revision for rev in reversed(list(script_directory().walk_revisions()))]


async def test_migrates_an_empty_database_to_the_latest_revision(
    database_target: str | Path,
) -> None:
    async with await Database.open(database_target) as db:
        assert await db.schema_revision() is None
        assert await db.migrate() == _all_revisions()
        assert await db.schema_revision() == head_revision()
        tables = await db.table_columns()
        assert {"meta", "scheduled_jobs", "command_sync", "guild_departures"} <= set(tables)
        assert "alembic_version" not in tables  # bookkeeping, not application data


async def test_rerunning_migrations_is_a_no_op(database_target: str | Path) -> None:
    async with await Database.open(database_target) as db:
        await db.migrate()
        before = await db.table_columns()
        assert await db.migrate() == []
        assert await db.table_columns() == before


async def test_a_newer_database_is_refused_and_left_untouched(database_target: str | Path) -> None:
    async with await Database.open(database_target) as db:
        await db.migrate()
        async with db.transaction() as tx:
            await tx.execute("UPDATE alembic_version SET version_num = '0999_future'")
    async with await Database.open(database_target) as db:
        with pytest.raises(DatabaseTooNew, match="schema revision 0999_future"):
            await db.migrate()
        assert await db.schema_revision() == "0999_future"
        async with db.read() as tx:
            assert await tx.scalar("SELECT COUNT(*) FROM meta") == 0


async def test_a_failing_transaction_leaves_nothing_half_applied(
    database_target: str | Path,
) -> None:
    async with await Database.open(database_target) as db:
        with pytest.raises(Exception, match="missing_table"):
            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE half_written (x INTEGER)")
                await tx.execute("INSERT INTO missing_table VALUES (1)")
        assert "half_written" not in await db.table_columns()


@pytest.mark.parametrize("version", sorted(USER_VERSION_REVISIONS))
async def test_a_pre_alembic_sqlite_file_is_adopted_not_recreated(
    tmp_path: Path, version: int
) -> None:
    """A file the hand-run migrations left at `PRAGMA user_version` N keeps its rows."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for script in sorted(PRE_ALEMBIC.glob("*.sql"))[:version]:
        conn.executescript(script.read_text())
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO meta (key, value) VALUES ('kept', x'01')")
    conn.commit()
    conn.close()
    async with await SqliteDatabase.connect(path) as db:
        assert await db.migrate() == _all_revisions()[version:]
        assert await db.schema_revision() == head_revision()
        async with db.read() as tx:
            assert await tx.scalar("SELECT value FROM meta WHERE key = 'kept'") == b"\x01"
        assert "outbox" in await db.table_columns()


async def test_a_pre_alembic_file_newer_than_its_last_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")  # as the bot leaves its files
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    before = path.read_bytes()
    async with await SqliteDatabase.connect(path) as db:
        with pytest.raises(DatabaseTooNew, match="schema version 999"):
            await db.migrate()
    assert path.read_bytes() == before


def test_revisions_form_one_line() -> None:
    script = script_directory()
    assert len(script.get_heads()) == 1
    assert _all_revisions()[: len(USER_VERSION_REVISIONS)] == list(USER_VERSION_REVISIONS.values())


def test_placeholders_are_numbered_for_postgresql() -> None:
    from bot.storage.database import to_numbered

    assert to_numbered("SELECT 1 WHERE a = ? AND b IN (?, ?)") == (
        "SELECT 1 WHERE a = $1 AND b IN ($2, $3)"
    )


async def test_stored_timers_learn_their_server_when_shard_routing_arrives(tmp_path: Path) -> None:
    """Revision 0006 routes existing timers by the circle, round or server they are about."""
    path = tmp_path / "timers.db"
    conn = sqlite3.connect(path)
    for script in sorted(PRE_ALEMBIC.glob("*.sql")):
        conn.executescript(script.read_text())
    conn.execute("PRAGMA user_version = 5")
    at = "2026-11-21T19:00:00.000000Z"
    conn.execute(
        "INSERT INTO circles (id, guild_id, name, channel_id, created_at) "
        "VALUES (7, 1001, 'c', 5, ?)",
        (at,),
    )
    conn.execute(
        "INSERT INTO rounds (id, circle_id, guild_id, slot, prompt, channel_id, opened_at, "
        "closes_at) VALUES (9, 7, 1001, 's', 'p', 5, ?, ?)",
        (at, at),
    )
    jobs = {
        "checkin-open:7": '{"circle_id": 7}',
        "checkin-close:9": '{"round_id": 9}',
        "purge-guild:2002": '{"guild_id": 2002}',
        "other": "{}",
    }
    conn.executemany(
        "INSERT INTO scheduled_jobs (job_id, kind, run_at, payload) VALUES (?, 'k', ?, ?)",
        [(job_id, at, payload) for job_id, payload in jobs.items()],
    )
    conn.commit()
    conn.close()
    async with await SqliteDatabase.connect(path) as db:
        await db.migrate()
        async with db.read() as tx:
            rows = await tx.fetchall("SELECT job_id, guild_id, claimed_by FROM scheduled_jobs")
    assert {r["job_id"]: (r["guild_id"], r["claimed_by"]) for r in rows} == {
        "checkin-open:7": (1001, None),
        "checkin-close:9": (1001, None),
        "purge-guild:2002": (2002, None),
        "other": (None, None),
    }
