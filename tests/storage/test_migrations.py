from pathlib import Path

import pytest

from bot.storage.database import Database, DatabaseTooNew, migration_files, split_statements


async def test_migrates_an_empty_database_to_the_latest_version(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "new.db") as db:
        applied = await db.migrate()
        assert applied == [name for _, name, _ in migration_files()]
        assert await db.user_version() == len(migration_files())
        tables = await db.table_columns()
        assert {"meta", "scheduled_jobs", "command_sync", "guild_departures"} <= set(tables)


async def test_rerunning_migrations_is_a_no_op(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "again.db") as db:
        await db.migrate()
        before = await db.table_columns()
        assert await db.migrate() == []
        assert await db.table_columns() == before


async def test_a_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    async with await Database.open(path) as db:
        await db.migrate()
        async with db.transaction() as tx:
            await tx.execute("PRAGMA user_version = 999")
    before = path.read_bytes()
    async with await Database.open(path) as db:
        with pytest.raises(DatabaseTooNew, match="schema version 999"):
            await db.migrate()
        assert await db.user_version() == 999
    assert path.read_bytes() == before


async def test_a_failing_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "half.db") as db:
        with pytest.raises(Exception, match="no such table"):
            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE half_written (x)")
                await tx.execute("INSERT INTO missing_table VALUES (1)")
        assert "half_written" not in await db.table_columns()


def test_split_statements_keeps_semicolons_inside_strings() -> None:
    script = "CREATE TABLE a (x TEXT DEFAULT ';');\n-- a comment\nINSERT INTO a VALUES ('1;2');\n"
    assert split_statements(script) == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "-- a comment\nINSERT INTO a VALUES ('1;2');",
    ]


def test_shipped_migrations_are_numbered_without_gaps() -> None:
    versions = [version for version, _, _ in migration_files()]
    assert versions == list(range(1, len(versions) + 1))
