"""`circlekeeper copy-db`: SQLite → PostgreSQL → SQLite, every row identical, key unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.checkins import Visibility
from bot.localdiscord import LocalDiscord
from bot.sandbox.harness import running_bot
from bot.storage import copy
from bot.storage.crypto import TextCipher, generate_key
from bot.storage.database import Database
from bot.storage.keys import verify_key
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from tests.postgres_server import PostgresServer

NOW = datetime(2026, 11, 21, 19, 0, tzinfo=UTC)
NOTE = "a note that must stay encrypted"


async def _seed(db: Database, cipher: TextCipher) -> None:
    await verify_key(db, cipher)
    async with db.transaction() as tx:
        circle = await circles_repo.create(tx, 2**62, "Evenings", 2**61, "UTC", NOW)
        await circles_repo.add_member(tx, circle, 2**63 - 1, NOW)
        round_ = await checkins_repo.open_round(tx, circle, "s", "How?", NOW, NOW + timedelta(1))
        assert round_ is not None
        await checkins_repo.upsert_answer(
            tx,
            cipher,
            checkins_repo.AnswerWrite(round_.id, 2**63 - 1, 2**62, 3, NOTE, Visibility.CIRCLE, NOW),
        )


async def test_round_trip_keeps_every_table_identical_and_the_bot_starts_on_the_copy(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    key = generate_key()
    cipher = TextCipher(key)
    async with await Database.open(tmp_path / "source.db") as source:
        await source.migrate()
        await _seed(source, cipher)
        original = await copy.checksums(source)
    url = postgres_server.create_database("copy")

    async with (
        await Database.open(tmp_path / "source.db") as source,
        await Database.open(url) as pg,
    ):
        to_pg = await copy.copy_database(source, pg)
        assert to_pg == original
        async with pg.transaction() as tx:  # generated ids continue after the copied ones
            circle = await circles_repo.create(tx, 5, "Mornings", 6, "UTC", NOW)
            assert circle.id == 2
        async with pg.transaction() as tx:
            await tx.execute("DELETE FROM circles WHERE id = ?", (circle.id,))
        async with pg.read() as tx:  # still encrypted as stored, and the same key opens it
            raw = await tx.scalar("SELECT note FROM checkins")
            assert NOTE.encode() not in bytes(raw)
            assert [a.note for a in await checkins_repo.answers(tx, cipher, 1)] == [NOTE]
        await verify_key(pg, cipher)

    async with await Database.open(url) as pg, await Database.open(tmp_path / "back.db") as back:
        assert await copy.copy_database(pg, back) == original

    async with LocalDiscord() as server:
        data_key = key
        async with running_bot(server, tmp_path / "back.db", data_key=data_key) as bot:
            assert bot.is_ready()
        async with running_bot(server, tmp_path / "x.db", data_key=data_key, db_url=url) as bot:
            assert bot.is_ready()


@pytest.fixture
async def seeded_and_empty(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """A seeded SQLite database, and a new one to copy into."""
    async with (
        await Database.open(tmp_path / "a.db") as a,
        await Database.open(tmp_path / "b.db") as b,
    ):
        await a.migrate()
        await _seed(a, TextCipher(generate_key()))
        yield a, b


async def test_copying_into_a_database_with_rows_is_refused(
    seeded_and_empty: tuple[Database, Database],
) -> None:
    a, b = seeded_and_empty
    await b.migrate()
    await _seed(b, TextCipher(generate_key()))
    before = await copy.checksums(b)
    with pytest.raises(copy.CopyError, match="not empty"):
        await copy.copy_database(a, b)
    assert await copy.checksums(b) == before


async def test_a_corrupted_copy_fails_verification(
    seeded_and_empty: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = seeded_and_empty
    real = copy.table_rows

    async def tampered(db: Database) -> dict[str, list[tuple[object, ...]]]:
        rows = await real(db)
        if db is b and rows["checkins"]:
            rows["checkins"][0] = (*rows["checkins"][0][:-1], 1)
        return rows

    monkeypatch.setattr(copy, "table_rows", tampered)
    with pytest.raises(copy.CopyError, match="verification failed for checkins"):
        await copy.copy_database(a, b)
