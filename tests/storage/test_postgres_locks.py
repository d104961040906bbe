"""PostgreSQL runs transactions concurrently: the read-then-write use cases hold what they read.

Each test holds a lock in one transaction and shows that a conflicting write in another
gives up under a short `lock_timeout` (DatabaseBusy, rolled back) instead of interleaving, while an unrelated
one goes through. SQLite needs none of this: its writes run one at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.circles import Circle, Round
from bot.storage.database import Database, DatabaseBusy, Tx
from bot.storage.repositories import buddies as buddies_repo
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import local_resources as local_repo
from tests.postgres_server import PostgresServer

NOW = datetime(2026, 11, 21, 19, 0, tzinfo=UTC)


@pytest.fixture
async def pg(postgres_server: PostgresServer) -> AsyncIterator[Database]:
    async with await Database.open(postgres_server.create_database("locks")) as db:
        await db.migrate()
        yield db


async def _circle_and_round(db: Database) -> tuple[Circle, Round]:
    async with db.transaction() as tx:
        circle = await circles_repo.create(tx, 1, "Evenings", 2, "UTC", NOW)
        round_ = await checkins_repo.open_round(tx, circle, "s", "How?", NOW, NOW + timedelta(1))
    assert round_ is not None
    return circle, round_


async def _impatient(tx: Tx) -> None:
    await tx.execute("SET LOCAL lock_timeout = '100ms'")


async def test_an_answer_holds_its_round_open_until_it_is_stored(pg: Database) -> None:
    _, round_ = await _circle_and_round(pg)
    async with pg.transaction() as answering:
        context = await checkins_repo.answer_context(answering, round_.id, 7, hold_round=True)
        assert context is not None and context.round.is_open
        with pytest.raises(DatabaseBusy):
            async with pg.transaction() as closing:
                await _impatient(closing)
                await checkins_repo.mark_closed(closing, round_.id, NOW)
    async with pg.transaction() as closing:  # once the answer is stored, the close goes through
        assert await checkins_repo.mark_closed(closing, round_.id, NOW)


async def test_a_buddy_answer_holds_its_cycle_running_until_it_is_stored(pg: Database) -> None:
    circle, _ = await _circle_and_round(pg)
    async with pg.transaction() as tx:
        cycle = await buddies_repo.start_cycle(tx, circle.id, 1, "w1", NOW, NOW + timedelta(14), 0)
        assert cycle is not None
        await buddies_repo.add_members(tx, cycle, [[7, 8]], [])
    async with pg.transaction() as answering:
        held = await buddies_repo.get_cycle(answering, cycle.id, hold=True)
        assert held is not None and held.running
        async with pg.transaction() as other_member:  # members answering share the hold
            await _impatient(other_member)
            assert await buddies_repo.get_cycle(other_member, cycle.id, hold=True) is not None
        with pytest.raises(DatabaseBusy):  # the end waits: it would count this member silent
            async with pg.transaction() as ending:
                await _impatient(ending)
                await buddies_repo.end_cycle(ending, cycle.id, NOW)
    async with pg.transaction() as ending:  # once the answer is stored, the end goes through
        assert await buddies_repo.end_cycle(ending, cycle.id, NOW)


async def test_opening_a_round_holds_its_circle(pg: Database) -> None:
    circle, _ = await _circle_and_round(pg)
    async with pg.transaction() as first:
        await circles_repo.hold(first, circle.id)
        with pytest.raises(DatabaseBusy):
            async with pg.transaction() as second:
                await _impatient(second)
                await circles_repo.hold(second, circle.id)


async def test_a_servers_local_lines_take_one_writer_at_a_time(pg: Database) -> None:
    async with pg.transaction() as first:
        await local_repo.hold_guild(first, 1)
        async with pg.transaction() as other_server:
            await _impatient(other_server)
            await local_repo.hold_guild(other_server, 2)
        with pytest.raises(DatabaseBusy):
            async with pg.transaction() as same_server:
                await _impatient(same_server)
                await local_repo.hold_guild(same_server, 1)
