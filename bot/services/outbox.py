"""Delivering what state changes owe Discord, exactly once from the member's point of view.

A service writes a row with :func:`bot.storage.repositories.outbox.enqueue` inside the same
transaction as the change that owes it (a round opened owes its prompt; a round closed owes
its summary), then calls :meth:`Outbox.kick`. The worker claims each due row, runs the
handler registered for its kind, and marks it delivered. A crash at any point leaves the
row pending, and it runs again at the next start.

A handler that sends several messages records each step as it succeeds
(:meth:`DeliveryRun.record`) and skips recorded steps on a retry. The one gap left (a message
Discord created whose step the bot had not yet recorded) is closed by the step's message
nonce: Discord returns the earlier message instead of creating a second one
(``enforce_nonce``) when the retry comes within a few minutes, which a restart does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from bot.clock import Clock
from bot.logging_setup import redacted_traceback
from bot.metrics import Metrics
from bot.sharding import Ownership
from bot.storage.database import Database
from bot.storage.repositories import outbox as repo
from bot.storage.repositories.outbox import Delivery

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
KEEP_DONE = timedelta(days=7)
POLL_SECONDS = 30.0
LANES = 16  # deliveries of different servers run side by side; one server's run in order


class DeliveryFailed(Exception):
    """Raised by a handler: `permanent` failures (no access, unknown channel) are not retried."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Outcome(Enum):
    DELIVERED = "delivered"
    PENDING = "pending"
    FAILED = "failed"


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at 10 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 600))


@dataclass
class DeliveryRun:
    """One attempt at a delivery: nonces for its messages, and the steps already done."""

    delivery: Delivery
    _outbox: Outbox

    @property
    def payload(self) -> dict[str, Any]:
        return self.delivery.payload

    def nonce(self, step: str = "") -> str:
        """A message nonce (≤ 25 characters) stable across retries of this step."""
        suffix = hashlib.sha1(step.encode()).hexdigest()[:8] if step else "0"
        return f"{self.delivery.nonce}.{suffix}"

    def done(self, step: str) -> bool:
        return step in self.delivery.steps

    def result(self, step: str) -> Any:
        return self.delivery.steps.get(step)

    async def record(self, step: str, result: Any = True) -> None:
        """Persist that `step` succeeded, so a retry does not repeat it."""
        async with self._outbox.db.transaction() as tx:
            await repo.record_step(tx, self.delivery.id, step, result)
        self.delivery.steps[step] = result


Handler = Callable[[DeliveryRun], Awaitable[None]]


class Outbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        metrics: Metrics | None = None,
        ownership: Ownership | None = None,
    ) -> None:
        self.db = db
        self._clock = clock
        self._metrics = metrics or Metrics()
        # With shard processes, each delivers only its servers' rows (DM rows: shard 0).
        self.ownership = ownership or Ownership()
        self._handlers: dict[str, Handler] = {}
        self._kicked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._in_flight: set[int] = set()
        self._finished: dict[int, asyncio.Event] = {}
        self._lanes = asyncio.Semaphore(LANES)
        self.delivered = 0  # since start, for tests and benchmarks
        self.failed = 0

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a delivery handler for {kind!r} is already registered")
        self._handlers[kind] = handler

    # -- lifecycle

    async def start(self) -> None:
        """Leases of this process's previous run (it died) are void; deliver what is pending.

        Only rows of servers this process owns: another shard process's leases are its own."""
        if self._task is not None or self._stopped:
            return  # running, or the bot closed (a late READY must not start a stray worker)
        async with self.db.transaction() as tx:
            released = await repo.release_claims(tx, self.ownership)
        if released:
            log.info("Outbox: %d delivery(ies) interrupted by a restart will run again", released)
        self._task = asyncio.create_task(self._loop(), name="outbox")

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def kick(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._kicked.set()

    # -- waiting for one delivery (a command that wants to tell the truth)

    async def wait(self, delivery_id: int, timeout: float) -> Outcome:  # noqa: ASYNC109
        """The delivery's outcome, waiting up to `timeout` seconds for it to settle."""
        event = self._finished.setdefault(delivery_id, asyncio.Event())
        self.kick()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
        async with self.db.read() as tx:
            delivery = await repo.get(tx, delivery_id)
        if delivery is None or delivery.delivered:
            return Outcome.DELIVERED
        return Outcome.FAILED if delivery.failed else Outcome.PENDING

    async def pending(self) -> int:
        """Deliveries neither delivered nor given up (for the health check and metrics)."""
        async with self.db.read() as tx:
            return await repo.pending_count(tx)

    async def gave_up(self, dedupe_key: str) -> bool:
        """True when the delivery was given up (or never owed): only then is a repair due."""
        async with self.db.read() as tx:
            delivery = await repo.by_key(tx, dedupe_key)
        return delivery is None or delivery.failed

    async def revive(self, dedupe_key: str) -> int | None:
        """Try an undelivered delivery again now (e.g. a prompt that could not be posted)."""
        async with self.db.transaction() as tx:
            delivery_id = await repo.revive(tx, dedupe_key, self._clock.now())
        self.kick()
        return delivery_id

    # -- the worker

    async def _loop(self) -> None:
        while not self.db.closed:  # a closed database ends the worker (the bot is stopping)
            try:
                await self.run_pending()
            except Exception as error:  # the worker must outlive any one bad pass
                if self.db.closed:
                    break
                log.error("Outbox pass failed\n%s", redacted_traceback(error))
            try:
                idle = await self._idle_seconds()
            except Exception as error:  # the database is down right now: look again later
                log.warning("Outbox: could not read the next due time (%s)", type(error).__name__)
                idle = POLL_SECONDS
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can hang when a cancel
            # (bot shutdown) races its timeout.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle):
                    await self._kicked.wait()
            self._kicked.clear()

    async def _idle_seconds(self) -> float:
        """Until the next retry falls due, within [0.5 s, POLL_SECONDS]."""
        async with self.db.read() as tx:
            next_at = await repo.next_due_at(tx, self.ownership)
        if next_at is None:
            return POLL_SECONDS
        wait = (next_at - self._clock.now()).total_seconds()
        return min(max(wait, 0.5), POLL_SECONDS)

    async def run_pending(self) -> int:
        """Deliver everything due now; returns how many were delivered. Tests call it too."""
        total = 0
        while True:
            self._kicked.clear()
            now = self._clock.now()
            async with self.db.read() as tx:
                due = [
                    d
                    for d in await repo.due(tx, now, ownership=self.ownership)
                    if d.id not in self._in_flight
                ]
            if not due:
                break
            lanes: dict[int | None, list[Delivery]] = {}
            for delivery in due:
                lanes.setdefault(delivery.guild_id, []).append(delivery)
            results = await asyncio.gather(*(self._run_lane(lane) for lane in lanes.values()))
            total += sum(results)
            if not any(results) and not self._kicked.is_set():
                break  # everything due failed for now: wait for backoff or a kick
        if total:
            async with self.db.transaction() as tx:
                await repo.prune_delivered(tx, self._clock.now() - KEEP_DONE)
        return total

    async def drain(self) -> int:
        """Deliver everything due, waiting for any delivery another task has in hand.

        For tests and the sandbox, which move a fake clock and then look at what was posted.
        """
        total = 0
        while True:
            total += await self.run_pending()
            async with self.db.read() as tx:
                due = await repo.due(tx, self._clock.now(), limit=1, ownership=self.ownership)
            if not due and not self._in_flight:
                return total
            await asyncio.sleep(0.01)

    async def _run_lane(self, deliveries: list[Delivery]) -> int:
        async with self._lanes:
            count = 0
            for delivery in deliveries:
                count += await self._deliver(delivery)
            return count

    async def _deliver(self, delivery: Delivery) -> int:
        if delivery.id in self._in_flight:
            return 0
        self._in_flight.add(delivery.id)
        try:
            now = self._clock.now()
            async with self.db.transaction() as tx:
                if not await repo.claim(tx, delivery.id, now, now + LEASE):
                    return 0
                fresh = await repo.get(tx, delivery.id)
            assert fresh is not None
            return await self._attempt(fresh)
        finally:
            self._in_flight.discard(delivery.id)
            event = self._finished.pop(delivery.id, None)
            if event is not None:
                event.set()

    async def _attempt(self, delivery: Delivery) -> int:
        handler = self._handlers.get(delivery.kind)
        now = self._clock.now()
        if handler is None:
            log.error("Outbox: no handler for %s (delivery %s)", delivery.kind, delivery.id)
            async with self.db.transaction() as tx:
                await repo.retry_later(
                    tx, delivery.id, now + backoff(delivery.attempts), "no-handler"
                )
            return 0
        try:
            await handler(DeliveryRun(delivery, self))
        except DeliveryFailed as failure:
            await self._failed(delivery, failure.reason, permanent=failure.permanent)
            return 0
        except Exception as error:
            self._metrics.error("delivery")
            log.error(
                "Outbox: delivery %s (%s) raised\n%s",
                delivery.id,
                delivery.kind,
                redacted_traceback(error),
            )
            await self._failed(delivery, type(error).__name__, permanent=False)
            return 0
        async with self.db.transaction() as tx:
            await repo.mark_delivered(tx, delivery.id, self._clock.now())
        self.delivered += 1
        self._metrics.outbox.labels("delivered").inc()
        return 1

    async def _failed(self, delivery: Delivery, reason: str, *, permanent: bool) -> None:
        now = self._clock.now()
        give_up = permanent or delivery.attempts >= MAX_ATTEMPTS
        async with self.db.transaction() as tx:
            if give_up:
                await repo.mark_failed(tx, delivery.id, now, reason)
            else:
                await repo.retry_later(tx, delivery.id, now + backoff(delivery.attempts), reason)
        if give_up:
            self.failed += 1
            self._metrics.outbox.labels("failed").inc()
            log.warning(
                "Outbox: gave up on delivery %s (%s) after %d attempt(s): %s",
                delivery.id,
                delivery.kind,
                delivery.attempts,
                reason,
            )
        else:
            log.info(
                "Outbox: delivery %s (%s) failed (%s); retrying later",
                delivery.id,
                delivery.kind,
                reason,
            )
