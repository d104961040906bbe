"""The database: SQLite (one aiosqlite connection) or PostgreSQL (an asyncpg pool).

Every access goes through :meth:`Database.transaction` (writes) or :meth:`Database.read`,
each handing out a :class:`Tx`. Repositories write one portable SQL dialect with ``?``
placeholders (the PostgreSQL side numbers them ``$1``, ``$2``, …), so the same repository
code and the same domain results hold on both backends.

- **SQLite**: WAL, foreign keys, ``BEGIN IMMEDIATE`` for writes; one connection, one lock,
  because statements from concurrent tasks on a shared connection would otherwise interleave
  inside each other's transactions. One writer at a time.
- **PostgreSQL**: a pool; each read or write gets its own connection and a READ COMMITTED
  transaction, so they run concurrently. Read-then-write use cases stay correct because
  repositories write through unique constraints (``ON CONFLICT``), conditional updates
  (``… WHERE closed_at IS NULL``) and, where a decision rests on rows read first, a row lock
  (:meth:`Tx.for_update`, :meth:`Tx.for_share`) or an advisory lock (:meth:`Tx.serialize`).

Schema changes are Alembic revisions (:mod:`bot.storage.migrations`), tracked in the
database's ``alembic_version`` table on both backends.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import asyncpg

log = logging.getLogger(__name__)

POSTGRES_SCHEMES = ("postgresql", "postgres")


class DatabaseTooNew(Exception):
    """The database was written by a newer Circlekeeper; refusing to run rather than downgrade."""


class DatabaseBusy(Exception):
    """A write could not begin: another writer held the database too long. Nothing was written."""


BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 2  # a write gives up after about 10 s of another process holding the lock


class DatabaseUnavailable(Exception):
    """The PostgreSQL server could not be reached or refused the login."""


class StorageError(Exception):
    """A database error, the same type on both backends (what callers may catch)."""


def is_postgres_url(target: str | Path) -> bool:
    return isinstance(target, str) and urlsplit(target).scheme in POSTGRES_SCHEMES


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


class Tx:
    """The statements available inside a read or a transaction (both backends).

    Rows support ``row["column"]``, ``row[0]``, ``row.keys()`` and ``tuple(row)``.
    """

    dialect: str

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """An ``INSERT … RETURNING id``: the new id, or None when ``ON CONFLICT DO NOTHING`` hit."""
        value = await self.scalar(sql, params)
        return None if value is None else int(value)

    # Row locks for a read whose result a write depends on. SQLite needs none: its write
    # transactions already run one at a time (BEGIN IMMEDIATE), so these are empty there.
    def for_update(self) -> str:
        """Appended to a SELECT: ``FOR UPDATE`` on PostgreSQL."""
        return ""

    def for_share(self, table: str) -> str:
        """Appended to a SELECT: ``FOR SHARE OF table`` on PostgreSQL."""
        return ""

    async def serialize(self, key: str) -> None:
        """Run one at a time with other write transactions serializing the same key.

        A transaction-scoped advisory lock on PostgreSQL, for decisions that rest on rows
        that may not exist yet (a count, a limit); nothing on SQLite (one writer already).
        """

    async def after_bulk_insert(self, primary_keys: dict[str, list[str]]) -> None:
        """After rows were inserted with their ids (a copy): let generated ids continue after them."""


class SqliteTx(Tx):
    """Each method is one trip to aiosqlite's thread (those trips dominate a command's time)."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            cursor = await self._conn.execute(sql, params)
        except sqlite3.IntegrityError as error:
            raise StorageError(str(error)) from error
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._conn.execute_fetchall(sql, params))


_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=1024)
def to_numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …`` (repository SQL has no ``?`` in literals)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def _rowcount(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTx(Tx):
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            return _rowcount(await self._conn.execute(to_numbered(sql), *params))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise StorageError(str(error)) from error

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(to_numbered(sql), list(rows))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._conn.fetch(to_numbered(sql), *params))

    def for_update(self) -> str:
        return " FOR UPDATE"

    def for_share(self, table: str) -> str:
        return f" FOR SHARE OF {table}"

    async def serialize(self, key: str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)

    async def after_bulk_insert(self, primary_keys: dict[str, list[str]]) -> None:
        for table, keys in primary_keys.items():
            if len(keys) != 1:
                continue
            sequence = await self._conn.fetchval(
                "SELECT pg_get_serial_sequence($1, $2)", table, keys[0]
            )
            if sequence is not None:
                await self._conn.execute(
                    f"SELECT setval($1, COALESCE(MAX({keys[0]}), 1), MAX({keys[0]}) IS NOT NULL) "
                    f"FROM {table}",
                    sequence,
                )


