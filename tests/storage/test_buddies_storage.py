"""The buddy repository on both backends: cycles, history, avoid lists and erasure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.buddies import Answer, PastGroup
from bot.storage import member_data
from bot.storage.crypto import TextCipher
from bot.storage.database import Database
from bot.storage.repositories import buddies as repo
from bot.storage.repositories import circles as circles_repo

T0 = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
GUILD = 501


async def _circle(db: Database) -> int:
    async with db.transaction() as tx:
        circle = await circles_repo.create(tx, GUILD, "Evening", 601, "UTC", T0)
    return circle.id


async def _cycle(db: Database, circle_id: int, week: int, groups: list[list[int]]) -> int:
    start = T0 + timedelta(weeks=week)
    async with db.transaction() as tx:
        running = await repo.running_cycle(tx, circle_id)
        if running is not None:
            await repo.end_cycle(tx, running.id, start)
        cycle = await repo.start_cycle(
            tx, circle_id, GUILD, f"w{week}", start, start + timedelta(weeks=1), week
        )
        assert cycle is not None
        await repo.add_members(tx, cycle, groups, [])
    return cycle.id


async def test_one_running_cycle_per_circle_and_one_per_slot(db: Database) -> None:
    circle_id = await _circle(db)
    await _cycle(db, circle_id, 0, [[1, 2]])
    async with db.transaction() as tx:
        assert await repo.start_cycle(tx, circle_id, GUILD, "other", T0, T0, 0) is None
        running = await repo.running_cycle(tx, circle_id)
        assert running is not None
        assert await repo.end_cycle(tx, running.id, T0)
        assert not await repo.end_cycle(tx, running.id, T0)  # ends once
        assert await repo.start_cycle(tx, circle_id, GUILD, "w0", T0, T0, 0) is None  # same slot


async def test_history_counts_cycles_back_and_a_group_met_only_when_someone_said_so(
    db: Database,
) -> None:
    circle_id = await _circle(db)
    first = await _cycle(db, circle_id, 0, [[1, 2], [3, 4, 5]])
    await _cycle(db, circle_id, 1, [[1, 3], [2, 4]])
    async with db.transaction() as tx:
        assert await repo.set_answer(tx, first, 2, Answer.CONNECTED, T0) is None
        assert await repo.set_answer(tx, first, 3, Answer.NOT_YET, T0) is None
        assert await repo.set_answer(tx, first, 9, Answer.SKIP, T0) is False  # not in it
    async with db.read() as tx:
        found = await repo.history(tx, circle_id, 10)
    assert sorted(found, key=lambda g: (g.cycles_ago, sorted(g.members))) == [
        PastGroup(frozenset({1, 3}), 1, False),
        PastGroup(frozenset({2, 4}), 1, False),
        PastGroup(frozenset({1, 2}), 2, True),
        PastGroup(frozenset({3, 4, 5}), 2, False),
    ]


async def test_three_silent_cycles_pause_a_member_and_join_resumes(db: Database) -> None:
    circle_id = await _circle(db)
    async with db.transaction() as tx:
        for user in (1, 2):
            await repo.join(tx, circle_id, GUILD, user, T0)
    paused: list[int] = []
    for week in range(3):
        cycle_id = await _cycle(db, circle_id, week, [[1, 2]])
        async with db.transaction() as tx:
            await repo.set_answer(tx, cycle_id, 2, Answer.NOT_YET, T0)
            paused += await repo.count_silence(tx, cycle_id, circle_id, 3)
    assert paused == [1]
    async with db.transaction() as tx:
        optin = await repo.get_optin(tx, circle_id, 1)
        assert optin is not None and optin.paused and optin.silent_cycles == 3
        await repo.join(tx, circle_id, GUILD, 1, T0)
        optin = await repo.get_optin(tx, circle_id, 1)
        assert optin is not None and not optin.paused and optin.silent_cycles == 0


async def test_snooze_applies_to_every_circle_of_the_server(db: Database) -> None:
    circle_id = await _circle(db)
    async with db.transaction() as tx:
        await repo.join(tx, circle_id, GUILD, 1, T0)
        assert await repo.snooze(tx, GUILD, 1, date(2026, 12, 1)) == 1
        optin = await repo.get_optin(tx, circle_id, 1)
    assert optin is not None and optin.snoozed_until == date(2026, 12, 1)


async def test_erasing_a_member_removes_them_from_history_avoid_lists_both_ways(
    db: Database, cipher: TextCipher
) -> None:
    circle_id = await _circle(db)
    await _cycle(db, circle_id, 0, [[1, 2], [3, 4]])
    async with db.transaction() as tx:
        assert await repo.add_avoid(tx, GUILD, 1, 3, T0)
        assert not await repo.add_avoid(tx, GUILD, 1, 3, T0)  # once
        assert await repo.add_avoid(tx, GUILD, 3, 4, T0)
        assert await repo.add_avoid(tx, GUILD, 4, 2, T0)
    async with db.read() as tx:
        exported = await member_data.export_member(tx, cipher, 3)
    # Their own list, never who avoids them.
    assert [(r["user_id"], r["avoided_id"]) for r in exported["buddy_avoid"]] == [(3, 4)]
    async with db.transaction() as tx:
        await member_data.delete_member(tx, 3)
    async with db.read() as tx:
        assert await repo.avoid_pairs(tx, GUILD) == [(4, 2)]
        history = await repo.history(tx, circle_id, 5)
    assert history == [PastGroup(frozenset({1, 2}), 1, False)]  # 3's group left no trace
