"""Apply Alembic revisions to a :class:`~bot.storage.database.Database`, on either backend.

Alembic runs through SQLAlchemy's async engine (aiosqlite or asyncpg, the same drivers the
bot uses), on its own short-lived connection. A SQLite file from before Alembic (schema
counted by ``PRAGMA user_version``, 1…5) is adopted by stamping the matching revision, never
recreated. A database at a revision this code does not know is refused untouched.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.storage.database import Database, DatabaseTooNew

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-run chatter; we log what ran

# `PRAGMA user_version` of pre-Alembic SQLite files → the revision holding the same schema.
USER_VERSION_REVISIONS = {1: "0001", 2: "0002", 3: "0003", 4: "0004", 5: "0005"}


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "bot.storage:migrations")
    config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None
    return head


def _engine(db: Database) -> AsyncEngine:
    engine = create_async_engine(db.sqlalchemy_url, poolclass=NullPool)
    if db.dialect == "sqlite":
        # pysqlite's own transaction handling would run DDL outside any transaction; let
        # SQLAlchemy emit BEGIN itself (SQLAlchemy's documented recipe), so a failing
        # revision rolls back whole.
        @event.listens_for(engine.sync_engine, "connect")
        def _autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _current(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return heads[0] if heads else None


def _check_known(revision: str | None, label: str) -> None:
    if revision is None:
        return
    try:
        known = script_directory().get_revision(revision)
    except Exception:
        known = None
    if known is None:
        raise DatabaseTooNew(
            f"{label} is at schema revision {revision}, which this Circlekeeper does not know "
            f"(it knows up to {head_revision()}). Upgrade Circlekeeper, or restore a backup made "
            "by this version."
        )


def _upgrade(connection: Connection, label: str) -> list[str]:
    current = _current(connection)
    if current is None and connection.dialect.name == "sqlite":
        version = int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)
        if version > max(USER_VERSION_REVISIONS):
            raise DatabaseTooNew(
                f"{label} is at schema version {version}, but this Circlekeeper knows only up "
                f"to {max(USER_VERSION_REVISIONS)} before its Alembic revisions. Upgrade "
                "Circlekeeper, or restore a backup made by this version."
            )
        if version:
            command.stamp(alembic_config(connection), USER_VERSION_REVISIONS[version])
            current = USER_VERSION_REVISIONS[version]
            log.info("Adopted a schema at user_version %d as revision %s", version, current)
    _check_known(current, label)
    pending = [
        rev.revision
        for rev in script_directory().iterate_revisions("heads", current or "base")
        if rev.revision != current
    ]
    pending.reverse()
    if pending:
        command.upgrade(alembic_config(connection), "head")
    connection.commit()  # adoption and every pending revision, together or not at all
    for revision in pending:
        log.info("Applied migration %s", revision)
    return pending


async def upgrade(db: Database) -> list[str]:
    engine = _engine(db)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_upgrade, db.label)
    finally:
        await engine.dispose()


async def current_revision(db: Database) -> str | None:
    engine = _engine(db)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()
