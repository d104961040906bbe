import asyncio
import sqlite3
from pathlib import Path

from bot.storage.database import SqliteDatabase


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


async def test_backup_of_a_database_in_use_is_consistent_and_identical(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    async with await SqliteDatabase.connect(source) as db:
        await db.migrate()
        stop = asyncio.Event()

        async def writer() -> None:
            n = 0
            while not stop.is_set():
                async with db.transaction() as tx:
                    await tx.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{n}", b"v" * 100)
                    )
                n += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.05)
        await db.backup_to(tmp_path / "during.db")  # while the writer runs
        stop.set()
        await task
        await db.backup_to(tmp_path / "after.db")
        async with db.read() as tx:
            rows = await tx.scalar("SELECT COUNT(*) FROM meta")

    during = sqlite3.connect(tmp_path / "during.db")
    try:
        assert during.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert 0 < during.execute("SELECT COUNT(*) FROM meta").fetchone()[0] <= rows
    finally:
        during.close()
    assert _dump(tmp_path / "after.db") == _dump(source)
