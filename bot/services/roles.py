"""Rotating roles: volunteering, one cycle per check-in schedule (or week), Swap and Skip,
and the prompt holder's next question.

A cycle is a persisted timer (`roles-cycle:{circle}`) whose handler is idempotent: the
cycle row is unique per circle and time, and what it owes Discord (the channel post, each
holder's DM) is written in the same transaction, so a cycle runs once whatever re-runs.

Who is unavailable is asked of :class:`Unavailability` sources. The check-in pause is
plugged in here; the buddy snooze and a helper's 'resting' capacity plug in the same way
(`BuddySnooze`, `HelpResting`, wired in `bot/startup.py`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from bot.clock import Clock
from bot.domain.circles import Circle
from bot.domain.prompts import pick_prompt
from bot.domain.roles import (
    ROLE_KEYS,
    Volunteer,
    choose_holders,
    next_cycle_at,
    next_in_line,
    parse_role,
    validate_prompt,
)
from bot.domain.screening import Screener
from bot.errors import NotAllowed, ValidationError
from bot.scheduling import JobScheduler
from bot.services.outbox import DeliveryRun, Outbox
from bot.storage.crypto import TextCipher
from bot.storage.database import Database, Tx
from bot.storage.repositories import checkins as checkins_repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import outbox as outbox_repo
from bot.storage.repositories import roles as repo
from bot.storage.repositories.jobs import StoredJob
from bot.storage.repositories.roles import Cycle, Holder
from bot.timeutil import to_db

CYCLE = "roles-cycle"
POST, TELL, CHANGE = "roles-post", "roles-dm", "roles-change"
HISTORY_CYCLES = 3


class Unavailability(Protocol):
    """Who of these members should not be given a role now (paused, snoozed, resting)."""

    async def unavailable(
        self, guild_id: int, user_ids: Sequence[int], today: date
    ) -> set[int]: ...


class CheckinPause:
    """Members away from check-ins (`/checkin pause`) are away from roles too."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def unavailable(self, guild_id: int, user_ids: Sequence[int], today: date) -> set[int]:
        async with self._db.read() as tx:
            return await checkins_repo.away(tx, list(user_ids), today)


class RolesNotifier(Protocol):
    """The Discord side; each raises `DeliveryFailed` when Discord refused or is away."""

    async def post_cycle(
        self, circle: Circle, cycle: Cycle, holders: dict[str, Holder], nonce: str
    ) -> None: ...

    async def tell_holder(
        self, user_id: int, circle: Circle, cycle: Cycle, role: str, nonce: str
    ) -> bool: ...

    async def post_change(
        self,
        circle: Circle,
        role: str,
        from_id: int,
        to_id: int | None,
        action: str,
        nonce: str,
    ) -> None: ...


@dataclass(frozen=True)
class RoleStatus:
    volunteers: list[Volunteer]
    next_cycle_at: datetime | None
    history: list[tuple[Cycle, dict[str, Holder]]]


@dataclass(frozen=True)
class HandedOn:
    circle: Circle
    role: str
    to_id: int | None


