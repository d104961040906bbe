"""Talking-piece gatherings: start, every press, timers, the end.

Every change runs the same way (:meth:`TalkService._change`): in one transaction the
gathering's row is read (locked on PostgreSQL; SQLite writes one at a time), the pure rule
from `bot.domain.talking_piece` makes the next state, and it is written with a
compare-and-set on its version, together with the timers it needs (the share's deadline,
the gentle line at 80%, the end of the gathering phase). After the commit the board is told
that it changed; the board coalesces bursts into one edit.

Timers carry the turn they were set for, so a deadline applies once, whether it fires on
time or at the next start after the bot was down.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.domain import talking_piece as tp
from bot.domain.circles import Circle
from bot.domain.talking_piece import Gathering, Options, Seat, TalkRefused
from bot.errors import NotAllowed, ValidationError
from bot.scheduling import JobScheduler
from bot.services.outbox import DeliveryRun, Outbox
from bot.storage.database import Database, Tx
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories import outbox as outbox_repo
from bot.storage.repositories import talking_piece as repo
from bot.storage.repositories.jobs import StoredJob
from bot.storage.repositories.talking_piece import StoredGathering

log = logging.getLogger(__name__)

TIME, NUDGE, GATHER, IDLE = "talk-time", "talk-nudge", "talk-gather", "talk-idle"
BOARD = "talk-board"
# The edit an ended gathering owes its board: durable (a restart must not leave a board that
# still shows a live round), where other changes rely on the in-memory refresher alone.
BOARD_END = "talk-board-end"
CAS_ATTEMPTS = 3

Change = Callable[[Gathering, datetime], Gathering]


class TalkBoard(Protocol):
    """The Discord side: the board message and who is still in the server."""

    def changed(self, gathering_id: int) -> None:
        """The state changed: show it (coalesced with other changes)."""
        ...

    async def post_board(self, stored: StoredGathering, nonce: str) -> int:
        """Post the board; its message id. Raises `DeliveryFailed`."""
        ...

    async def show(self, gathering_id: int, version: int) -> None:
        """Unless the board shows `version` (or later) already, edit it now (in the channel's
        next edit slot). Raises `DeliveryFailed`."""
        ...

    async def missing(self, guild_id: int, member_ids: Sequence[int]) -> set[int]:
        """Those of `member_ids` no longer in the server."""
        ...

    async def lift_mutes(self, guild_id: int) -> None:
        """Lift the bot's mutes in the server that are no longer wanted (members in voice)."""
        ...


@dataclass(frozen=True)
class Started:
    stored: StoredGathering
    board_delivery: int | None


class VersionConflict(Exception):
    """Another change was saved between reading and writing (never expected: rows are held)."""


