"""Buddy pairing: opt in, avoid privately, cycles on a schedule, introductions, follow-up.

Timers (persisted jobs, see `bot.scheduling`): `buddy-start:{circle}` at the next scheduled
start, `buddy-follow:{cycle}` midway, `buddy-again:{cycle}:{user}` 48 h after "Not yet",
`buddy-end:{cycle}` when the cycle ends. What a cycle owes Discord goes through the outbox,
written in the same transaction as the cycle: one introduction per member
(`buddy-intro:{cycle}:{user}`), a private thread for a group when a member's DMs are
closed (`buddy-thread:{cycle}:{group}`), one follow-up per member, one "paused" note.
Every handler is idempotent through the database (a slot has one cycle; a cycle ends
once; an outbox key is owed once), so a restart at any point sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.domain.buddies import (
    FOLLOW_UP_AGAIN,
    SILENT_CYCLES_TO_PAUSE,
    Answer,
    Cycle,
    CycleSchedule,
    CycleStats,
    Pairing,
    Rules,
    follow_up_at,
    pair_members,
    parse_day,
    parse_every,
    pick_question,
)
from bot.domain.circles import Circle
from bot.domain.schedule import parse_time_of_day, parse_until_date
from bot.errors import NotAllowed, ValidationError
from bot.scheduling import JobScheduler
from bot.services.outbox import DeliveryRun, Outbox
from bot.storage.database import Database, Tx
from bot.storage.repositories import buddies as repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import outbox as outbox_repo
from bot.storage.repositories.buddies import Placement
from bot.storage.repositories.jobs import StoredJob
from bot.timeutil import to_db

log = logging.getLogger(__name__)

START, FOLLOW, AGAIN, END = "buddy-start", "buddy-follow", "buddy-again", "buddy-end"
INTRO, THREAD, FOLLOW_UP, PAUSED = "buddy-intro", "buddy-thread", "buddy-followup", "buddy-paused"
DEFAULT_LENGTH = timedelta(weeks=1)  # a cycle started by hand with no schedule
HISTORY_CYCLES = 52
RULES = Rules()
ANY = object()  # `_start(replaces=ANY)`: whatever cycle is running (a scheduled start)


class BuddySnooze:
    """Members snoozed from buddy pairing are spared other duties too (a rotating role)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def unavailable(self, guild_id: int, user_ids: Sequence[int], today: date) -> set[int]:
        async with self._db.read() as tx:
            return await repo.snoozed(tx, guild_id, list(user_ids), today)


class BuddyNotifier(Protocol):
    """Discord's side. Each method raises `DeliveryFailed` when Discord could not be reached."""

    async def present(self, guild_id: int, user_ids: Sequence[int]) -> list[int]:
        """Those still in the server."""
        ...

    async def introduce(
        self, run: DeliveryRun, circle: Circle, placement: Placement, question: str
    ) -> bool:
        """The introduction DM (or the "nobody this time" note); False: DMs closed."""
        ...

    async def group_thread(
        self, run: DeliveryRun, circle: Circle, cycle: Cycle, members: Sequence[int], question: str
    ) -> None:
        """A private thread in the circle's channel for a group, saying why it exists."""
        ...

    async def follow_up(
        self,
        run: DeliveryRun,
        circle: Circle,
        placement: Placement,
        again: bool,
        mates_here: Sequence[int],
    ) -> bool:
        """ "Did you connect?" with the buttons; if every buddy left the server, says so."""
        ...

    async def tell_paused(self, run: DeliveryRun, circle: Circle, user_id: int) -> bool: ...


@dataclass(frozen=True)
class Started:
    cycle: Cycle
    pairing: Pairing
    ended_previous: bool


@dataclass(frozen=True)
class Answered:
    answer: Answer
    repeated: bool  # the same answer was already recorded (a double click)
    circle: Circle


def cycle_seed(circle_id: int, slot: str) -> int:
    return zlib.crc32(f"{circle_id}:{slot}".encode()) % 2**31  # fits a 32-bit INTEGER