class Database:
    """Open with :meth:`open`: a SQLite path, or a ``postgresql://`` URL."""

    dialect: str
    label: str  # what to call it in messages (a path, or a URL without its password)
    closed: bool = False  # set by close(): background workers stop rather than spin on it

    @classmethod
    async def open(cls, target: str | Path) -> Database:
        if is_postgres_url(target):
            return await PostgresDatabase.connect(str(target))
        return await SqliteDatabase.connect(Path(target))

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A write transaction: committed on success, rolled back whole on any error."""
        raise NotImplementedError

    def read(self) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError

    @property
    def sqlalchemy_url(self) -> str:
        """The same database for SQLAlchemy (Alembic runs the migrations through it)."""
        raise NotImplementedError

    async def migrate(self) -> list[str]:
        """Apply pending migrations (Alembic revisions); return the revisions applied."""
        from bot.storage.migrations.runner import upgrade

        return await upgrade(self)

    async def schema_revision(self) -> str | None:
        from bot.storage.migrations.runner import current_revision

        return await current_revision(self)

    async def table_columns(self) -> dict[str, list[str]]:
        """Every application table and its columns, in order."""
        raise NotImplementedError

    async def primary_keys(self) -> dict[str, list[str]]:
        """Every application table and its primary-key columns, in order."""
        raise NotImplementedError

    async def foreign_key_parents(self) -> dict[str, set[str]]:
        """Every application table and the tables its foreign keys point at."""
        raise NotImplementedError


async def _sqlite_connect(path: Path) -> aiosqlite.Connection:
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


class SqliteDatabase(Database):
    """A writer connection, and a reader connection so reads never wait behind a write.

    With WAL, readers see the last committed state while a writer works or waits for the
    lock; so a command that only reads answers at once even when another process holds the
    write lock. (An in-memory database has one connection for both.)
    """

    dialect = "sqlite"

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, reader: aiosqlite.Connection | None = None
    ) -> None:
        self._conn = conn
        self._reader = reader or conn
        self.path = path
        self.label = str(path)
        self._lock = asyncio.Lock()
        self._read_lock = asyncio.Lock() if reader is not None else self._lock

    @classmethod
    async def connect(cls, path: Path) -> SqliteDatabase:
        if str(path) == ":memory:":
            return cls(await _sqlite_connect(path), path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await _sqlite_connect(path)
        try:
            reader = await _sqlite_connect(path)
            await reader.execute("PRAGMA query_only=ON")
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path, reader)

    async def close(self) -> None:
        self.closed = True
        async with self._lock:
            if self._reader is not self._conn:
                async with self._read_lock:
                    await self._reader.close()
            await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Raises :class:`DatabaseBusy` (having written nothing) when another process holds
        the write lock for longer than the busy timeout, twice."""
        async with self._lock:
            await self._begin()
            try:
                yield SqliteTx(self._conn)
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
            yield SqliteTx(self._reader)

    @property
    def sqlalchemy_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"

    async def user_version(self) -> int:
        """The pre-Alembic schema counter (``PRAGMA user_version``), read to adopt old files."""
        async with self.read() as tx:
            return int(await tx.scalar("PRAGMA user_version"))

    async def _tables(self, tx: Tx) -> list[str]:
        rows = await tx.fetchall(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version' ORDER BY name"
        )
        return [row["name"] for row in rows]

    async def table_columns(self) -> dict[str, list[str]]:
        async with self.read() as tx:
            return {
                table: [c["name"] for c in await tx.fetchall(f"PRAGMA table_info({table})")]
                for table in await self._tables(tx)
            }

    async def primary_keys(self) -> dict[str, list[str]]:
        async with self.read() as tx:
            keys = {}
            for table in await self._tables(tx):
                columns = [c for c in await tx.fetchall(f"PRAGMA table_info({table})") if c["pk"]]
                keys[table] = [c["name"] for c in sorted(columns, key=lambda c: c["pk"])]
            return keys

    async def foreign_key_parents(self) -> dict[str, set[str]]:
        async with self.read() as tx:
            return {
                table: {r["table"] for r in await tx.fetchall(f"PRAGMA foreign_key_list({table})")}
                for table in await self._tables(tx)
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


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.url = url
        self.label = redact_url(url)

    @classmethod
    async def connect(cls, url: str, max_size: int = 10) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=max_size,
                server_settings={"lock_timeout": f"{BUSY_TIMEOUT_MS * WRITE_ATTEMPTS}ms"},
            )
        except (OSError, asyncpg.PostgresError) as error:
            raise DatabaseUnavailable(
                f"cannot open {redact_url(url)}: {type(error).__name__}: {error}"
            ) from None
        return cls(pool, url)

    async def close(self) -> None:
        self.closed = True
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Raises :class:`DatabaseBusy` (rolled back, nothing written) when no connection
        frees up, or a lock it needs stays held, for the same bounded wait as SQLite's."""
        try:
            conn = await self._pool.acquire(timeout=BUSY_TIMEOUT_MS * WRITE_ATTEMPTS / 1000)
        except TimeoutError:
            raise DatabaseBusy("no database connection became free") from None
        try:
            async with conn.transaction():
                try:
                    yield PostgresTx(conn)
                except asyncpg.LockNotAvailableError as error:
                    raise DatabaseBusy("another writer held a lock this write needs") from error
        finally:
            await self._pool.release(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            yield PostgresTx(conn)

    @property
    def sqlalchemy_url(self) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(scheme="postgresql+asyncpg"))

    async def table_columns(self) -> dict[str, list[str]]:
        async with self.read() as tx:
            rows = await tx.fetchall(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name != 'alembic_version' "
                "ORDER BY table_name, ordinal_position"
            )
        tables: dict[str, list[str]] = {}
        for row in rows:
            tables.setdefault(row["table_name"], []).append(row["column_name"])
        return tables

    async def primary_keys(self) -> dict[str, list[str]]:
        async with self.read() as tx:
            rows = await tx.fetchall(
                "SELECT c.relname AS table_name, a.attname AS column_name "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
                "WHERE i.indisprimary AND n.nspname = current_schema() "
                "AND c.relname != 'alembic_version' ORDER BY c.relname, k.ord"
            )
        keys: dict[str, list[str]] = {t: [] for t in await self.table_columns()}
        for row in rows:
            keys[row["table_name"]].append(row["column_name"])
        return keys

    async def foreign_key_parents(self) -> dict[str, set[str]]:
        async with self.read() as tx:
            rows = await tx.fetchall(
                "SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k "
                "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE k.contype = 'f' AND n.nspname = current_schema()"
            )
        parents: dict[str, set[str]] = {t: set() for t in await self.table_columns()}
        for row in rows:
            parents[row["child"]].add(row["parent"])
        return parents
