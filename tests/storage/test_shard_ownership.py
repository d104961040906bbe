"""Shard processes on one database: each runs its own servers' timers and deliveries, and a
timer's claim makes it run once even when two schedulers race for it."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.services.crisis as crisis_module
from bot.clock import FakeClock
from bot.domain.crisis import LocalResource
from bot.scheduling import JOB_LEASE, JobScheduler
from bot.services.crisis import EXTRAS_TTL_SECONDS, CrisisService
from bot.services.privacy import PrivacyService
from bot.sharding import Ownership, shard_of
from bot.static_data import load_static_data
from bot.storage.crypto import TextCipher
from bot.storage.database import Database
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import local_resources
from bot.storage.repositories import outbox as outbox_repo
from bot.storage.repositories.jobs import StoredJob

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def guild_on(shard: int, count: int, n: int = 1) -> int:
    """A realistic server id that Discord routes to `shard` of `count`."""
    return ((1_100_000_000_000 + n * count + shard) << 22) | 4242


async def _store(db: Database, *jobs: StoredJob) -> None:
    async with db.transaction() as tx:
        for job in jobs:
            await jobs_repo.upsert(tx, job)


async def test_the_sql_shard_rule_matches_discords(db: Database) -> None:
    rng = random.Random(9)
    guilds = [rng.randrange(1 << 40, 1 << 62) for _ in range(60)]
    due = START - timedelta(minutes=1)
    await _store(db, *(StoredJob(f"j:{g}", "t", due, {}, g) for g in guilds))
    await _store(db, StoredJob("dm", "t", due, {}, None))
    for ownership in (Ownership((0, 3, 5), 8), Ownership((1,), 4), Ownership((0, 1, 2, 3), 4)):
        async with db.read() as tx:
            found = {job.guild_id for job in await jobs_repo.due(tx, START, ownership)}
        expected = {g for g in guilds if shard_of(g, ownership.shard_count) in ownership.shard_ids}  # type: ignore[operator]
        if 0 in ownership.shard_ids:  # type: ignore[operator]
            expected.add(None)  # type: ignore[arg-type]
        assert found == expected


async def test_each_process_runs_only_its_servers_timers_and_shard_0_the_dm_ones(
    db: Database,
) -> None:
    clock = FakeClock(START)
    ran: list[tuple[str, str]] = []
    due = START - timedelta(seconds=1)
    await _store(
        db,
        StoredJob("a", "t", due, {}, guild_on(0, 2)),
        StoredJob("b", "t", due, {}, guild_on(1, 2)),
        StoredJob("dm", "t", due, {}, None),
    )
    schedulers = []
    for shard in (0, 1):
        scheduler = JobScheduler(db, clock, ownership=Ownership((shard,), 2))

        async def handler(job: StoredJob, shard: int = shard) -> None:
            ran.append((f"shard {shard}", job.job_id))

        scheduler.register("t", handler)
        schedulers.append(scheduler)
    assert await schedulers[1].run_due() == 1
    assert await schedulers[0].run_due() == 2
    assert sorted(ran) == [("shard 0", "a"), ("shard 0", "dm"), ("shard 1", "b")]


async def test_two_schedulers_racing_for_one_timer_run_it_once(database_target: str | Path) -> None:
    """Two processes (two connections) that both think they own a timer: the claim decides."""
    clock = FakeClock(START)
    calls: list[str] = []
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow(job: StoredJob) -> None:
        calls.append(job.job_id)
        entered.set()
        await release.wait()

    async with (
        await Database.open(database_target) as one,
        await Database.open(database_target) as two,
    ):
        await one.migrate()
        await _store(one, StoredJob("checkin-close:1", "t", START, {}, guild_on(0, 1)))
        first, second = JobScheduler(one, clock), JobScheduler(two, clock)
        first.register("t", slow)
        second.register("t", slow)
        running = asyncio.create_task(first.run_due())
        await asyncio.wait_for(entered.wait(), 10)
        # held by the first: not run a second time (without the claim, this would wait in slow)
        assert await asyncio.wait_for(second.run_due(), 10) == 0
        release.set()
        assert await running == 1
        assert await second.run_due() == 0  # done and gone
        assert calls == ["checkin-close:1"]
        async with one.read() as tx:
            assert await jobs_repo.all_jobs(tx) == []


async def test_a_timer_left_claimed_by_a_dead_process_runs_again(db: Database) -> None:
    clock = FakeClock(START)
    ran: list[str] = []

    async def handler(job: StoredJob) -> None:
        ran.append(job.job_id)

    shard0 = Ownership((0,), 2)
    job = StoredJob("checkin-open:7", "t", START, {}, guild_on(0, 2))
    await _store(db, job)
    async with db.transaction() as tx:  # the process running shard 0 claimed it, then died
        assert await jobs_repo.claim(tx, job, shard0.label, START, START + JOB_LEASE)

    stranger = JobScheduler(db, clock)  # anyone else waits for the lease to end
    stranger.register("t", handler)
    assert await stranger.run_due() == 0
    clock.advance(JOB_LEASE + timedelta(seconds=1))
    assert await stranger.run_due() == 1
    assert ran == ["checkin-open:7"]

    await _store(db, job)  # again, now restarting shard 0 itself: its own dead lease is void
    async with db.transaction() as tx:
        assert await jobs_repo.claim(tx, job, shard0.label, clock.now(), clock.now() + JOB_LEASE)
    restarted = JobScheduler(db, clock, ownership=shard0)
    restarted.register("t", handler)
    await restarted.start()  # APScheduler, woken at start for a due timer, may run it first
    try:
        await restarted.run_due()
        async with asyncio.timeout(10):  # without the void lease it would wait JOB_LEASE
            while len(ran) < 2:  # noqa: ASYNC110 (either path runs it; the count is the check)
                await asyncio.sleep(0.01)
    finally:
        await restarted.shutdown()
    assert ran == ["checkin-open:7", "checkin-open:7"]


async def test_a_rescheduled_timer_can_be_claimed_at_its_new_time(db: Database) -> None:
    job = StoredJob("checkin-open:3", "t", START, {}, guild_on(0, 1))
    await _store(db, job)
    async with db.transaction() as tx:
        assert await jobs_repo.claim(tx, job, "all", START, START + JOB_LEASE) is not None
        assert await jobs_repo.claim(tx, job, "other", START, START + JOB_LEASE) is None
    later = StoredJob("checkin-open:3", "t", START + timedelta(days=7), {}, job.guild_id)
    await _store(db, later)  # the handler rescheduled it for next week
    async with db.transaction() as tx:
        assert await jobs_repo.claim(tx, job, "other", START, START + JOB_LEASE) is None  # old time
        assert await jobs_repo.claim(tx, later, "other", START, START + JOB_LEASE) is not None


async def test_a_process_releases_only_its_own_servers_delivery_leases(db: Database) -> None:
    mine, theirs = guild_on(0, 2), guild_on(1, 2)
    async with db.transaction() as tx:
        ids = [
            await outbox_repo.enqueue(tx, "k", f"k:{guild}", START, guild_id=guild)
            for guild in (mine, theirs)
        ]
        for delivery_id in ids:
            assert delivery_id is not None
            assert await outbox_repo.claim(tx, delivery_id, START, START + timedelta(minutes=5))
    async with db.transaction() as tx:
        assert await outbox_repo.release_claims(tx, Ownership((0,), 2)) == 1
    async with db.read() as tx:
        free = await outbox_repo.due(tx, START + timedelta(seconds=1))
        mine_due = await outbox_repo.due(
            tx, START + timedelta(seconds=1), ownership=Ownership((0,), 2)
        )
    assert [d.guild_id for d in free] == [mine]  # the other process's lease still holds
    assert [d.guild_id for d in mine_due] == [mine]


async def test_crisis_extras_another_process_changed_show_within_the_stated_bound(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each server's changes go through the process owning it, which invalidates its cache;
    a change made elsewhere (another process, a purge, an operator) shows within
    EXTRAS_TTL_SECONDS."""
    clock = [1000.0]
    monkeypatch.setattr(crisis_module.time, "monotonic", lambda: clock[0])
    crisis = CrisisService(db, load_static_data().crisis)
    guild = guild_on(0, 1)
    assert (await crisis.card(guild, None)).local == ()
    async with db.transaction() as tx:  # another process adds a local line
        await local_resources.add(tx, guild, LocalResource("Warmline", "call 555-0100"))
    clock[0] += EXTRAS_TTL_SECONDS - 1
    assert (await crisis.card(guild, None)).local == ()  # still cached: within the bound
    clock[0] += 2
    assert [r.name for r in (await crisis.card(guild, None)).local] == ["Warmline"]


