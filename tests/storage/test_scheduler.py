import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import SharedClock, SystemClock
from bot.scheduling import JOB_CONCURRENCY, JobScheduler
from bot.storage.database import Database
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories.jobs import StoredJob


async def _wait_for(predicate) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + 5.0
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_a_job_due_during_a_restart_runs_exactly_once(database_target: str | Path) -> None:
    clock = SystemClock()
    seen: list[str] = []

    async def handler(job: StoredJob) -> None:
        seen.append(job.job_id)

    async with await Database.open(database_target) as db:
        await db.migrate()
        async with db.transaction() as tx:  # stored by a previous run, due 30 s before this start
            await jobs_repo.upsert(
                tx, StoredJob("checkin-open:1", "test", clock.now() - timedelta(seconds=30))
            )
            await jobs_repo.upsert(
                tx, StoredJob("checkin-open:2", "test", clock.now() + timedelta(hours=1))
            )

        first = JobScheduler(db, clock)
        first.register("test", handler)
        assert await first.start() == 2
        await _wait_for(lambda: first.runs == 1)
        await first.shutdown()

        second = JobScheduler(db, clock)  # the next restart
        second.register("test", handler)
        assert await second.start() == 1
        await asyncio.sleep(0.3)
        assert await second.run_due() == 0
        await second.shutdown()

        assert seen == ["checkin-open:1"]
        async with db.read() as tx:
            remaining = [job.job_id for job in await jobs_repo.all_jobs(tx)]
        assert remaining == ["checkin-open:2"]


async def test_restarting_twice_does_not_duplicate_jobs(database_target: str | Path) -> None:
    clock = SystemClock()
    async with await Database.open(database_target) as db:
        await db.migrate()
        for _ in range(2):
            scheduler = JobScheduler(db, clock)
            scheduler.register("test", lambda job: asyncio.sleep(0))
            await scheduler.start()
            await scheduler.schedule("stable:1", "test", clock.now() + timedelta(hours=1))
            assert len(scheduler._scheduler.get_jobs()) == 1
            await scheduler.shutdown()
        async with db.read() as tx:
            assert len(await jobs_repo.all_jobs(tx)) == 1


async def test_a_failing_handler_keeps_the_job_for_the_next_start(
    database_target: str | Path,
) -> None:
    clock = SystemClock()

    async def broken(job: StoredJob) -> None:
        raise RuntimeError("boom")

    async with await Database.open(database_target) as db:
        await db.migrate()
        scheduler = JobScheduler(db, clock)
        scheduler.register("test", broken)
        await scheduler.schedule("will-fail:1", "test", clock.now() - timedelta(seconds=1))
        assert await scheduler.run_due() == 0
        async with db.read() as tx:
            assert await jobs_repo.get(tx, "will-fail:1") is not None
        await scheduler.shutdown()

        seen: list[str] = []

        async def fixed(job: StoredJob) -> None:
            seen.append(job.job_id)

        next_start = JobScheduler(db, clock)
        next_start.register("test", fixed)
        assert await next_start.start() == 1
        await _wait_for(lambda: next_start.runs == 1)
        await next_start.shutdown()
        assert seen == ["will-fail:1"]
        async with db.read() as tx:
            assert await jobs_repo.get(tx, "will-fail:1") is None


async def test_a_job_fired_and_run_due_at_once_runs_its_handler_once(tmp_path: Path) -> None:
    clock = SystemClock()
    started, release = asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def slow(job: StoredJob) -> None:
        seen.append(job.job_id)
        started.set()
        await release.wait()

    async with await Database.open(tmp_path / "once.db") as db:
        await db.migrate()
        scheduler = JobScheduler(db, clock)
        scheduler.register("test", slow)
        await scheduler.schedule("due:1", "test", clock.now() - timedelta(seconds=1))

        racing = asyncio.gather(scheduler.run_due(), scheduler.run_due(), scheduler._fire("due:1"))
        await asyncio.wait_for(started.wait(), 5.0)
        for _ in range(20):  # let the other two reach the job while the first is inside it
            await asyncio.sleep(0)
        release.set()
        assert sorted(await racing) == [0, 0, 1]
        assert seen == ["due:1"]
        assert await scheduler.run_due() == 0  # and it is gone from the database
        assert seen == ["due:1"]
        await scheduler.shutdown()


