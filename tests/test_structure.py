"""Structural checks that walk the whole code base."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import discord
import pytest

import bot.domain
from bot.app import EXTENSIONS
from bot.storage import member_data
from bot.storage.database import Database

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_DOMAIN = ("discord", "aiosqlite", "apscheduler", "aiohttp", "sqlite3")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


DOMAIN_FILES = sorted((ROOT / "bot" / "domain").glob("*.py"))


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_domain_modules_do_no_io(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN_IN_DOMAIN, f"{path.name} imports {name}"
        if top == "bot":
            assert name.startswith("bot.domain") or name == "bot.errors", (
                f"{path.name} imports {name}"
            )


def test_domain_package_imports_without_discord_loaded() -> None:
    for module in pkgutil.iter_modules(bot.domain.__path__):
        importlib.import_module(f"bot.domain.{module.name}")


def test_sql_lives_only_in_storage() -> None:
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        if "storage" in path.parts or "localdiscord" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if any(keyword in text for keyword in ("SELECT ", "INSERT INTO", "DELETE FROM", "UPDATE ")):
            offenders.append(str(path.relative_to(ROOT)))
    for path in (ROOT / "cogs").rglob("*.py"):
        if any(
            k in path.read_text(encoding="utf-8") for k in ("SELECT ", "INSERT INTO", "DELETE FROM")
        ):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


async def test_every_member_id_column_is_registered_for_export_and_delete(
    database_target: str | Path,
) -> None:
    async with await Database.open(database_target) as db:
        await db.migrate()
        tables = await db.table_columns()
        keys = await db.primary_keys()
    registered = {entry.table: set(entry.member_columns) for entry in member_data.MEMBER_TABLES}
    for table, columns in tables.items():
        member_columns = {c for c in columns if member_data.MEMBER_COLUMN.match(c)}
        if not member_columns or table in member_data.NOT_MEMBER_DATA:
            continue
        assert table in registered, f"table {table} holds member ids but is not in MEMBER_TABLES"
        assert member_columns <= registered[table], (
            f"{table}: {member_columns - registered[table]} not registered"
        )
    for entry in member_data.MEMBER_TABLES:
        assert entry.table in tables, f"registered table {entry.table} does not exist"
        assert set(entry.encrypted_columns) <= set(tables[entry.table])
        if entry.encrypted_columns:  # key rotation rewrites rows by their primary key
            assert list(entry.key_columns) == keys[entry.table], entry.table


async def test_every_table_with_a_guild_id_is_purged_with_its_server(
    database_target: str | Path,
) -> None:
    async with await Database.open(database_target) as db:
        await db.migrate()
        tables = await db.table_columns()
    purged = {entry.table for entry in member_data.GUILD_TABLES}
    with_guild = {t for t, cols in tables.items() if "guild_id" in cols and t != "guild_departures"}
    assert with_guild == purged


def test_every_extension_module_has_setup() -> None:
    for name in EXTENSIONS:
        module = importlib.import_module(name)
        assert callable(getattr(module, "setup", None)), f"{name} has no setup(bot)"


async def test_every_cog_loads_and_no_two_commands_collide(tmp_path: Path) -> None:
    from bot.settings import load_settings
    from bot.startup import create_bot, open_resources

    settings = load_settings({"CIRCLEKEEPER_DB": str(tmp_path / "cogs.db")}, env_file=None)
    async with open_resources(settings) as resources:
        client = create_bot(resources)
        try:
            for name in EXTENSIONS:
                await client.load_extension(name)  # raises CommandAlreadyRegistered on a collision
            names = [command.name for command in client.tree.get_commands()]
            assert len(names) == len(set(names))
            for command in client.tree.walk_commands():
                assert 1 <= len(command.description) <= 100, command.qualified_name
            assert {"crisis", "privacy", "circle", "checkin", "facilitate"} <= set(names)
            # Every facilitator command passes the run-time check: its subgroup is a
            # FacilitatorGroup (whose interaction_check it is), attached under /facilitate.
            facilitate = client.tree.get_command("facilitate")
            assert isinstance(facilitate, discord.app_commands.Group)
            assert facilitate.commands
            # (the class as this bot loaded it: unloading an extension drops its modules)
            base = client.extensions["cogs.facilitate"].FacilitatorGroup
            for sub in facilitate.commands:
                assert isinstance(sub, base), sub.qualified_name
        finally:
            await client.close()


def test_bot_uses_no_privileged_intents() -> None:
    from bot.app import intents

    chosen = intents()
    assert not chosen.members and not chosen.presences and not chosen.message_content
    assert isinstance(chosen, discord.Intents)