async def test_a_shard_process_judges_departures_only_for_its_own_servers(
    db: Database, cipher: TextCipher
) -> None:
    """At start a process sees only its shards' servers: the others are not 'gone'."""
    mine, theirs = guild_on(0, 2), guild_on(1, 2)
    async with db.transaction() as tx:
        for guild in (mine, theirs):
            await local_resources.add(tx, guild, LocalResource("Warmline", "call 555-0100"))
    shard0 = Ownership((0,), 2)
    privacy = PrivacyService(
        db, cipher, FakeClock(START), JobScheduler(db, FakeClock(START), ownership=shard0)
    )
    assert await privacy.reconcile_guilds(set(), shard0) == [mine]  # its own server did leave
    async with db.read() as tx:
        assert [job.guild_id for job in await jobs_repo.all_jobs(tx)] == [mine]


async def test_a_failed_timer_gives_its_claim_back(db: Database) -> None:
    failures = [RuntimeError("database hiccup")]
    ran: list[str] = []

    async def flaky(job: StoredJob) -> None:
        if failures:
            raise failures.pop()
        ran.append(job.job_id)

    await _store(db, StoredJob("checkin-remind:4", "t", START, {}, guild_on(0, 1)))
    scheduler = JobScheduler(db, FakeClock(START))
    scheduler.register("t", flaky)
    assert await scheduler.run_due() == 0
    assert await scheduler.run_due() == 1  # not held by its own failed attempt's lease
    assert ran == ["checkin-remind:4"]
