"""Check-in rounds: schedule, open, answer, remind, close, history.

Timers are persisted jobs (see `bot.scheduling`): `checkin-open:{circle}` at the next
scheduled slot, `checkin-remind:{round}` some hours before close, `checkin-close:{round}`
at close. Each handler is idempotent through the database: a slot has at most one
round (UNIQUE), a round closes once, a member gets one reminder per round.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import Clock
from bot.domain.checkins import (
    RoundSummary,
    Visibility,
    reminder_targets,
    summarize_round,
    validate_note,
)
from bot.domain.circles import Circle, Round
from bot.domain.moods import MoodPoint, MoodStats, mood_stats, needs_gentle_nudge
from bot.domain.prompts import pick_prompt
from bot.domain.schedule import (
    RoundSchedule,
    parse_days,
    parse_duration,
    parse_time_of_day,
    parse_until_date,
)
from bot.errors import NotAllowed, ValidationError
from bot.scheduling import JobScheduler
from bot.services.outbox import DeliveryRun, Outbox
from bot.services.ports import CheckinNotifier
from bot.services.safety import SafetyNet
from bot.storage.crypto import TextCipher
from bot.storage.database import Database, Tx
from bot.storage.repositories import buddies as buddies_repo
from bot.storage.repositories import checkins as repo
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import dm_status
from bot.storage.repositories import guilds as guilds_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import outbox as outbox_repo
from bot.storage.repositories import roles as roles_repo
from bot.storage.repositories.checkins import AnswerContext
from bot.storage.repositories.jobs import StoredJob
from bot.timeutil import to_db

log = logging.getLogger(__name__)

OPEN, REMIND, CLOSE = "checkin-open", "checkin-remind", "checkin-close"
# What rounds owe Discord, delivered through the outbox (see bot.services.outbox).
PROMPT, SUMMARY, FACILITATORS, REMINDER = (
    "round-prompt",
    "round-summary",
    "round-facilitators",
    "checkin-reminder",
)
DEFAULT_CLOSE_AFTER = timedelta(hours=24)
REMIND_BEFORE_CLOSE = timedelta(hours=3)


@dataclass(frozen=True)
class Saved:
    circle: Circle
    replaced: bool
    note: str | None


@dataclass(frozen=True)
class Support:
    """What the author alone is shown after answering, if anything."""

    show_crisis_card: bool
    gentle_nudge: bool
    facilitator_ids: tuple[int, ...]
    buddy_ids: tuple[int, ...] = ()  # the member's buddies this cycle in this circle

    @property
    def needed(self) -> bool:
        return self.show_crisis_card or self.gentle_nudge


@dataclass(frozen=True)
class Answered:
    circle: Circle
    replaced: bool
    show_crisis_card: bool
    gentle_nudge: bool
    facilitator_ids: tuple[int, ...]


@dataclass(frozen=True)
class Opened:
    """A round and the delivery of its prompt (awaited by a command that wants the truth)."""

    round: Round
    prompt_delivery: int | None
    repaired: bool = False


@dataclass(frozen=True)
class Closed:
    summary: RoundSummary
    summary_delivery: int | None


@dataclass(frozen=True)
class History:
    points: list[MoodPoint]
    stats: MoodStats
    days: int


def remind_at(round_: Round) -> datetime:
    """A few hours before close, or a quarter of a short round before it closes."""
    length = round_.closes_at - round_.opened_at
    return round_.closes_at - min(REMIND_BEFORE_CLOSE, length / 4)


class CheckinService:
    def __init__(
        self,
        db: Database,
        cipher: TextCipher,
        clock: Clock,
        jobs: JobScheduler,
        outbox: Outbox,
        safety: SafetyNet,
        prompts: tuple[str, ...],
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._cipher = cipher
        self._clock = clock
        self._jobs = jobs
        self._safety = safety
        self._prompts = prompts
        self._rng = rng or random.Random()
        self.notifier: CheckinNotifier | None = None  # set by the cog that renders rounds
        jobs.register(OPEN, self._on_open_job)
        jobs.register(REMIND, self._on_remind_job)
        jobs.register(CLOSE, self._on_close_job)
        outbox.register(PROMPT, self._deliver_prompt)
        outbox.register(SUMMARY, self._deliver_summary)
        outbox.register(FACILITATORS, self._deliver_to_facilitators)
        outbox.register(REMINDER, self._deliver_reminder)

    def _notify(self) -> CheckinNotifier:
        if self.notifier is None:
            raise RuntimeError("no CheckinNotifier attached")
        return self.notifier

    # -- scheduling

    async def set_schedule(
        self, circle: Circle, days: str, time: str, close_after: str | None
    ) -> RoundSchedule:
        schedule = RoundSchedule(
            days=parse_days(days),
            time=parse_time_of_day(time),
            close_after=parse_duration(close_after) if close_after else DEFAULT_CLOSE_AFTER,
            timezone=circle.timezone,
        )
        if schedule.close_after > schedule.shortest_gap():
            raise ValidationError(
                "A round would still be open when the next one starts. Choose a shorter close_after "
                "or days further apart.",
                f"close_after:{int(schedule.shortest_gap().total_seconds() // 3600)}h",
            )
        job = StoredJob(
            f"{OPEN}:{circle.id}",
            OPEN,
            schedule.next_open_after(self._clock.now()),
            {"circle_id": circle.id},
            circle.guild_id,
        )
        async with (
            self._db.transaction() as tx
        ):  # the schedule and its timer, together or not at all
            await circles_repo.set_schedule(tx, circle.id, schedule)
            await jobs_repo.upsert(tx, job)
        self._jobs.arm(job)
        return schedule

    async def clear_schedule(self, circle: Circle) -> None:
        async with self._db.transaction() as tx:
            await circles_repo.set_schedule(tx, circle.id, None)
            await jobs_repo.delete(tx, f"{OPEN}:{circle.id}")
        self._jobs.disarm(f"{OPEN}:{circle.id}")

    # -- opening

    async def open_now(self, circle: Circle, close_after: timedelta | None = None) -> Opened:
        async with self._db.read() as tx:
            current = await repo.open_round_of(tx, circle.id)
        if current is not None:
            if current.message_id is None and await self._outbox.gave_up(f"{PROMPT}:{current.id}"):
                # Its prompt never made it out (Discord refused): repair, not stuck.
                delivery_id = await self._outbox.revive(f"{PROMPT}:{current.id}")
                return Opened(current, delivery_id, repaired=True)
            raise self._already_open(circle)  # (a prompt still on its way is not repaired)
        now = self._clock.now()
        length = close_after or (
            circle.schedule.close_after if circle.schedule else DEFAULT_CLOSE_AFTER
        )
        # A manual round has a slot of its own; one open round per circle is a database guard.
        slot = f"now:{to_db(now)}:{secrets.token_hex(4)}"
        opened = await self._open(circle, slot, now, length)
        if opened is None:
            raise self._already_open(circle)
        return opened

    @staticmethod
    def _already_open(circle: Circle) -> ValidationError:
        return ValidationError(
            f"“{circle.name}” already has an open round. Close it first.",
            f"/facilitate checkin close circle:{circle.name}",
        )

    async def _open(
        self, circle: Circle, slot: str, now: datetime, length: timedelta
    ) -> Opened | None:
        """Open a round, its timers and its prompt's delivery in one transaction."""
        async with self._db.transaction() as tx:
            await circles_repo.hold(tx, circle.id)  # one opening at a time per circle
            bank = [*self._prompts, *await repo.custom_prompts(tx, circle.id)]
            used = await repo.used_prompts(tx, circle.id)
            # The rotating prompt holder's question, if they set one (circle care, issue 13).
            chosen = await roles_repo.next_prompt(tx, self._cipher, circle.id)
            prompt = chosen or pick_prompt(bank, used, self._rng)
            round_ = await repo.open_round(tx, circle, slot, prompt, now, now + length)
            if round_ is None:
                return None  # this slot already has a round, or another round is open
            if chosen is not None:
                await roles_repo.take_next_prompt(tx, self._cipher, circle.id)
            else:
                await repo.mark_prompt_used(
                    tx, circle.id, prompt, bank_exhausted=not (set(bank) - used)
                )
            # Stored with the round: a round can never exist without its close timer.
            timers = [
                StoredJob(
                    f"{CLOSE}:{round_.id}",
                    CLOSE,
                    round_.closes_at,
                    {"round_id": round_.id},
                    circle.guild_id,
                ),
                StoredJob(
                    f"{REMIND}:{round_.id}",
                    REMIND,
                    remind_at(round_),
                    {"round_id": round_.id},
                    circle.guild_id,
                ),
            ]
            for job in timers:
                await jobs_repo.upsert(tx, job)
            delivery_id = await outbox_repo.enqueue(
                tx,
                PROMPT,
                f"{PROMPT}:{round_.id}",
                now,
                {"round_id": round_.id},
                guild_id=circle.guild_id,
            )
        for job in timers:
            self._jobs.arm(job)
        self._outbox.kick()
        return Opened(round_, delivery_id)

    async def _deliver_prompt(self, run: DeliveryRun) -> None:
        round_id = int(run.payload["round_id"])
        async with self._db.read() as tx:
            round_ = await repo.get_round(tx, round_id)
            circle = None if round_ is None else await circles_repo.get(tx, round_.circle_id)
        if round_ is None or circle is None or not round_.is_open or round_.message_id:
            return  # gone, closed before it could be posted, or already posted
        message_id = await self._notify().post_round(circle, round_, run.nonce())
        async with self._db.transaction() as tx:
            await repo.set_message(tx, round_id, message_id)

    async def _on_open_job(self, job: StoredJob) -> None:
        async with self._db.read() as tx:
            circle = await circles_repo.get(tx, int(job.payload["circle_id"]))
            # Removed from the server (its data waits out the grace period): no prompt could be
            # posted and no member could answer, so no round opens until the bot is back.
            away = circle is not None and await guilds_repo.has_departed(tx, circle.guild_id)
        if circle is None or circle.schedule is None:
            return
        now = self._clock.now()
        slot_at = job.run_at
        if away:
            log.info(
                "Skipped round of circle %s due %s: the bot is not in its server",
                circle.id,
                slot_at,
            )
        elif now < slot_at + circle.schedule.close_after:  # still worth opening, even if late
            async with self._db.read() as tx:
                stale = await repo.open_round_of(tx, circle.id)
            if stale is None or stale.slot != to_db(slot_at):
                if stale is not None:
                    await self.close_round(stale.id)
                remaining = slot_at + circle.schedule.close_after - now
                await self._open(circle, to_db(slot_at), now, remaining)
            # else: this slot's round is already open (the job re-ran after a crash)
        else:
            log.info(
                "Skipped round of circle %s due %s: it would already have closed",
                circle.id,
                slot_at,
            )
        next_at = circle.schedule.next_open_after(max(now, slot_at))
        await self._jobs.schedule(
            f"{OPEN}:{circle.id}", OPEN, next_at, {"circle_id": circle.id}, guild_id=circle.guild_id
        )

    # -- answering

    async def _answerable(
        self, tx: Tx, round_id: int, user_id: int, *, for_write: bool = False
    ) -> tuple[Circle, AnswerContext]:
        context = await repo.answer_context(tx, round_id, user_id, hold_round=for_write)
        circle = None if context is None else await circles_repo.get(tx, context.round.circle_id)
        if context is None or circle is None:
            raise ValidationError("That round no longer exists.", "/circle info")
        if not context.is_member:
            raise NotAllowed(
                f"Check-ins in “{circle.name}” are for its members. Join first, then press Check in again.",
                f"/circle join circle:{circle.name}",
            )
        if not context.round.is_open:
            raise ValidationError(
                "This round has closed. The next one will be posted in this channel.",
                f"/circle info circle:{circle.name}",
            )
        return circle, context

    async def open_round_for_answer(self, round_id: int, user_id: int) -> tuple[Circle, Round]:
        """The round a Check in button points at, if this member may answer it now."""
        async with self._db.read() as tx:
            circle, context = await self._answerable(tx, round_id, user_id)
        return circle, context.round

    async def save_answer(
        self, round_id: int, user_id: int, mood: int, note: str | None, visibility: Visibility
    ) -> Saved:
        """Check and store an answer in one transaction: all the member waits for."""
        note = validate_note(note)
        async with self._db.transaction() as tx:
            circle, context = await self._answerable(tx, round_id, user_id, for_write=True)
            await repo.upsert_answer(
                tx,
                self._cipher,
                repo.AnswerWrite(
                    round_id, user_id, circle.guild_id, mood, note, visibility, self._clock.now()
                ),
            )
        return Saved(circle, replaced=context.answered, note=note)

    async def support_after(self, saved: Saved, user_id: int) -> Support:
        """After the member has been thanked: the safety net and the gentle nudge."""
        async with self._db.read() as tx:
            recent = await repo.last_moods(tx, user_id, 3)
            facilitators = await circles_repo.facilitator_ids(tx, saved.circle.id)
            placements = await buddies_repo.current_placements(tx, saved.circle.guild_id, user_id)
        concern = await self._safety.check(
            saved.circle.guild_id, user_id, saved.note, f"circle “{saved.circle.name}”"
        )
        return Support(
            show_crisis_card=concern.show_card,
            gentle_nudge=needs_gentle_nudge(recent),
            facilitator_ids=tuple(f for f in facilitators if f != user_id),
            buddy_ids=tuple(
                m for p in placements if p.cycle.circle_id == saved.circle.id for m in p.mates
            ),
        )

    async def answer(
        self, round_id: int, user_id: int, mood: int, note: str | None, visibility: Visibility
    ) -> Answered:
        saved = await self.save_answer(round_id, user_id, mood, note, visibility)
        support = await self.support_after(saved, user_id)
        return Answered(
            circle=saved.circle,
            replaced=saved.replaced,
            show_crisis_card=support.show_crisis_card,
            gentle_nudge=support.gentle_nudge,
            facilitator_ids=support.facilitator_ids,
        )

    # -- reminders

    async def _on_remind_job(self, job: StoredJob) -> None:
        """Owe each member who should hear one a reminder: claimed and queued together."""
        round_id = int(job.payload["round_id"])
        async with self._db.transaction() as tx:
            round_ = await repo.get_round(tx, round_id)
            if round_ is None or not round_.is_open:
                return
            members = await circles_repo.member_ids(tx, round_.circle_id)
            answered = await repo.answered_ids(tx, round_id)
            opted = await repo.opted_in(tx, members)
            away = await repo.away(tx, members, self._clock.now().date())
            closed = await dm_status.closed_ids(tx, members)
            now = self._clock.now()
            for user_id in reminder_targets(members, answered, opted, away, closed):
                if await repo.claim_reminder(tx, round_id, user_id):
                    await outbox_repo.enqueue(
                        tx,
                        REMINDER,
                        f"{REMINDER}:{round_id}:{user_id}",
                        now,
                        {"round_id": round_id},
                        guild_id=round_.guild_id,
                        user_id=user_id,
                    )
        self._outbox.kick()

    async def _deliver_reminder(self, run: DeliveryRun) -> None:
        user_id = run.delivery.user_id
        assert user_id is not None
        async with self._db.read() as tx:
            context = await repo.answer_context(tx, int(run.payload["round_id"]), user_id)
            circle = (
                None if context is None else await circles_repo.get(tx, context.round.circle_id)
            )
        if context is None or circle is None or not context.round.is_open or context.answered:
            return  # nothing to remind of any more
        await self._notify().remind(user_id, circle, context.round, run.nonce())

    # -- closing

    async def close_now(self, circle: Circle) -> Closed:
        async with self._db.read() as tx:
            round_ = await repo.open_round_of(tx, circle.id)
        if round_ is None:
            raise ValidationError(
                f"“{circle.name}” has no open round to close.",
                f"/facilitate checkin now circle:{circle.name}",
            )
        closed = await self.close_round(round_.id)
        if closed is None:  # someone else closed it in the same moment
            raise ValidationError(
                f"The round of “{circle.name}” was just closed by someone else; its summary is on its way.",
                f"/circle info circle:{circle.name}",
            )
        return closed

    async def _on_close_job(self, job: StoredJob) -> None:
        await self.close_round(int(job.payload["round_id"]))

    async def close_round(self, round_id: int) -> Closed | None:
        """Close once, owing the summary (and facilitators' answers); None if already closed."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            round_ = await repo.get_round(tx, round_id)
            if round_ is None or not await repo.mark_closed(tx, round_id, now):
                return None
            summary = await self._summary(tx, round_.circle_id, round_id, now.date())
            for job_id in (f"{CLOSE}:{round_id}", f"{REMIND}:{round_id}"):
                await jobs_repo.delete(tx, job_id)
            summary_delivery = await outbox_repo.enqueue(
                tx,
                SUMMARY,
                f"{SUMMARY}:{round_id}",
                now,
                {"round_id": round_id},
                guild_id=round_.guild_id,
            )
            if summary.for_facilitators:
                await outbox_repo.enqueue(
                    tx,
                    FACILITATORS,
                    f"{FACILITATORS}:{round_id}",
                    now,
                    {"round_id": round_id},
                    guild_id=round_.guild_id,
                )
        for job_id in (f"{CLOSE}:{round_id}", f"{REMIND}:{round_id}"):
            self._jobs.disarm(job_id)
        self._outbox.kick()
        return Closed(summary, summary_delivery)

    async def _summary(self, tx: Tx, circle_id: int, round_id: int, day: date) -> RoundSummary:
        members = await circles_repo.member_ids(tx, circle_id)
        answers = await repo.answers(tx, self._cipher, round_id)
        away = await repo.away(tx, members, day)
        return summarize_round(answers, members, away)

    async def _closed_round(self, round_id: int) -> tuple[Circle, Round, RoundSummary] | None:
        """A closed round as it is now: answers erased since closing stay erased."""
        async with self._db.read() as tx:
            round_ = await repo.get_round(tx, round_id)
            circle = None if round_ is None else await circles_repo.get(tx, round_.circle_id)
            if round_ is None or circle is None or round_.closed_at is None:
                return None
            summary = await self._summary(tx, circle.id, round_id, round_.closed_at.date())
        return circle, round_, summary

    async def _deliver_summary(self, run: DeliveryRun) -> None:
        found = await self._closed_round(int(run.payload["round_id"]))
        if found is not None:
            await self._notify().post_summary(*found, run)

    async def _deliver_to_facilitators(self, run: DeliveryRun) -> None:
        found = await self._closed_round(int(run.payload["round_id"]))
        if found is None or not found[2].for_facilitators:
            return
        circle, round_, summary = found
        async with self._db.read() as tx:
            known = await circles_repo.facilitator_ids(tx, circle.id)
        # Only to those who facilitate at delivery time: a role taken away takes this with it.
        current = await self._notify().facilitators_now(circle.guild_id, sorted(known))
        await self._notify().deliver_to_facilitators(
            circle, round_, summary.for_facilitators, current, run
        )

    # -- the member's own data

    async def history(self, user_id: int, days: int) -> History:
        if not 1 <= days <= 366:
            raise ValidationError("Choose between 1 and 366 days.", "/checkin history days:30")
        now = self._clock.now()
        async with self._db.read() as tx:
            points = await repo.mood_points(tx, user_id)
        window = [p for p in points if p.at >= now - timedelta(days=days)]
        return History(window, mood_stats(points, now, days), days)

    async def set_reminders(self, user_id: int, on: bool) -> None:
        async with self._db.transaction() as tx:
            await repo.set_reminders(tx, user_id, on)
            if on:
                await dm_status.reopen(tx, user_id)  # try DMs again: they may have opened them

    async def pause(self, user_id: int, until: str, today: date) -> date:
        day = parse_until_date(until, today)
        async with self._db.transaction() as tx:
            await repo.set_paused_until(tx, user_id, day)
        return day

    async def resume(self, user_id: int) -> None:
        async with self._db.transaction() as tx:
            await repo.set_paused_until(tx, user_id, None)
