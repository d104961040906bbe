"""Timers that survive restarts.

The `scheduled_jobs` table is the source of truth. APScheduler only wakes us up: each
stored job gets an in-memory DateTrigger under its stable id (`checkin-open:42` style).
At start every stored job is added again; one whose time passed while the bot was down
fires at once, exactly once, and its handler sees how late it is (`job.run_at` vs now).

Handlers are registered per kind and must be idempotent with respect to their own
domain state (a round opened for a slot is not opened again), because a crash between
a handler finishing and its row being removed re-runs it at the next start.

With several shard processes on one database, each arms only the timers of the servers it
owns (`bot.sharding.Ownership`; DM-only timers belong to shard 0), and runs a timer only
after claiming it in the database (`claimed_by`/`claimed_until`, a lease): two processes can
never run one timer at once. A process that dies mid-job leaves its lease; the same shard
set voids it when it starts again, anyone else waits for it to end. A periodic rescan arms
timers another process stored for this process's servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.clock import Clock
from bot.logging_setup import redacted_traceback
from bot.metrics import Metrics
from bot.sharding import Ownership
from bot.storage.database import Database
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories.jobs import StoredJob

log = logging.getLogger(__name__)

JobHandler = Callable[[StoredJob], Awaitable[None]]

# A job APScheduler wakes late (event loop stalled, machine suspended) still runs within this.
MISFIRE_GRACE_SECONDS = 6 * 3600
# How long a claim on a running timer holds; handlers take well under a second.
JOB_LEASE = timedelta(minutes=2)
# How often stored timers are re-read: picks up timers another process stored for our servers.
RESCAN_SECONDS = 60.0
_RESCAN_ID = "__rescan__"
# Timers whose handlers run at once; the rest wait their turn in memory. Every circle's round
# due at the same minute would otherwise start thousands of handlers together, and on
# PostgreSQL those waiting past the pool's patience failed (to run again only at next start).
JOB_CONCURRENCY = 8
# A timer whose handler failed (a busy database, Discord away) is tried again after this,
# doubling each time it fails again, up to RETRY_MAX; it stays stored throughout.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=15)


class JobScheduler:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        metrics: Metrics | None = None,
        ownership: Ownership | None = None,
        *,
        lease: timedelta = JOB_LEASE,
        retry_after: timedelta = RETRY_FIRST,
    ) -> None:
        self._db = db
        self._clock = clock
        self._metrics = metrics or Metrics()
        self.ownership = ownership or Ownership()
        self.owner = self.ownership.label  # stable across restarts of the same shard set
        self._lease = lease
        self._retry_after = retry_after
        self._failures: dict[str, int] = {}  # job id -> failures in a row, for the backoff
        self._handlers: dict[str, JobHandler] = {}
        self._running: set[str] = set()
        self._slots = asyncio.Semaphore(JOB_CONCURRENCY)
        self._stopping = False  # timers still waiting for a slot stay stored for next start
        self._scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )
        self.runs = 0  # jobs run since start, for tests and `check`

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = handler

    @property
    def started(self) -> bool:
        return bool(self._scheduler.running)

    async def start(self) -> int:
        """Start APScheduler (needs the running loop) and rebuild every stored job."""
        self._stopping = False
        self._scheduler.start()
        async with self._db.transaction() as tx:
            released = await jobs_repo.release_claims(tx, self.owner)
        if released:
            log.info("Scheduler: %d job(s) interrupted by a restart will run again", released)
        stored = await self.rescan()
        if self.ownership.sharded:  # other processes may store timers for our servers
            self._scheduler.add_job(
                self.rescan,
                "interval",
                seconds=RESCAN_SECONDS,
                id=_RESCAN_ID,
                replace_existing=True,
            )
        log.info("Scheduler started with %d stored job(s) (%s)", stored, self.owner)
        return stored

    async def rescan(self) -> int:
        """Arm every stored timer this process owns (start, and periodically)."""
        async with self._db.read() as tx:
            stored = await jobs_repo.all_jobs(tx, self.ownership)
        for job in stored:
            if job.job_id not in self._running and self._scheduler.get_job(job.job_id) is None:
                self._arm(job)
        return len(stored)

    async def shutdown(self) -> None:
        self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        while self._running:  # noqa: ASYNC110 (let a handler in flight finish its transaction)
            await asyncio.sleep(0.01)

    async def schedule(
        self,
        job_id: str,
        kind: str,
        run_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        guild_id: int | None = None,
    ) -> StoredJob:
        """Store and arm a timer; `guild_id` is the server it is about (None: DM-only)."""
        job = StoredJob(job_id, kind, run_at, payload or {}, guild_id)
        async with self._db.transaction() as tx:
            await jobs_repo.upsert(tx, job)
        self._arm(job)
        return job

    async def cancel(self, job_id: str) -> None:
        async with self._db.transaction() as tx:
            await jobs_repo.delete(tx, job_id)
        self._disarm(job_id)

    def arm(self, job: StoredJob) -> None:
        """Wake up for a job a service already stored inside its own transaction."""
        self._arm(job)

    def disarm(self, job_id: str) -> None:
        """Stop waking for a job a service already deleted inside its own transaction."""
        self._disarm(job_id)

    def _arm(self, job: StoredJob, at: datetime | None = None) -> None:
        if not self._scheduler.running:
            return  # start() arms everything stored
        if not self.ownership.owns(job.guild_id):
            return  # another shard process owns it (it finds it at its next rescan)
        # APScheduler wakes by the wall clock; the due time is by our clock (which a test or
        # the soak runner may have moved): wake after the time still to go by our clock.
        to_go = max((at or job.run_at) - self._clock.now(), timedelta())
        self._scheduler.add_job(
            self._fire,
            DateTrigger(run_date=datetime.now(UTC) + to_go),
            id=job.job_id,
            args=(job.job_id,),
            replace_existing=True,
        )

    async def clock_moved(self) -> int:
        """Our clock jumped (the soak runner's year): run now whatever fell due. Timers not
        yet due stay armed for their wall-clock delay; the runner moves the clock to each of
        them in turn, so each is due (and armed again here) when its time comes."""
        async with self._db.read() as tx:
            due = await jobs_repo.due(tx, self._clock.now(), self.ownership)
        for job in due:
            if job.job_id not in self._running:
                self._arm(job)
        return len(due)

    def _disarm(self, job_id: str) -> None:
        if self._scheduler.running and self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    async def run_due(self) -> int:
        """Run every stored job that is due by the clock; tests call this after moving time."""
        async with self._db.read() as tx:
            due = await jobs_repo.due(tx, self._clock.now(), self.ownership)
        count = 0
        for job in due:
            count += await self._fire(job.job_id)
        return count

    async def _fire(self, job_id: str) -> int:
        if job_id in self._running:
            return 0
        self._running.add(job_id)
        try:
            async with self._slots:
                return 0 if self._stopping else await self._run(job_id)
        except Exception as error:  # the database was away before the handler ran
            self._metrics.error("job")
            delay = self._retry_later(job_id)
            log.error(
                "Job %s could not start; it stays stored and is tried again in %d s\n%s",
                job_id,
                delay.total_seconds(),
                redacted_traceback(error),
            )
            return 0
        finally:
            self._running.discard(job_id)

    def _retry_later(self, job_id: str) -> timedelta:
        """Wake for a failed timer again after a growing pause (30 s, 1 min, ... 15 min),
        so a passing fault (a busy database, Discord away) costs minutes, not a restart."""
        failures = self._failures.get(job_id, 0)
        self._failures[job_id] = failures + 1
        delay = min(self._retry_after * 2**failures, RETRY_MAX)
        if self._scheduler.running and not self._stopping:
            self._scheduler.add_job(
                self._fire,
                DateTrigger(run_date=datetime.now(UTC) + delay),  # APScheduler's own clock
                id=job_id,
                args=(job_id,),
                replace_existing=True,
            )
        return delay

    async def _run(self, job_id: str) -> int:
        async with self._db.read() as tx:
            job = await jobs_repo.get(tx, job_id)
        if job is None:
            return 0  # cancelled, or already run
        now = self._clock.now()
        if job.run_at > now:
            self._arm(job)  # woken early (another clock): wait for its time
            return 0
        handler = self._handlers.get(job.kind)
        if handler is None:
            log.error("No handler for job kind %s (job %s); leaving it stored", job.kind, job_id)
            return 0
        async with self._db.transaction() as tx:
            claimed = await jobs_repo.claim(tx, job, self.owner, now, now + self._lease)
        if claimed is None:
            await self._after_lost_claim(job_id)
            return 0
        self._metrics.scheduler_lag.observe(
            max((self._clock.now() - job.run_at).total_seconds(), 0.0)
        )
        try:
            await handler(claimed)
        except Exception as error:
            self._metrics.error("job")
            # Give the claim back; if the database is down too, the lease simply ends
            # (the retry then finds the lease and waits for its end).
            with contextlib.suppress(Exception):
                async with self._db.transaction() as tx:
                    await jobs_repo.unclaim(tx, job_id, self.owner)
            delay = self._retry_later(job_id)
            log.error(
                "Job %s (%s) failed; it stays stored and is tried again in %d s\n%s",
                job_id,
                job.kind,
                delay.total_seconds(),
                redacted_traceback(error),
            )
            return 0
        async with self._db.transaction() as tx:
            await jobs_repo.delete_if_unchanged(tx, job)
        self._failures.pop(job_id, None)
        self.runs += 1
        return 1

    async def _after_lost_claim(self, job_id: str) -> None:
        """Another process holds this timer: look again when its lease ends (it is gone by
        then if that process finished it)."""
        async with self._db.read() as tx:
            job = await jobs_repo.get(tx, job_id)
        if job is not None and job.claimed_until is not None:
            self._arm(job, at=job.claimed_until + timedelta(seconds=1))