class RolesService:
    def __init__(
        self,
        db: Database,
        cipher: TextCipher,
        clock: Clock,
        jobs: JobScheduler,
        outbox: Outbox,
        screener: Screener,
        prompts: tuple[str, ...],
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._jobs = jobs
        self._outbox = outbox
        self._screener = screener
        self._prompts = prompts
        self._rng = rng or random.Random()
        self.unavailability: list[Unavailability] = [CheckinPause(db)]
        self.notifier: RolesNotifier | None = None  # set by the cog
        jobs.register(CYCLE, self._on_cycle_job)
        outbox.register(POST, self._deliver_post)
        outbox.register(TELL, self._deliver_tell)
        outbox.register(CHANGE, self._deliver_change)

    def _notify(self) -> RolesNotifier:
        if self.notifier is None:
            raise RuntimeError("no RolesNotifier attached")
        return self.notifier

    # -- volunteering

    async def volunteer(self, circle: Circle, user_id: int, role_text: str) -> tuple[str, bool]:
        role = parse_role(role_text)
        async with self._db.transaction() as tx:
            if not await circles_repo.is_member(tx, circle.id, user_id):
                raise NotAllowed(
                    f"Join “{circle.name}” first: roles rotate among its members.",
                    f"/circle join circle:{circle.name}",
                )
            added = await repo.add_volunteer(tx, circle, role, user_id, self._clock.now())
        return role, added

    async def unvolunteer(self, circle: Circle, user_id: int, role_text: str) -> tuple[str, bool]:
        role = parse_role(role_text)
        async with self._db.transaction() as tx:
            removed = await repo.remove_volunteer(tx, circle.id, role, user_id)
        return role, removed

    # -- the rotation

    async def set_rotation(self, circle: Circle, on: bool) -> datetime | None:
        """On: the first cycle runs now (kept if already on). Off: no more cycles."""
        job_id = f"{CYCLE}:{circle.id}"
        if not on:
            await self._jobs.cancel(job_id)
            return None
        async with self._db.read() as tx:
            existing = await jobs_repo.get(tx, job_id)
        if existing is not None:
            return existing.run_at
        job = await self._jobs.schedule(
            job_id, CYCLE, self._clock.now(), {"circle_id": circle.id}, guild_id=circle.guild_id
        )
        return job.run_at

    async def status(self, circle: Circle) -> RoleStatus:
        async with self._db.read() as tx:
            volunteers = await repo.volunteers(tx, circle.id)
            job = await jobs_repo.get(tx, f"{CYCLE}:{circle.id}")
        return RoleStatus(volunteers, job.run_at if job else None, await self.history(circle.id))

    async def history(
        self, circle_id: int, count: int = HISTORY_CYCLES
    ) -> list[tuple[Cycle, dict[str, Holder]]]:
        async with self._db.read() as tx:
            cycles = await repo.latest_cycles(tx, circle_id, count)
            return [(cycle, await repo.holders(tx, cycle.id)) for cycle in cycles]

    @staticmethod
    async def _current_volunteers(tx: Tx, circle_id: int) -> list[Volunteer]:
        """Volunteers who are still members of the circle (leaving ends one's turns)."""
        members = set(await circles_repo.member_ids(tx, circle_id))
        return [v for v in await repo.volunteers(tx, circle_id) if v.user_id in members]

    async def _unavailable(self, guild_id: int, user_ids: Sequence[int]) -> set[int]:
        today = self._clock.now().date()
        away: set[int] = set()
        for source in self.unavailability:
            away |= await source.unavailable(guild_id, user_ids, today)
        return away

    async def _on_cycle_job(self, job: StoredJob) -> None:
        async with self._db.read() as tx:
            circle = await circles_repo.get(tx, int(job.payload["circle_id"]))
            volunteers = await self._current_volunteers(tx, circle.id) if circle else []
        if circle is None:
            return
        now = self._clock.now()
        members = sorted({v.user_id for v in volunteers})
        away = await self._unavailable(circle.guild_id, members)
        async with self._db.transaction() as tx:
            await circles_repo.hold(tx, circle.id)
            cycle = await repo.start_cycle(tx, circle, to_db(job.run_at), now)
            if cycle is not None:  # else: this cycle ran already (a re-run after a crash)
                await self._assign(tx, circle, cycle, volunteers, away)
        self._outbox.kick()
        next_at = next_cycle_at(circle.schedule, max(now, job.run_at))
        await self._jobs.schedule(
            f"{CYCLE}:{circle.id}",
            CYCLE,
            next_at,
            {"circle_id": circle.id},
            guild_id=circle.guild_id,
        )

    async def _assign(
        self, tx: Tx, circle: Circle, cycle: Cycle, volunteers: list[Volunteer], away: set[int]
    ) -> None:
        previous: dict[str, int | None] = {}
        earlier = [c for c in await repo.latest_cycles(tx, circle.id, 2) if c.id != cycle.id]
        if earlier:
            previous = {
                role: h.user_id for role, h in (await repo.holders(tx, earlier[0].id)).items()
            }
        chosen = choose_holders(volunteers, previous, away)
        turns = {(v.role, v.user_id): v.last_turn_at for v in volunteers}
        for role in ROLE_KEYS:
            holder = chosen[role]
            if holder is None:
                await repo.set_holder(tx, cycle, role, None, None, None)
                continue
            await repo.set_holder(tx, cycle, role, holder, None, turns.get((role, holder)))
            await repo.set_last_turn(tx, circle.id, role, holder, cycle.started_at)
            await outbox_repo.enqueue(
                tx,
                TELL,
                f"{TELL}:{cycle.id}:{role}:{holder}",
                cycle.started_at,
                {"cycle_id": cycle.id, "role": role, "user_id": holder},
                guild_id=circle.guild_id,
                user_id=holder,
            )
        if not any(chosen.values()):
            return  # nobody volunteered (or all are away): no post to repeat every cycle
        await outbox_repo.enqueue(
            tx,
            POST,
            f"{POST}:{cycle.id}",
            cycle.started_at,
            {"cycle_id": cycle.id},
            guild_id=circle.guild_id,
        )

    # -- Swap and Skip

    async def hand_on(
        self, cycle_id: int, role: str, user_id: int, action: Literal["swap", "skip"]
    ) -> HandedOn:
        """Swap: the next in line takes this cycle, and you keep your place in the rotation.
        Skip: the next in line takes it, and your turn counts as taken. No reason asked."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await repo.hold_cycle(tx, cycle_id)
            cycle = await repo.get_cycle(tx, cycle_id)
            current = await repo.holders(tx, cycle_id) if cycle else {}
            held = current.get(role)
            latest = await repo.latest_cycles(tx, cycle.circle_id, 2) if cycle else []
            if cycle is None or held is None or held.user_id != user_id:
                raise NotAllowed(
                    "This role isn't yours this cycle (it may have been handed on already).",
                    "/circle info",
                )
            if latest[0].id != cycle.id:
                raise NotAllowed("That cycle is over; a new one has started.", "/circle info")
            circle = await circles_repo.get(tx, cycle.circle_id)
            assert circle is not None
            volunteers = [
                v for v in await self._current_volunteers(tx, circle.id) if v.role == role
            ]
            previous_cycle = latest[1] if len(latest) > 1 else None
            before = await repo.holders(tx, previous_cycle.id) if previous_cycle else {}
        away = await self._unavailable(circle.guild_id, [v.user_id for v in volunteers])
        async with self._db.transaction() as tx:
            await repo.hold_cycle(tx, cycle_id)
            current = await repo.holders(tx, cycle_id)
            held = current.get(role)
            if held is None or held.user_id != user_id:  # pressed twice: the first press won
                raise NotAllowed(
                    "This role isn't yours this cycle (it was just handed on).", "/circle info"
                )
            others = {h.user_id for r, h in current.items() if r != role and h.user_id}
            last = before.get(role)
            # Whoever handed it on this cycle is not asked again (nor is the one handing it).
            gone = await repo.passed(tx, cycle.id, role) | {user_id}
            to_id = next_in_line(
                [v for v in volunteers if last is None or v.user_id != last.user_id],
                unavailable=away,
                avoid=others,
                exclude=gone,
            ) or next_in_line(volunteers, unavailable=away, avoid=others, exclude=gone)
            await repo.add_pass(tx, cycle, role, user_id, action, now)
            turns = {v.user_id: v.last_turn_at for v in volunteers}
            # A swap gives back the turn; a skip keeps it counted (you go to the back).
            if action == "swap":
                await repo.set_last_turn(tx, circle.id, role, user_id, held.previous_turn_at)
            note = "swapped" if action == "swap" else "skipped"
            await repo.set_holder(tx, cycle, role, to_id, note, turns.get(to_id) if to_id else None)
            if to_id is not None:
                await repo.set_last_turn(tx, circle.id, role, to_id, now)
                await outbox_repo.enqueue(
                    tx,
                    TELL,
                    f"{TELL}:{cycle.id}:{role}:{to_id}",
                    now,
                    {"cycle_id": cycle.id, "role": role, "user_id": to_id},
                    guild_id=circle.guild_id,
                    user_id=to_id,
                )
            await outbox_repo.enqueue(
                tx,
                CHANGE,
                f"{CHANGE}:{cycle.id}:{role}:{user_id}:{to_db(now)}",
                now,
                {
                    "cycle_id": cycle.id,
                    "role": role,
                    "from": user_id,
                    "to": to_id,
                    "action": action,
                },
                guild_id=circle.guild_id,
            )
        self._outbox.kick()
        return HandedOn(circle, role, to_id)

    # -- the prompt holder's question

    def suggestion(self) -> str:
        return pick_prompt(list(self._prompts), set(), self._rng) if self._prompts else ""

    async def set_next_prompt(self, cycle_id: int, user_id: int, text: str | None) -> str:
        prompt = validate_prompt(text)
        if prompt not in self._prompts and self._screener.screen(prompt).matched:
            raise ValidationError(
                "That question touches on very hard things, so it won't be posted to the circle. "
                "Nothing was saved. If it's on your mind, `/crisis` shows people you can reach now.",
                "What helped you rest this week?",
            )
        async with self._db.transaction() as tx:
            cycle = await repo.get_cycle(tx, cycle_id)
            held = (await repo.holders(tx, cycle_id)).get("prompt") if cycle else None
            latest = await repo.latest_cycles(tx, cycle.circle_id, 1) if cycle else []
            if cycle is None or held is None or held.user_id != user_id or latest[0].id != cycle_id:
                raise NotAllowed(
                    "Only this cycle's prompt holder can set the next question.", "/circle info"
                )
            circle = await circles_repo.get(tx, cycle.circle_id)
            assert circle is not None
            await repo.set_next_prompt(tx, self._cipher, circle, prompt, user_id, self._clock.now())
        return prompt

    # -- deliveries

    async def _cycle_context(self, cycle_id: int) -> tuple[Circle, Cycle, dict[str, Holder]] | None:
        async with self._db.read() as tx:
            cycle = await repo.get_cycle(tx, cycle_id)
            circle = await circles_repo.get(tx, cycle.circle_id) if cycle else None
            holders = await repo.holders(tx, cycle_id) if cycle else {}
        if cycle is None or circle is None:
            return None
        return circle, cycle, holders

    async def _deliver_post(self, run: DeliveryRun) -> None:
        found = await self._cycle_context(int(run.payload["cycle_id"]))
        if found is not None:
            circle, cycle, holders = found
            await self._notify().post_cycle(circle, cycle, holders, run.nonce())

    async def _deliver_tell(self, run: DeliveryRun) -> None:
        found = await self._cycle_context(int(run.payload["cycle_id"]))
        if found is None:
            return
        circle, cycle, holders = found
        role, user_id = str(run.payload["role"]), int(run.payload["user_id"])
        held = holders.get(role)
        if held is None or held.user_id != user_id:
            return  # handed on before the DM went out
        await self._notify().tell_holder(user_id, circle, cycle, role, run.nonce())

    async def _deliver_change(self, run: DeliveryRun) -> None:
        found = await self._cycle_context(int(run.payload["cycle_id"]))
        if found is None:
            return
        circle, _, _ = found
        to_id = run.payload.get("to")
        await self._notify().post_change(
            circle,
            str(run.payload["role"]),
            int(run.payload["from"]),
            None if to_id is None else int(to_id),
            str(run.payload["action"]),
            run.nonce(),
        )
