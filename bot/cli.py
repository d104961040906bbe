"""`circlekeeper`: run, check, migrate, backup, copy-db, rotate-key, sandbox."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from bot import __version__
from bot.errors import ConfigError
from bot.logging_setup import configure_logging
from bot.settings import Settings, load_settings, sharding
from bot.storage.copy import CopyError
from bot.storage.crypto import (
    TextCipher,
    WrongKeyError,
    generate_key,
    load_or_create_key,
    write_key_file,
)
from bot.storage.database import (
    Database,
    DatabaseTooNew,
    DatabaseUnavailable,
    SqliteDatabase,
    is_postgres_url,
)

EXIT_CONFIG = 2


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="circlekeeper", description="A Discord bot for peer-support circles."
    )
    top.add_argument("--version", action="version", version=f"circlekeeper {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="connect to Discord and serve the circles")
    run.add_argument(
        "--shards",
        metavar="IDS",
        help="the shards this process runs, e.g. 0-3 or 0,2 (other processes run the rest)",
    )
    run.add_argument(
        "--shard-count", metavar="N", help="the total number of shards across all processes"
    )
    sub.add_parser("check", help="validate settings, database and key; print what would run")
    sub.add_parser("migrate", help="apply pending database migrations and exit")
    backup = sub.add_parser("backup", help="copy the database safely, even while the bot runs")
    backup.add_argument("path", type=Path, help="where to write the copy")
    copy = sub.add_parser(
        "copy-db", help="copy every table to another database (SQLite ⇄ PostgreSQL), bot stopped"
    )
    copy.add_argument("source", help="a SQLite path or a postgresql:// URL")
    copy.add_argument("target", help="an empty (or new) SQLite path or postgresql:// URL")
    sub.add_parser("rotate-key", help="re-encrypt stored text under a new data key")
    sandbox = sub.add_parser(
        "sandbox", help="a local Discord with simulated members: try every feature"
    )
    sandbox.add_argument(
        "--interactive", action="store_true", help="type slash commands as a member"
    )
    sandbox.add_argument(
        "--record", type=Path, metavar="FILE", help="write the transcript as JSON lines"
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return 0
    try:
        settings = load_settings()
        password = urlsplit(settings.db_url).password if settings.db_url else None
        configure_logging(settings.log_level, secrets=(settings.token, settings.data_key, password))
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as error:
        print(f"circlekeeper: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except (WrongKeyError, DatabaseTooNew, DatabaseUnavailable, CopyError) as error:
        print(f"circlekeeper: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        from bot.startup import run

        settings.require_token()
        if args.shards is not None or args.shard_count is not None:  # the flags win over .env
            ownership = sharding(args.shards, args.shard_count, settings.db_url)
            settings = replace(settings, ownership=ownership)
        await run(settings)
        return 0
    if args.command == "check":
        return await _check(settings)
    if args.command == "migrate":
        async with await Database.open(settings.database) as db:
            applied = await db.migrate()
        print(f"Applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
        return 0
    if args.command == "backup":
        return await _backup(settings, args.path)
    if args.command == "copy-db":
        return await _copy_db(args.source, args.target)
    if args.command == "rotate-key":
        return await _rotate_key(settings)
    if args.command == "sandbox":
        from bot.sandbox.runner import run_sandbox

        return await run_sandbox(interactive=args.interactive, record=args.record)
    raise AssertionError(args.command)


async def _check(settings: Settings) -> int:
    from bot.app import EXTENSIONS
    from bot.startup import open_database
    from bot.storage.migrations.runner import head_revision
    from bot.storage.repositories import jobs as jobs_repo

    db, _ = await open_database(settings)
    try:
        version = await db.schema_revision()
        async with db.read() as tx:
            jobs = len(await jobs_repo.all_jobs(tx))
    finally:
        await db.close()
    print(f"circlekeeper {__version__}: settings OK")
    head = head_revision()
    print(f"  database     {settings.database_label} (schema {version}/{head}, key OK)")
    print(f"  REST         {settings.api_base}")
    print(f"  gateway      {settings.gateway_url}")
    print(f"  shards       {settings.shard_label}")
    scope = f"server {settings.dev_guild_id}" if settings.dev_guild_id else "global"
    print(f"  commands     synced to {scope} when they change")
    print(f"  token        {'set' if settings.token else 'NOT SET (needed by `run`)'}")
    print(f"  stored jobs  {jobs}")
    print(f"  features     {', '.join(e.removeprefix('cogs.') for e in EXTENSIONS)}")
    return 0


async def _backup(settings: Settings, target: Path) -> int:
    if target.exists():  # noqa: ASYNC240 (a one-off CLI check before any I/O starts)
        print(f"circlekeeper: {target} already exists; choose a new path", file=sys.stderr)
        return 1
    if settings.db_url:
        print(
            "circlekeeper: `backup` copies a SQLite file; for PostgreSQL use pg_dump, or "
            "`circlekeeper copy-db` into a new SQLite file",
            file=sys.stderr,
        )
        return 1
    async with await SqliteDatabase.connect(settings.db_path) as db:
        assert isinstance(db, SqliteDatabase)
        await db.backup_to(target)
    print(
        f"Backed up {settings.db_path} to {target}. Keep the data key with it: {settings.key_path}"
    )
    return 0


async def _copy_db(source: str, target: str) -> int:
    from bot.storage.copy import copy_database

    def open_target(where: str) -> str | Path:
        return where if is_postgres_url(where) else Path(where)

    if not is_postgres_url(source) and not Path(source).is_file():  # noqa: ASYNC240 (before any I/O)
        print(f"circlekeeper: {source} does not exist", file=sys.stderr)
        return 1
    async with (
        await Database.open(open_target(source)) as src,
        await Database.open(open_target(target)) as dst,
    ):
        print(f"Copying {src.label} → {dst.label} (the bot must be stopped)")
        checks = await copy_database(src, dst)
    for check in checks:
        print(f"  {check.table:<22} {check.rows:>8} row(s)  sha256 {check.sha256[:16]}…  ok")
    print(
        f"Copied {len(checks)} table(s); row counts and checksums match. Use the same data "
        "key with the copy, then point CIRCLEKEEPER_DB at it."
    )
    return 0


async def _rotate_key(settings: Settings) -> int:
    from bot.startup import open_database
    from bot.storage.keys import rotate_key

    db, old = await open_database(settings)
    try:
        new_key = generate_key()
        pending = settings.key_path.with_name(settings.key_path.name + ".new")
        write_key_file(pending, new_key)  # kept until the database commits, so no key is ever lost
        count = await rotate_key(db, old, TextCipher(new_key))
    finally:
        await db.close()
    if settings.data_key:
        print(
            f"Re-encrypted {count} value(s). The new key is in {pending}: put it in "
            "CIRCLEKEEPER_DATA_KEY before the next start, then delete that file."
        )
    else:
        pending.replace(settings.key_path)
        print(f"Re-encrypted {count} value(s) under a new key, written to {settings.key_path}.")
    return 0


__all__ = ["load_or_create_key", "main"]
