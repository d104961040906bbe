from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.crypto import TextCipher, generate_key
from bot.storage.database import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "test.db")
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def cipher() -> TextCipher:
    return TextCipher(generate_key())