class BuddyService:
    def __init__(self, db: Database, clock: Clock, jobs: JobScheduler, outbox: Outbox) -> None:
        self._db = db
        self._clock = clock
        self._jobs = jobs
        self._outbox = outbox
        self.notifier: BuddyNotifier | None = None  # set by the cog
        jobs.register(START, self._on_start_job)
        jobs.register(FOLLOW, self._on_follow_job)
        jobs.register(AGAIN, self._on_again_job)
        jobs.register(END, self._on_end_job)
        outbox.register(INTRO, self._deliver_intro)
        outbox.register(THREAD, self._deliver_thread)
        outbox.register(FOLLOW_UP, self._deliver_follow_up)
        outbox.register(PAUSED, self._deliver_paused)

    def _notify(self) -> BuddyNotifier:
        if self.notifier is None:
            raise RuntimeError("no BuddyNotifier attached")
        return self.notifier

    # -- members

    async def join(self, circle: Circle, user_id: int) -> bool:
        """Opt in (or resume); False if already taking part."""
        async with self._db.transaction() as tx:
            if user_id not in await circles_repo.member_ids(tx, circle.id):
                raise NotAllowed(
                    f"Buddy pairing in “{circle.name}” is for its members. Join the circle first.",
                    f"/circle join circle:{circle.name}",
                )
            before = await repo.get_optin(tx, circle.id, user_id)
            await repo.join(tx, circle.id, circle.guild_id, user_id, self._clock.now())
        return before is None or before.paused or before.snoozed_until is not None

    async def leave(self, circle: Circle, user_id: int) -> bool:
        async with self._db.transaction() as tx:
            return await repo.leave(tx, circle.id, user_id)

    async def snooze(self, guild_id: int, user_id: int, until: str) -> date:
        day = parse_until_date(until, self._clock.now().date())
        async with self._db.transaction() as tx:
            if not await repo.snooze(tx, guild_id, user_id, day):
                raise ValidationError(
                    "You haven't joined buddy pairing in this server, so there is nothing to snooze.",
                    "/buddy join",
                )
        return day

    async def avoid(self, guild_id: int, user_id: int, other_id: int, other_is_bot: bool) -> bool:
        if other_id == user_id:
            raise ValidationError(
                "You can't avoid yourself. Name someone you'd rather not be paired with.",
                "/buddy avoid member:@someone",
            )
        async with self._db.transaction() as tx:
            if other_is_bot or not await repo.in_a_circle(tx, guild_id, other_id):
                raise ValidationError(
                    "That member isn't in any circle here, so you won't be paired with them.",
                    "/buddy avoid member:@someone-in-your-circle",
                )
            return await repo.add_avoid(tx, guild_id, user_id, other_id, self._clock.now())

    async def unavoid(self, guild_id: int, user_id: int, other_id: int) -> bool:
        async with self._db.transaction() as tx:
            return await repo.remove_avoid(tx, guild_id, user_id, other_id)

    async def current(self, guild_id: int, user_id: int) -> list[tuple[Circle, Placement]]:
        async with self._db.read() as tx:
            found = []
            for placement in await repo.current_placements(tx, guild_id, user_id):
                circle = await circles_repo.get(tx, placement.cycle.circle_id)
                if circle is not None:
                    found.append((circle, placement))
        return found

    async def answer(self, cycle_id: int, user_id: int, answer: Answer) -> Answered:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            cycle = await repo.get_cycle(tx, cycle_id, hold=True)
            circle = None if cycle is None else await circles_repo.get(tx, cycle.circle_id)
            if cycle is None or circle is None:
                raise ValidationError("That buddy cycle no longer exists.", "/buddy current")
            if not cycle.running:
                raise ValidationError(
                    "That buddy cycle has ended; a new one has its own buttons.", "/buddy current"
                )
            before = await repo.set_answer(tx, cycle_id, user_id, answer, now)
            if before is False:
                raise NotAllowed("These buttons are for the members of this buddy group.")
            again_at = now + FOLLOW_UP_AGAIN
            job = StoredJob(
                f"{AGAIN}:{cycle_id}:{user_id}",
                AGAIN,
                again_at,
                {"cycle_id": cycle_id, "user_id": user_id},
                cycle.guild_id,
            )
            ask_again = answer is Answer.NOT_YET and before is None and again_at < cycle.ends_at
            if ask_again:
                await jobs_repo.upsert(tx, job)
        if ask_again:
            self._jobs.arm(job)
        return Answered(answer, repeated=before == answer, circle=circle)

    # -- facilitators

    async def set_schedule(self, circle: Circle, every: str, day: str, time: str) -> CycleSchedule:
        schedule = CycleSchedule(
            parse_every(every), parse_day(day), parse_time_of_day(time), circle.timezone
        )
        job = StoredJob(
            f"{START}:{circle.id}",
            START,
            schedule.first_start_after(self._clock.now()),
            {"circle_id": circle.id},
            circle.guild_id,
        )
        async with self._db.transaction() as tx:
            await repo.set_schedule(
                tx,
                circle.id,
                circle.guild_id,
                schedule.every_weeks,
                schedule.weekday,
                schedule.time,
            )
            await jobs_repo.upsert(tx, job)
        self._jobs.arm(job)
        return schedule

    async def next_start(self, circle: Circle) -> datetime | None:
        async with self._db.read() as tx:
            job = await jobs_repo.get(tx, f"{START}:{circle.id}")
        return None if job is None else job.run_at

    async def clear_schedule(self, circle: Circle) -> bool:
        async with self._db.transaction() as tx:
            had = await repo.clear_schedule(tx, circle.id)
            await jobs_repo.delete(tx, f"{START}:{circle.id}")
        self._jobs.disarm(f"{START}:{circle.id}")
        return had

    async def start_now(self, circle: Circle) -> Started:
        now = self._clock.now()
        async with self._db.read() as tx:
            seen = await repo.running_cycle(tx, circle.id)
        # A cycle started by hand has a slot of its own; one running cycle is a database guard.
        slot = f"now:{to_db(now)}:{secrets.token_hex(4)}"
        started = await self._start(circle, slot, now, replaces=seen.id if seen else None)
        if started is None:
            raise ValidationError(
                f"A buddy cycle of “{circle.name}” was just started by someone else.",
                f"/facilitate buddies stats circle:{circle.name}",
            )
        return started

    async def stats(self, circle: Circle) -> tuple[int, list[CycleStats]]:
        async with self._db.read() as tx:
            return await repo.stats(tx, circle.id, 8)

    # -- cycles

    async def _eligible(self, circle: Circle, today: date) -> list[int]:
        async with self._db.read() as tx:
            members = set(await circles_repo.member_ids(tx, circle.id))
            optins = await repo.optins(tx, circle.id)
        wanted = [
            o.user_id
            for o in optins
            if o.user_id in members
            and not o.paused
            and (o.snoozed_until is None or o.snoozed_until <= today)
        ]
        if not wanted:
            return []
        return sorted(await self._notify().present(circle.guild_id, wanted))

    async def _start(
        self, circle: Circle, slot: str, now: datetime, replaces: int | object | None = ANY
    ) -> Started | None:
        """End the running cycle (if any) and start the next: pairs, their introductions and
        timers in one transaction. None when another start won the race, or (`replaces`,
        the cycle the caller saw running) when a cycle was started or ended meanwhile."""
        schedule = await self._schedule(circle)
        length = schedule.length if schedule else DEFAULT_LENGTH
        # End the running cycle first, so those it pauses are not paired again.
        async with self._db.transaction() as tx:
            await circles_repo.hold(tx, circle.id)  # one start at a time per circle
            running = await repo.running_cycle(tx, circle.id)
            if replaces is not ANY and (running.id if running else None) != replaces:
                return None  # a double click: the other click already started a cycle
            if running is not None:
                if running.slot == slot:
                    return None  # this slot's cycle already started (a re-run timer)
                await self._end(tx, running, now)
        if running is not None:
            self._disarm_cycle(running.id)
            self._outbox.kick()
        pool = await self._eligible(circle, now.date())
        seed = cycle_seed(circle.id, slot)
        async with self._db.read() as tx:
            history = await repo.history(tx, circle.id, HISTORY_CYCLES)
            avoid = await repo.avoid_pairs(tx, circle.guild_id)
        pairing = await asyncio.to_thread(
            pair_members, pool, avoid=avoid, history=history, seed=seed, rules=RULES
        )
        async with self._db.transaction() as tx:
            cycle = await repo.start_cycle(
                tx, circle.id, circle.guild_id, slot, now, now + length, seed
            )
            if cycle is None:
                return None
            await repo.add_members(tx, cycle, pairing.groups, pairing.lone)
            for user_id in (*[m for g in pairing.groups for m in g], *pairing.lone):
                await outbox_repo.enqueue(
                    tx,
                    INTRO,
                    f"{INTRO}:{cycle.id}:{user_id}",
                    now,
                    {"cycle_id": cycle.id},
                    guild_id=circle.guild_id,
                    user_id=user_id,
                )
            timers = [
                StoredJob(
                    f"{FOLLOW}:{cycle.id}",
                    FOLLOW,
                    follow_up_at(cycle.started_at, cycle.ends_at),
                    {"cycle_id": cycle.id},
                    circle.guild_id,
                ),
                StoredJob(
                    f"{END}:{cycle.id}", END, cycle.ends_at, {"cycle_id": cycle.id}, circle.guild_id
                ),
            ]
            for job in timers:
                await jobs_repo.upsert(tx, job)
        for job in timers:
            self._jobs.arm(job)
        self._outbox.kick()
        log.info(
            "Buddy cycle %s of circle %s: %d groups, %d alone (%s)",
            cycle.id,
            circle.id,
            len(pairing.groups),
            len(pairing.lone),
            pairing.method,
        )
        return Started(cycle, pairing, ended_previous=running is not None)

    async def _schedule(self, circle: Circle) -> CycleSchedule | None:
        async with self._db.read() as tx:
            return await repo.get_schedule(tx, circle.id, circle.timezone)

    async def _end(self, tx: Tx, cycle: Cycle, now: datetime) -> bool:
        """End once; count silence; owe a note to those it pauses."""
        if not await repo.end_cycle(tx, cycle.id, now):
            return False
        paused = await repo.count_silence(tx, cycle.id, cycle.circle_id, SILENT_CYCLES_TO_PAUSE)
        for user_id in paused:
            await outbox_repo.enqueue(
                tx,
                PAUSED,
                f"{PAUSED}:{cycle.id}:{user_id}",
                now,
                {"cycle_id": cycle.id},
                guild_id=cycle.guild_id,
                user_id=user_id,
            )
        for job_id in (f"{FOLLOW}:{cycle.id}", f"{END}:{cycle.id}"):
            await jobs_repo.delete(tx, job_id)
        return True

    def _disarm_cycle(self, cycle_id: int) -> None:
        for job_id in (f"{FOLLOW}:{cycle_id}", f"{END}:{cycle_id}"):
            self._jobs.disarm(job_id)

    async def _on_start_job(self, job: StoredJob) -> None:
        async with self._db.read() as tx:
            circle = await circles_repo.get(tx, int(job.payload["circle_id"]))
        schedule = None if circle is None else await self._schedule(circle)
        if circle is None or schedule is None:
            return
        now = self._clock.now()
        if now < job.run_at + schedule.length:  # still this slot's cycle, even if late
            await self._start(circle, to_db(job.run_at), now)  # None: it already started
        next_at = schedule.next_start(job.run_at)
        while next_at <= now:
            next_at = schedule.next_start(next_at)
        await self._jobs.schedule(
            f"{START}:{circle.id}",
            START,
            next_at,
            {"circle_id": circle.id},
            guild_id=circle.guild_id,
        )

    async def _on_end_job(self, job: StoredJob) -> None:
        async with self._db.transaction() as tx:
            cycle = await repo.get_cycle(tx, int(job.payload["cycle_id"]))
            if cycle is None or not cycle.running:
                return
            await self._end(tx, cycle, self._clock.now())
        self._outbox.kick()

    async def _on_follow_job(self, job: StoredJob) -> None:
        """Owe one follow-up to each placed member who has not answered."""
        cycle_id = int(job.payload["cycle_id"])
        now = self._clock.now()
        async with self._db.transaction() as tx:
            cycle = await repo.get_cycle(tx, cycle_id)
            if cycle is None or not cycle.running:
                return
            for user_id, group_no, answer in await repo.members_of(tx, cycle_id):
                if group_no is not None and answer is None:
                    await self._owe_follow_up(tx, cycle, user_id, now, again=False)
        self._outbox.kick()

    async def _on_again_job(self, job: StoredJob) -> None:
        cycle_id, user_id = int(job.payload["cycle_id"]), int(job.payload["user_id"])
        async with self._db.transaction() as tx:
            placement = await repo.placement(tx, cycle_id, user_id)
            if placement is None or not placement.cycle.running:
                return
            if placement.answer is Answer.NOT_YET:
                await self._owe_follow_up(
                    tx, placement.cycle, user_id, self._clock.now(), again=True
                )
        self._outbox.kick()

    @staticmethod
    async def _owe_follow_up(
        tx: Tx, cycle: Cycle, user_id: int, now: datetime, *, again: bool
    ) -> None:
        key = f"{FOLLOW_UP}:{cycle.id}:{user_id}" + (":again" if again else "")
        await outbox_repo.enqueue(
            tx,
            FOLLOW_UP,
            key,
            now,
            {"cycle_id": cycle.id, "again": again},
            guild_id=cycle.guild_id,
            user_id=user_id,
        )

    # -- deliveries

    async def _placed(self, run: DeliveryRun) -> tuple[Circle, Placement] | None:
        user_id = run.delivery.user_id
        assert user_id is not None
        async with self._db.read() as tx:
            placement = await repo.placement(tx, int(run.payload["cycle_id"]), user_id)
            circle = (
                None if placement is None else await circles_repo.get(tx, placement.cycle.circle_id)
            )
        if placement is None or circle is None or not placement.cycle.running:
            return None  # erased, or the cycle is over: nothing to say any more
        return circle, placement

    async def _deliver_intro(self, run: DeliveryRun) -> None:
        found = await self._placed(run)
        if found is None:
            return
        circle, placement = found
        question = pick_question(placement.cycle.seed + (placement.group_no or 0))
        if await self._notify().introduce(run, circle, placement, question):
            return
        if placement.group_no is None:
            return  # alone and unreachable: /buddy current still tells them
        # DMs closed: the group gets a private thread in the circle's channel instead.
        async with self._db.transaction() as tx:
            await outbox_repo.enqueue(
                tx,
                THREAD,
                f"{THREAD}:{placement.cycle.id}:{placement.group_no}",
                self._clock.now(),
                {"cycle_id": placement.cycle.id, "group_no": placement.group_no},
                guild_id=circle.guild_id,
            )
        self._outbox.kick()

    async def _deliver_thread(self, run: DeliveryRun) -> None:
        cycle_id, group_no = int(run.payload["cycle_id"]), int(run.payload["group_no"])
        async with self._db.read() as tx:
            cycle = await repo.get_cycle(tx, cycle_id)
            circle = None if cycle is None else await circles_repo.get(tx, cycle.circle_id)
            members = [u for u, g, _ in await repo.members_of(tx, cycle_id) if g == group_no]
        if cycle is None or circle is None or not cycle.running or len(members) < 2:
            return
        question = pick_question(cycle.seed + group_no)
        await self._notify().group_thread(run, circle, cycle, members, question)

    async def _deliver_follow_up(self, run: DeliveryRun) -> None:
        found = await self._placed(run)
        if found is None or found[1].answer not in (None, Answer.NOT_YET) or not found[1].mates:
            return  # answered since, or alone
        circle, placement = found
        here = await self._notify().present(circle.guild_id, [placement.user_id, *placement.mates])
        if placement.user_id not in here:
            return  # they left the server
        mates_here = [m for m in placement.mates if m in here]
        await self._notify().follow_up(
            run, circle, placement, again=bool(run.payload.get("again")), mates_here=mates_here
        )

    async def _deliver_paused(self, run: DeliveryRun) -> None:
        user_id = run.delivery.user_id
        assert user_id is not None
        async with self._db.read() as tx:
            cycle = await repo.get_cycle(tx, int(run.payload["cycle_id"]))
            circle = None if cycle is None else await circles_repo.get(tx, cycle.circle_id)
            optin = None if cycle is None else await repo.get_optin(tx, cycle.circle_id, user_id)
        if circle is not None and optin is not None and optin.paused:
            await self._notify().tell_paused(run, circle, user_id)
