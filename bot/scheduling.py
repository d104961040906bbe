"""Timers that survive restarts.

The `scheduled_jobs` table is the source of truth. APScheduler only wakes us up: each
stored job gets an in-memory DateTrigger under its stable id (`checkin-open:42` style).
At start every stored job is added again; one whose time passed while the bot was down
fires at once, exactly once, and its handler sees how late it is (`job.run_at` vs now).

Handlers are registered per kind and must be idempotent with respect to their own
domain state (a round opened for a slot is not opened again), because a crash between
a handler finishing and its row being removed re-runs it at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.clock import Clock
from bot.logging_setup import redacted_traceback
from bot.metrics import Metrics
from bot.storage.database import Database
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories.jobs import StoredJob

log = logging.getLogger(__name__)

JobHandler = Callable[[StoredJob], Awaitable[None]]

# A job APScheduler wakes late (event loop stalled, machine suspended) still runs within this.
MISFIRE_GRACE_SECONDS = 6 * 3600


class JobScheduler:
    def __init__(self, db: Database, clock: Clock, metrics: Metrics | None = None) -> None:
        self._db = db
        self._clock = clock
        self._metrics = metrics or Metrics()
        self._handlers: dict[str, JobHandler] = {}
        self._running: set[str] = set()
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
        self._scheduler.start()
        async with self._db.read() as tx:
            stored = await jobs_repo.all_jobs(tx)
        for job in stored:
            self._arm(job)
        log.info("Scheduler started with %d stored job(s)", len(stored))
        return len(stored)

    async def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        while self._running:  # noqa: ASYNC110 (let a handler in flight finish its transaction)
            await asyncio.sleep(0.01)

    async def schedule(
        self, job_id: str, kind: str, run_at: datetime, payload: dict[str, Any] | None = None
    ) -> StoredJob:
        job = StoredJob(job_id, kind, run_at, payload or {})
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

    def _arm(self, job: StoredJob) -> None:
        if not self._scheduler.running:
            return  # start() arms everything stored
        now = self._clock.now()
        self._scheduler.add_job(
            self._fire,
            DateTrigger(run_date=max(job.run_at, now)),
            id=job.job_id,
            args=(job.job_id,),
            replace_existing=True,
        )

    def _disarm(self, job_id: str) -> None:
        if self._scheduler.running and self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    async def run_due(self) -> int:
        """Run every stored job that is due by the clock; tests call this after moving time."""
        async with self._db.read() as tx:
            due = await jobs_repo.due(tx, self._clock.now())
        count = 0
        for job in due:
            count += await self._fire(job.job_id)
        return count

    async def _fire(self, job_id: str) -> int:
        if job_id in self._running:
            return 0
        self._running.add(job_id)
        try:
            async with self._db.read() as tx:
                job = await jobs_repo.get(tx, job_id)
            if job is None:
                return 0  # cancelled, or already run
            if job.run_at > self._clock.now():
                self._arm(job)  # woken early (another clock): wait for its time
                return 0
            handler = self._handlers.get(job.kind)
            if handler is None:
                log.error(
                    "No handler for job kind %s (job %s); leaving it stored", job.kind, job_id
                )
                return 0
            self._metrics.scheduler_lag.observe(
                max((self._clock.now() - job.run_at).total_seconds(), 0.0)
            )
            try:
                await handler(job)
            except Exception as error:
                self._metrics.error("job")
                log.error(
                    "Job %s (%s) failed; it stays stored and runs again at next start\n%s",
                    job_id,
                    job.kind,
                    redacted_traceback(error),
                )
                return 0
            async with self._db.transaction() as tx:
                await jobs_repo.delete_if_unchanged(tx, job)
            self.runs += 1
            return 1
        finally:
            self._running.discard(job_id)