async def test_a_storm_of_due_timers_runs_a_few_at_a_time_and_every_one_runs(
    database_target: str | Path,
) -> None:
    """Every circle's round due at once: handlers wait for a slot in memory instead of all
    queueing for the database (on PostgreSQL, those that waited too long failed)."""
    clock = SystemClock()
    running, most, ran = 0, 0, []

    async def handler(job: StoredJob) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        ran.append(job.job_id)

    storm = 3 * JOB_CONCURRENCY
    async with await Database.open(database_target) as db:
        await db.migrate()
        async with db.transaction() as tx:
            for n in range(storm):
                await jobs_repo.upsert(tx, StoredJob(f"storm:{n}", "test", clock.now()))
        scheduler = JobScheduler(db, clock)
        scheduler.register("test", handler)
        await scheduler.start()
        await _wait_for(lambda: scheduler.runs == storm)
        await scheduler.shutdown()
    assert sorted(ran) == sorted(f"storm:{n}" for n in range(storm))
    assert most <= JOB_CONCURRENCY


async def test_a_failing_handler_is_tried_again_without_a_restart(
    database_target: str | Path,
) -> None:
    """A passing fault (the database busy, Discord away) must not leave a round unopened
    until someone restarts the bot: the timer is tried again after a pause."""
    clock = SystemClock()
    calls: list[str] = []

    async def flaky(job: StoredJob) -> None:
        calls.append(job.job_id)
        if len(calls) < 3:
            raise RuntimeError("a passing fault")

    async with await Database.open(database_target) as db:
        await db.migrate()
        scheduler = JobScheduler(db, clock, retry_after=timedelta(milliseconds=50))
        scheduler.register("test", flaky)
        await scheduler.start()
        try:
            await scheduler.schedule("flaky:1", "test", clock.now())
            await _wait_for(lambda: scheduler.runs == 1)
        finally:
            await scheduler.shutdown()
        assert calls == ["flaky:1"] * 3  # failed twice, then ran, and only then stopped
        async with db.read() as tx:
            assert await jobs_repo.get(tx, "flaky:1") is None


async def test_a_timer_wakes_by_the_injected_clock_not_the_wall_clock(tmp_path: Path) -> None:
    """The clock is a day ahead of the wall: a timer due in 0.2 s by it fires in 0.2 s."""
    clock = SharedClock.create(tmp_path / "clock")
    clock.move_to(datetime.now(UTC) + timedelta(days=1))
    async with await Database.open(tmp_path / "db.sqlite") as db:
        await db.migrate()
        scheduler = JobScheduler(db, clock)
        scheduler.register("test", lambda job: asyncio.sleep(0))
        await scheduler.start()
        await scheduler.schedule("soon:1", "test", clock.now() + timedelta(seconds=0.2))
        await _wait_for(lambda: scheduler.runs == 1)
        await scheduler.shutdown()


async def test_moving_the_clock_runs_what_fell_due_and_only_that(tmp_path: Path) -> None:
    clock = SharedClock.create(tmp_path / "clock")
    seen: list[str] = []

    async def handler(job: StoredJob) -> None:
        seen.append(job.job_id)

    async with await Database.open(tmp_path / "db.sqlite") as db:
        await db.migrate()
        scheduler = JobScheduler(db, clock)
        scheduler.register("test", handler)
        await scheduler.start()
        start = clock.now()
        await scheduler.schedule("week:1", "test", start + timedelta(days=7))
        await scheduler.schedule("month:1", "test", start + timedelta(days=30))
        clock.move_to(start + timedelta(days=8))  # what the soak runner does
        assert await scheduler.clock_moved() == 1  # the week's timer; the month's waits
        await _wait_for(lambda: scheduler.runs == 1)
        await asyncio.sleep(0.2)
        await scheduler.shutdown()
    assert seen == ["week:1"]


def test_a_shared_clock_is_read_by_another_opener_and_only_moves_forward(tmp_path: Path) -> None:
    runner = SharedClock.create(tmp_path / "clock")
    bot = SharedClock(tmp_path / "clock")  # the bot process opens the same file
    target = datetime.now(UTC) + timedelta(days=100)
    runner.move_to(target)
    assert abs((bot.now() - target).total_seconds()) < 60
    assert bot.moves == 1
    runner.move_to(target - timedelta(days=50))  # never backwards
    assert bot.now() >= target
    assert bot.moves == 2
