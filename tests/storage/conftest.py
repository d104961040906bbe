from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.crypto import TextCipher, generate_key
from bot.storage.database import Database


@pytest.fixture
async def db(database_target: str | Path) -> AsyncIterator[Database]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    database = await Database.open(database_target)
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def cipher() -> TextCipher:
    return TextCipher(generate_key())