class TalkService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        jobs: JobScheduler,
        outbox: Outbox,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._jobs = jobs
        self._outbox = outbox
        self._rng = rng or random.Random()
        self.board: TalkBoard | None = None  # set by the cog that renders boards
        self.conflicts = 0  # compare-and-set retries (tests and benchmarks read it)
        jobs.register(TIME, self._on_time)
        jobs.register(NUDGE, self._on_nudge)
        jobs.register(GATHER, self._on_gather)
        jobs.register(IDLE, self._on_idle)
        outbox.register(BOARD, self._deliver_board)
        outbox.register(BOARD_END, self._deliver_end)

    def _changed(self, gathering_id: int) -> None:
        if self.board is not None:
            self.board.changed(gathering_id)

    # -- reading

    async def get(self, gathering_id: int) -> StoredGathering | None:
        async with self._db.read() as tx:
            return await repo.get(tx, gathering_id)

    async def live_ids(self) -> list[int]:
        async with self._db.read() as tx:
            return await repo.live_ids(tx)

    async def airtime(self, gathering_id: int) -> dict[int, tuple[int, timedelta]]:
        async with self._db.read() as tx:
            return await repo.airtime(tx, gathering_id)

    # -- starting

    async def start(
        self, circle: Circle, channel_id: int, facilitator_id: int, options: Options
    ) -> Started:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            members: tuple[Seat, ...] = ()
            if options.order is tp.Order.MEMBERS:
                ids = await circles_repo.member_ids(tx, circle.id)
                members = tuple(Seat(m, "") for m in ids)
            g = tp.start(options, facilitator_id, now, members)
            stored = await repo.create(tx, circle.guild_id, circle.id, channel_id, g)
            if stored is None:
                raise await self._already_running(tx, circle.guild_id, channel_id)
            jobs = await self._store_timers(tx, stored, None, g, now)
            delivery = await outbox_repo.enqueue(
                tx,
                BOARD,
                f"{BOARD}:{stored.id}",
                now,
                {"gathering_id": stored.id},
                guild_id=circle.guild_id,
            )
        self._arm(jobs)
        self._outbox.kick()
        return Started(stored, delivery)

    @staticmethod
    async def _already_running(tx: Tx, guild_id: int, channel_id: int) -> ValidationError:
        running = await repo.live_in_channel(tx, channel_id)
        where = (
            f"https://discord.com/channels/{guild_id}/{channel_id}/{running.message_id}"
            if running is not None and running.message_id
            else f"<#{channel_id}>"
        )
        return ValidationError(
            f"A gathering is already running in this channel: {where}. "
            "End it first (Facilitator → End on its board), or start one in another channel.",
            "Facilitator → End, then /facilitate talk start",
        )

    async def _deliver_board(self, run: DeliveryRun) -> None:
        stored = await self.get(int(run.payload["gathering_id"]))
        if stored is None or stored.message_id is not None:
            return
        assert self.board is not None, "no TalkBoard attached"
        message_id = await self.board.post_board(stored, run.nonce())
        async with self._db.transaction() as tx:
            await repo.set_message(tx, stored.id, message_id)
        self._changed(stored.id)  # a press may have come in while it was being posted

    async def _deliver_end(self, run: DeliveryRun) -> None:
        """The board of an ended gathering shows the end, even if the bot was killed between
        the end and its edit (the refresher's work is lost with the process)."""
        assert self.board is not None, "no TalkBoard attached"
        await self.board.show(int(run.payload["gathering_id"]), int(run.payload["version"]))

    # -- the one way anything changes

    async def _change(
        self,
        gathering_id: int,
        change: Change,
        *,
        member_of_circle: int | None = None,
        facilitator: tuple[int, bool] | None = None,
        if_version: int | None = None,
    ) -> StoredGathering:
        for _ in range(CAS_ATTEMPTS):
            try:
                return await self._change_once(
                    gathering_id, change, member_of_circle, facilitator, if_version
                )
            except VersionConflict:
                self.conflicts += 1
        raise ValidationError("Many changes at once: please press again.", "the same button")

    async def _change_once(
        self,
        gathering_id: int,
        change: Change,
        member_of_circle: int | None,
        facilitator: tuple[int, bool] | None,
        if_version: int | None,
    ) -> StoredGathering:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            stored = await repo.get(tx, gathering_id, for_update=True)
            if stored is None:
                raise ValidationError("That gathering no longer exists.", "/facilitate talk start")
            if if_version is not None and stored.version != if_version:
                return stored  # changed since (a timer set for an older version)
            old = stored.gathering
            if member_of_circle is not None:
                await self._require_member(tx, stored, member_of_circle)
            if facilitator is not None:
                actor, server_facilitator = facilitator
                if actor != old.facilitator_id and not server_facilitator:
                    raise TalkRefused(
                        "Only this gathering's facilitator (or a server facilitator) can do that."
                    )
            new = change(old, now)
            if new == old:
                return stored
            ended = old.live and not new.live
            if ended:
                await repo.record_airtime(tx, stored.id, stored.guild_id, new.airtime())
            if not await repo.save(tx, stored, tp.anonymized(new) if ended else new):
                raise VersionConflict()
            jobs = await self._store_timers(tx, stored, old, new, now)
            if ended:
                await outbox_repo.enqueue(
                    tx,
                    BOARD_END,
                    f"{BOARD_END}:{stored.id}",
                    now,
                    {"gathering_id": stored.id, "version": stored.version + 1},
                    guild_id=stored.guild_id,
                )
        self._arm(jobs)
        self._changed(gathering_id)
        if ended:
            self._outbox.kick()
        return StoredGathering(
            stored.id,
            stored.guild_id,
            stored.circle_id,
            stored.channel_id,
            stored.message_id,
            stored.version + 1,
            new,
        )

    @staticmethod
    async def _require_member(tx: Tx, stored: StoredGathering, user_id: int) -> None:
        if await circles_repo.is_member(tx, stored.circle_id, user_id):
            return
        circle = await circles_repo.get(tx, stored.circle_id)
        name = circle.name if circle else "this circle"
        raise NotAllowed(
            f"This gathering is for the members of “{name}”. Join the circle first, then press "
            "Join again.",
            f"/circle join circle:{name}",
        )

    async def _store_timers(
        self,
        tx: Tx,
        stored: StoredGathering,
        old: Gathering | None,
        new: Gathering,
        now: datetime,
    ) -> list[tuple[str, StoredJob | None]]:
        """The timers `new` needs, stored in the change's transaction; what to arm after."""
        wanted: dict[str, tuple[datetime | None, dict[str, int]]] = {
            TIME: (new.deadline if new.live else None, {"turn": new.turn}),
            NUDGE: (new.nudge_at() if new.live else None, {"turn": new.turn}),
            GATHER: (new.gather_until if new.phase is tp.Phase.GATHERING else None, {}),
        }
        before: dict[str, datetime | None] = {}
        if old is not None:
            before = {
                TIME: old.deadline if old.live else None,
                NUDGE: old.nudge_at() if old.live else None,
                GATHER: old.gather_until if old.phase is tp.Phase.GATHERING else None,
            }
        same_turn = old is not None and old.turn == new.turn
        changes: list[tuple[str, StoredJob | None]] = []
        for kind, (at, extra) in wanted.items():
            job_id = f"{kind}:{stored.id}"
            previous = before.get(kind)
            if old is not None and previous == at and (kind == GATHER or same_turn):
                continue  # this timer is already right
            if at is None or (kind == NUDGE and at <= now):
                if previous is not None:
                    await jobs_repo.delete(tx, job_id)
                    changes.append((job_id, None))
                continue
            job = StoredJob(job_id, kind, at, {"gathering_id": stored.id, **extra}, stored.guild_id)
            await jobs_repo.upsert(tx, job)
            changes.append((job_id, job))
        changes += await self._store_idle(tx, stored, old, new, now)
        return changes

    @staticmethod
    async def _store_idle(
        tx: Tx, stored: StoredGathering, old: Gathering | None, new: Gathering, now: datetime
    ) -> list[tuple[str, StoredJob | None]]:
        """Every change of a live gathering moves its idle expiry to IDLE_AFTER from now; the
        timer carries the version it was set for, so only the latest one ends anything."""
        job_id = f"{IDLE}:{stored.id}"
        if new.live:
            version = stored.version if old is None else stored.version + 1
            payload = {"gathering_id": stored.id, "version": version}
            job = StoredJob(job_id, IDLE, now + tp.IDLE_AFTER, payload, stored.guild_id)
            await jobs_repo.upsert(tx, job)
            return [(job_id, job)]
        if old is not None and old.live:
            await jobs_repo.delete(tx, job_id)
            return [(job_id, None)]
        return []

    def _arm(self, changes: list[tuple[str, StoredJob | None]]) -> None:
        for job_id, job in changes:
            if job is None:
                self._jobs.disarm(job_id)
            else:
                self._jobs.arm(job)

    # -- members' presses

    async def join(self, gathering_id: int, member_id: int, name: str) -> StoredGathering:
        return await self._change(
            gathering_id,
            lambda g, now: tp.join(g, member_id, name, now),
            member_of_circle=member_id,
        )

    async def leave(self, gathering_id: int, member_id: int) -> StoredGathering:
        return await self._change(gathering_id, lambda g, now: tp.leave(g, member_id, now))

    async def finish(
        self, gathering_id: int, member_id: int, turn: int, *, passed: bool
    ) -> StoredGathering:
        return await self._change(
            gathering_id, lambda g, now: tp.finish(g, member_id, turn, now, passed=passed)
        )

    async def raise_hand(self, gathering_id: int, member_id: int) -> StoredGathering:
        return await self._change(gathering_id, lambda g, now: tp.raise_hand(g, member_id, now))

    async def lower_hand(self, gathering_id: int, member_id: int) -> StoredGathering:
        return await self._change(gathering_id, lambda g, _now: tp.lower_hand(g, member_id))

    # -- the facilitator's controls (`server_facilitator`: checked against Discord at run time)

    async def control(
        self, gathering_id: int, actor_id: int, server_facilitator: bool, change: Change
    ) -> StoredGathering:
        return await self._change(gathering_id, change, facilitator=(actor_id, server_facilitator))

    async def begin(
        self, gathering_id: int, actor_id: int, server_facilitator: bool
    ) -> StoredGathering:
        return await self.control(
            gathering_id,
            actor_id,
            server_facilitator,
            lambda g, now: tp.begin(g, now, self._rng),
        )

    async def may_facilitate(
        self, gathering_id: int, actor_id: int, server_facilitator: bool
    ) -> StoredGathering:
        """The gathering, if this member may open its facilitator panel."""
        stored = await self.get(gathering_id)
        if stored is None:
            raise ValidationError("That gathering no longer exists.", "/facilitate talk start")
        if actor_id != stored.gathering.facilitator_id and not server_facilitator:
            raise TalkRefused(
                "The facilitator panel is for this gathering's facilitator (or a server "
                "facilitator). Raise your hand if you'd like to speak."
            )
        return stored

    # -- voice: the mutes the bot placed, so that it lifts exactly those

    async def muting_in(self, guild_id: int) -> list[StoredGathering]:
        """The server's live gatherings that keep everyone but the holder muted now."""
        async with self._db.read() as tx:
            live = await repo.live_in_guild(tx, guild_id)
        return [s for s in live if s.gathering.muting()]

    async def muted_by_bot(self, guild_id: int) -> set[int]:
        async with self._db.read() as tx:
            return await repo.muted_by_bot(tx, guild_id)

    async def guilds_with_mutes(self) -> list[int]:
        async with self._db.read() as tx:
            return await repo.guilds_with_mutes(tx)

    async def note_muted(self, guild_id: int, user_id: int, gathering_id: int) -> None:
        """Recorded before the mute is asked of Discord: a crash between leaves a record of a
        mute that may not exist (lifting it is harmless), never a mute without a record."""
        async with self._db.transaction() as tx:
            await repo.note_muted(tx, guild_id, user_id, gathering_id, self._clock.now())

    async def forget_muted(self, guild_id: int, user_id: int) -> None:
        async with self._db.transaction() as tx:
            await repo.forget_muted(tx, guild_id, user_id)

    # -- members who are gone

    async def drop_absent(self, gathering_id: int) -> None:
        """The holder and the next in line, if they left the server or the circle, drop out."""
        stored = await self.get(gathering_id)
        if stored is None or not stored.gathering.live or self.board is None:
            return
        g = stored.gathering
        near = [m for m in (g.holder, g.next_member()) if m is not None]
        if not near:
            return
        async with self._db.read() as tx:
            gone = {m for m in near if not await circles_repo.is_member(tx, stored.circle_id, m)}
        gone |= await self.board.missing(stored.guild_id, [m for m in near if m not in gone])
        for member_id in gone:
            log.info("Gathering %s: member %s is gone; dropped from it", gathering_id, member_id)
            await self._change(gathering_id, lambda g, now, m=member_id: _drop(g, m, now))  # type: ignore[misc]

    # -- data rights

    async def erase_member(self, user_id: int) -> None:
        """`/privacy delete` (a PrivacyService erase hook, run before the rows are deleted):
        the member leaves every live gathering, through the same compare-and-set as a press
        (the board updates; the piece moves on if they held it), and their id and name go
        from its state. The mutes the bot placed on them are then reconciled: lifted where
        they are in voice and no longer wanted; the deletion turns what is left into an owed
        unmute (see `talk_mutes` in bot/storage/member_data.py)."""
        for gathering_id in await self.live_ids():
            stored = await self.get(gathering_id)
            if stored is not None and stored.gathering.mentions(user_id):
                await self._change(gathering_id, lambda g, now: tp.forget(g, user_id, now))
        async with self._db.read() as tx:
            guilds = await repo.guilds_muting(tx, user_id)
        if self.board is not None:
            for guild_id in guilds:
                await self.board.lift_mutes(guild_id)

    # -- timers

    async def _on_time(self, job: StoredJob) -> None:
        turn = int(job.payload["turn"])
        await self._change(
            int(job.payload["gathering_id"]), lambda g, now: tp.time_up(g, turn, now)
        )

    async def _on_nudge(self, job: StoredJob) -> None:
        self._changed(int(job.payload["gathering_id"]))  # the board shows the gentle line

    async def _on_idle(self, job: StoredJob) -> None:
        gathering_id = int(job.payload["gathering_id"])
        stored = await self._change(
            gathering_id, tp.abandon, if_version=int(job.payload["version"])
        )
        if stored.gathering.abandoned:
            log.info(
                "Gathering %s: no change for %s; ended as abandoned", gathering_id, tp.IDLE_AFTER
            )

    async def _on_gather(self, job: StoredJob) -> None:
        await self._change(
            int(job.payload["gathering_id"]),
            lambda g, now: tp.gathering_over(g, now, self._rng),
        )


def _drop(g: Gathering, member_id: int, now: datetime) -> Gathering:
    if not g.live or not g.seated(member_id):
        return g
    return tp.leave(g, member_id, now)
