"""Talking-piece storage on both backends: one live gathering per channel, the state's round
trip, compare-and-set, and concurrent presses through the service applying once each."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.domain import talking_piece as tp
from bot.domain.circles import Circle
from bot.errors import UserError
from bot.scheduling import JobScheduler
from bot.services.outbox import Outbox
from bot.services.privacy import PrivacyService
from bot.services.talking_piece import TalkService
from bot.storage import member_data
from bot.storage.crypto import TextCipher, generate_key
from bot.storage.database import Database
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import talking_piece as repo

T0 = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
GUILD, CHANNEL = 500, 600


async def a_circle(db: Database, members: range) -> Circle:
    async with db.transaction() as tx:
        circle = await circles_repo.create(tx, GUILD, "Evening", CHANNEL, "UTC", T0)
        for m in members:
            await circles_repo.add_member(tx, circle, m, T0)
    return circle


def service(db: Database, clock: FakeClock) -> TalkService:
    return TalkService(db, clock, JobScheduler(db, clock), Outbox(db, clock), random.Random(1))


async def test_one_live_gathering_per_channel_even_when_two_start_at_once(db: Database) -> None:
    circle = await a_circle(db, range(0))
    talk = service(db, FakeClock(T0))
    results = await asyncio.gather(
        *(talk.start(circle, CHANNEL, 1, tp.Options()) for _ in range(4)),
        return_exceptions=True,
    )
    started = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, UserError)]
    assert len(started) == 1 and len(refused) == 3, results
    assert "already running in this channel" in refused[0].message
    # once it ends, the channel is free again
    await talk.control(started[0].stored.id, 1, False, lambda g, now: tp.end(g, now))
    again = await talk.start(circle, CHANNEL, 1, tp.Options())
    assert again.stored.id != started[0].stored.id


async def test_state_round_trips_and_a_stale_version_writes_nothing(db: Database) -> None:
    circle = await a_circle(db, range(0))
    g = tp.start(tp.Options(share=timedelta(minutes=2), progressive=True), 1, T0)
    for m in (10, 11, 12):
        g = tp.join(g, m, f"m{m}", T0)
    g = tp.begin(g, T0, random.Random(0))
    g = tp.raise_hand(g, 12, T0 + timedelta(seconds=5))
    g = tp.finish(g, 10, g.turn, T0 + timedelta(seconds=30), passed=True)
    g = tp.pause(g, T0 + timedelta(seconds=40))
    async with db.transaction() as tx:
        stored = await repo.create(tx, GUILD, circle.id, CHANNEL, g)
        assert stored is not None
        assert stored.gathering == g
        assert await repo.save(tx, stored, tp.resume(g, T0 + timedelta(minutes=1)))
        assert not await repo.save(tx, stored, tp.end(g, T0))  # the version moved on
        again = await repo.get(tx, stored.id)
    assert again is not None and again.version == 1
    assert again.gathering == tp.resume(g, T0 + timedelta(minutes=1))


@pytest.mark.parametrize("seed", [1, 2])
async def test_many_members_pressing_at_once_each_apply_once(db: Database, seed: int) -> None:
    members = range(100, 130)
    circle = await a_circle(db, members)
    clock = FakeClock(T0)
    talk = service(db, clock)
    started = await talk.start(circle, CHANNEL, 1, tp.Options(share=timedelta(minutes=3)))
    gid = started.stored.id
    order = list(members)
    random.Random(seed).shuffle(order)
    await asyncio.gather(*(talk.join(gid, m, f"m{m}") for m in order))
    await talk.begin(gid, 1, False)
    stored = await talk.get(gid)
    assert stored is not None
    g = stored.gathering
    assert [s.member_id for s in g.seats] != [] and len(g.seats) == 30
    holder, turn = g.holder, g.turn
    assert holder is not None
    # the holder double-clicks Done while everyone else raises a hand
    presses = [talk.finish(gid, holder, turn, passed=False) for _ in range(2)]
    presses += [talk.raise_hand(gid, m) for m in members if m != holder]
    results = await asyncio.gather(*presses, return_exceptions=True)
    # only the next holder may be refused (their hand is pointless once they hold the piece)
    assert all(isinstance(r, tp.TalkRefused) for r in results if isinstance(r, BaseException))
    after = await talk.get(gid)
    assert after is not None
    g = after.gathering
    assert g.turn == turn + 1  # Done applied once
    assert [t.member_id for t in g.turns] == [holder]
    assert {h.member_id for h in g.hands} | {g.holder} == set(members) - {holder}
    # the deadline timer follows the new turn, stored with the change
    async with db.read() as tx:
        job = await jobs_repo.get(tx, f"talk-time:{gid}")
    assert job is not None and job.payload == {"gathering_id": gid, "turn": turn + 1}
    assert job.run_at == after.gathering.deadline


async def test_a_deadline_applies_once_and_ending_keeps_airtime_not_names(db: Database) -> None:
    circle = await a_circle(db, range(10, 13))
    clock = FakeClock(T0)
    jobs = JobScheduler(db, clock)
    talk = TalkService(db, clock, jobs, Outbox(db, clock), random.Random(1))
    started = await talk.start(
        circle, CHANNEL, 1, tp.Options(order=tp.Order.MEMBERS, share=timedelta(minutes=2))
    )
    gid = started.stored.id
    await talk.begin(gid, 1, False)
    clock.advance(timedelta(minutes=2))
    assert await jobs.run_due() >= 1
    assert await jobs.run_due() == 0  # nothing left: applied once
    stored = await talk.get(gid)
    assert stored is not None and stored.gathering.holder == 11
    assert stored.gathering.turns[-1].end is tp.TurnEnd.TIMED_OUT
    await talk.control(gid, 1, False, lambda g, now: tp.end(g, now))
    ended = await talk.get(gid)
    assert ended is not None and not ended.gathering.live
    assert {s.member_id for s in ended.gathering.seats} <= {1, 2, 3}  # aliases, not ids
    assert await talk.airtime(gid) == {
        10: (1, timedelta(minutes=2)),
        11: (1, timedelta()),
    }
    async with db.read() as tx:
        assert await jobs_repo.get(tx, f"talk-time:{gid}") is None


async def a_members_gathering(
    db: Database, members: range
) -> tuple[FakeClock, JobScheduler, TalkService, int]:
    """A gathering with the circle seated at once, on a clock and scheduler the test moves."""
    circle = await a_circle(db, members)
    clock = FakeClock(T0)
    jobs = JobScheduler(db, clock)
    talk = TalkService(db, clock, jobs, Outbox(db, clock), random.Random(1))
    started = await talk.start(circle, CHANNEL, 1, tp.Options(order=tp.Order.MEMBERS))
    return clock, jobs, talk, started.stored.id


async def test_a_gathering_nobody_touches_for_six_hours_ends_as_abandoned(db: Database) -> None:
    clock, jobs, talk, gid = await a_members_gathering(db, range(10, 13))
    clock.advance(tp.IDLE_AFTER - timedelta(minutes=1))
    await talk.begin(gid, 1, False)  # a change: the expiry moves to six hours from now
    clock.advance(timedelta(minutes=1))
    await jobs.run_due()
    stored = await talk.get(gid)
    assert stored is not None and stored.gathering.live
    async with db.read() as tx:  # the expiry is a persisted timer (it survives a restart)
        job = await jobs_repo.get(tx, f"talk-idle:{gid}")
    assert job is not None and job.run_at == T0 + 2 * tp.IDLE_AFTER - timedelta(minutes=1)
    assert job.payload == {"gathering_id": gid, "version": stored.version}
    clock.advance(tp.IDLE_AFTER)
    assert await jobs.run_due() >= 1
    ended = await talk.get(gid)
    assert ended is not None and not ended.gathering.live and ended.gathering.abandoned
    assert 10 in await talk.airtime(gid)  # the holder's time until then is kept as usual
    async with db.read() as tx:
        assert await jobs_repo.get(tx, f"talk-idle:{gid}") is None


async def test_an_idle_timer_set_for_an_older_version_ends_nothing(db: Database) -> None:
    _clock, jobs, talk, gid = await a_members_gathering(db, range(10, 12))
    stale = jobs_repo.StoredJob(
        "talk-idle-stale", "talk-idle", T0, {"gathering_id": gid, "version": 0}, GUILD
    )
    await talk.begin(gid, 1, False)  # version 1 now
    async with db.transaction() as tx:
        await jobs_repo.upsert(tx, stale)  # e.g. one that fired late, racing a press
    await jobs.run_due()
    stored = await talk.get(gid)
    assert stored is not None and stored.gathering.live


async def test_erasing_a_member_takes_them_out_of_live_gatherings_and_keeps_an_owed_unmute(
    db: Database,
) -> None:
    clock, jobs, talk, gid = await a_members_gathering(db, range(10, 13))
    privacy = PrivacyService(db, TextCipher(generate_key()), clock, jobs)
    privacy.on_erase("talking piece", talk.erase_member)
    await talk.begin(gid, 1, False)
    await talk.note_muted(GUILD, 11, gid)  # 11 is muted by the bot and not in voice
    await talk.note_muted(GUILD, 12, gid)
    await privacy.delete(10)  # the holder: the piece moves on
    await privacy.delete(11)
    stored = await talk.get(gid)
    assert stored is not None and stored.gathering.holder == 12
    assert not stored.gathering.mentions(10) and not stored.gathering.mentions(11)
    async with db.read() as tx:
        row = await tx.fetchone("SELECT state FROM talk_gatherings WHERE id = ?", (gid,))
        owed = await tx.fetchall("SELECT * FROM talk_mutes WHERE user_id = 11")
        kept = await member_data.export_member(tx, TextCipher(generate_key()), 11)
    assert row is not None and "m10" not in row["state"] and "m11" not in row["state"]
    # the unmute is still owed: the server and the member, not the gathering
    assert [(int(r["guild_id"]), int(r["gathering_id"])) for r in owed] == [(GUILD, 0)]
    assert set(kept) == {"talk_mutes"}
    assert await talk.muted_by_bot(GUILD) == {11, 12}
