"""One aiosqlite connection, serialised, with numbered migrations.

Every access goes through :meth:`Database.transaction` (writes, ``BEGIN IMMEDIATE``) or
:meth:`Database.read`; both hold one lock, because statements from concurrent tasks on a
shared connection would otherwise interleave inside each other's transactions.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)


class DatabaseTooNew(Exception):
    """The file was written by a newer Circlekeeper; refusing to run rather than downgrade."""


class Tx:
    """The statements available inside a read or a transaction.

    Each method is one trip to aiosqlite's thread (cursors are not closed separately:
    sqlite3 cursors need no explicit close), because those trips dominate a command's time.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every shipped migration, in order."""
    found = []
    for entry in resources.files("bot.storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def split_statements(script: str) -> list[str]:
    """Split a SQL script into statements (``executescript`` would commit mid-migration)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise ValueError("migration ends with an incomplete statement")
    return statements


class DatabaseBusy(Exception):
    """A write could not begin: another writer held the database too long. Nothing was written."""


BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 2  # a write gives up after about 10 s of another process holding the lock


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        await conn.close()
        raise
    return conn


class Database:
    """A writer connection, and a reader connection so reads never wait behind a write.

    With WAL, readers see the last committed state while a writer works or waits for the
    lock; so a command that only reads answers at once even when another process holds the
    write lock. (An in-memory database has one connection for both.)
    """

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, reader: aiosqlite.Connection | None = None
    ) -> None:
        self._conn = conn
        self._reader = reader or conn
        self.path = path
        self._lock = asyncio.Lock()
        self._read_lock = asyncio.Lock() if reader is not None else self._lock

    @classmethod
    async def open(cls, path: Path) -> Database:
        if str(path) == ":memory:":
            return cls(await _connect(path), path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await _connect(path)
        try:
            reader = await _connect(path)
            await reader.execute("PRAGMA query_only=ON")
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path, reader)

    async def close(self) -> None:
        async with self._lock:
            if self._reader is not self._conn:
                async with self._read_lock:
                    await self._reader.close()
            await self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: committed on success, rolled back whole on any error.

        Raises :class:`DatabaseBusy` (having written nothing) when another process holds
        the write lock for longer than the busy timeout, twice.
        """
        async with self._lock:
            await self._begin()
            try:
                yield Tx(self._conn)
            except BaseException:
                await self._conn.rollback()
                raise
            else:
                await self._conn.commit()

    async def _begin(self) -> None:
        for _ in range(WRITE_ATTEMPTS):
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                log.warning("The database was locked by another writer; waiting again")
        raise DatabaseBusy("another writer held the database lock")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._read_lock:
            yield Tx(self._reader)

    async def user_version(self) -> int:
        async with self.read() as tx:
            return int(await tx.scalar("PRAGMA user_version"))

    async def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; return the names applied."""
        migrations = migration_files()
        current = await self.user_version()
        known = len(migrations)
        if current > known:
            raise DatabaseTooNew(
                f"{self.path} is at schema version {current}, but this Circlekeeper knows "
                f"only up to {known}. Upgrade Circlekeeper, or restore a backup made by this version."
            )
        applied = []
        for version, name, sql in migrations[current:]:
            async with self.transaction() as tx:
                for statement in split_statements(sql):
                    await tx.execute(statement)
                await tx.execute(f"PRAGMA user_version = {version}")
            applied.append(name)
            log.info("Applied migration %s", name)
        return applied

    async def table_columns(self) -> dict[str, list[str]]:
        async with self.read() as tx:
            tables = await tx.fetchall(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
            return {
                row["name"]: [
                    c["name"] for c in await tx.fetchall(f"PRAGMA table_info({row['name']})")
                ]
                for row in tables
            }

    async def backup_to(self, target: Path) -> None:
        """SQLite's online backup: a consistent copy even while the bot is writing."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with self._lock:
            dest = await aiosqlite.connect(target)
            try:
                await self._conn.backup(dest)
            finally:
                await dest.close()
