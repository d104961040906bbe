"""One soak run: the local Discord server, the bot as its own OS process on a clock this
runner moves, the world's history played against them, and invariants checked as it goes.

The loop moves the bot's clock to the next moment anything happens, the next event of the
history or the next stored timer or owed delivery, waits until the bot has run what fell due
(its timers table and outbox hold nothing due), then plays that moment's events together.
A year is thus as long as the work in it, not as the year.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from benchmarks._common import ack_ms
from benchmarks.soak.history import Draft, Event, History, Violation, shortest_history
from benchmarks.soak.world import World
from bot.clock import SharedClock
from bot.localdiscord import Guild, LocalDiscord, Member, Reply
from bot.localdiscord.driver import Channel, DriverError, Role
from bot.storage.crypto import TextCipher
from bot.storage.database import Database
from bot.timeutil import from_db, to_db
from tests.e2e.botprocess import BotProcess

log = logging.getLogger("soak")
T = TypeVar("T")

ACK_LIMIT_MS = 3000.0  # Discord's deadline for the first response
SETTLE_PATIENCE_S = 8.0  # wall seconds without progress before a moment counts as unsettled
CHECK_EVERY = timedelta(days=1)  # simulated time between continuous checks
PINGS = 5  # bare /pings per simulated day
DM_GAP = 0.1  # seconds between DMs of one feature, in the soak
STUCK_AFTER = timedelta(hours=1)  # overdue by this much at the end: stuck
# Unhandled errors as Python and discord.py print them; the bot's own handled errors are
# logged in its format and counted, not failed on.
UNHANDLED = re.compile(
    r"Traceback \(most recent call last\)|Task exception was never retrieved|"
    r"Ignoring exception in|Unhandled exception|Unclosed client session|Event loop is closed"
)


class Activity(Protocol):
    """One part of circle life: what members do (events), and what must hold (checks)."""

    name: str

    def plan(self, world: World, seed: int, start: datetime, end: datetime) -> Iterable[Draft]:
        """This activity's events over [start, end), drawn from its own stream of the seed."""
        ...

    async def seed(self, soak: Soak, db: Database) -> None:
        """Rows the world starts with (before the bot's first start)."""
        ...

    async def prepare(self, soak: Soak) -> None:
        """Set up through the bot once it is ready (commands a facilitator would run)."""
        ...

    async def perform(self, soak: Soak, event: Event) -> None: ...

    async def check(self, soak: Soak, final: bool) -> list[Violation]:
        """Invariants over what happened so far; `final` once the run settled at its end."""
        ...

    def figures(self) -> dict[str, float]: ...


@dataclass
class Figures:
    interactions: int = 0
    acknowledged: int = 0
    ack_ms: list[float] = field(default_factory=list)
    ack_ms_by_kind: dict[str, list[float]] = field(default_factory=dict)  # see interaction_kind
    ping_ms: list[float] = field(default_factory=list)  # bare /ping, a few a day
    unanswered_in_fault: int = 0  # sent while the bot was being killed and started again
    refused: Counter[str] = field(default_factory=Counter)  # driver refusals by kind
    moments: int = 0
    unsettled: int = 0
    settle_waits_s: list[float] = field(default_factory=list)
    kills: int = 0
    locks: int = 0
    starts_s: list[float] = field(default_factory=list)


def interaction_kind(payload: dict[str, Any]) -> str:
    """What an interaction was, by ids only: a command's path ("/facilitate round open") or a
    component's custom id up to its first ':' ("checkin", "checkin-modal")."""
    data = payload.get("data") or {}
    if "custom_id" in data:
        return str(data["custom_id"]).split(":", 1)[0]
    path = [str(data.get("name", "?"))]
    options = data.get("options") or []
    while options and options[0].get("type") in (1, 2):  # subcommand (group)
        path.append(str(options[0]["name"]))
        options = options[0].get("options") or []
    return "/" + " ".join(path)


class Marks(set[str]):
    """A set of member keys that remembers when each was first and last added, even once
    removed: an activity can tell whether a member was gone or erased at any moment since."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        super().__init__()
        self._now = now
        self.since: dict[str, datetime] = {}
        self.latest: dict[str, datetime] = {}

    def add(self, key: str) -> None:
        now = self._now()
        self.since.setdefault(key, now)
        self.latest[key] = now
        super().add(key)

    def update(self, *others: Iterable[str]) -> None:
        for other in others:
            for key in other:
                self.add(key)

    def __ior__(self, other: Any) -> Marks:  # type: ignore[override, misc]
        self.update(other)
        return self


class SoakBot(BotProcess):
    def __init__(self, *args: Any, clock_file: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock_file = clock_file

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env["CIRCLEKEEPER_CLOCK_FILE"] = str(self.clock_file)
        # A year of DMs at the production pace (1 s apart per feature) would take days of wall
        # time; 0.1 s keeps within Discord's limits, which the local server enforces.
        env["CIRCLEKEEPER_DM_GAP"] = str(DM_GAP)
        return env

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        """As the base class, and into `bot.log` beside the database, to follow a long run."""
        assert proc.stdout is not None
        with (self.clock_file.parent / "bot.log").open("a", encoding="utf-8") as file:
            while line := await proc.stdout.readline():
                text = line.decode(errors="replace").rstrip()
                self.lines.append(text)
                file.write(text + "\n")
                file.flush()
                self._new_line.set()
        self._new_line.set()


class Soak:
    """The run: built by `run_soak`; activities reach the world through it."""

    def __init__(
        self,
        world: World,
        activities: Sequence[Activity],
        workdir: Path,
        start: datetime,
        database_url: str | None = None,
    ) -> None:
        self.world = world
        self.activities = {a.name: a for a in activities}
        self.workdir = workdir
        self.start = start
        self.end = start + timedelta(days=world.spec.days)
        self.database_url = database_url
        self.db_target: str | Path = database_url or workdir / "circlekeeper.db"
        self.figures = Figures()
        self.violations: list[Violation] = []  # each break once, as first seen
        self.server = LocalDiscord(settle=0.0, reply_timeout=6.0)
        self.guilds: dict[int, Guild] = {}
        self.facilitator_roles: dict[int, Role] = {}
        self.members: dict[str, Member] = {}
        self._keys: dict[int, str] = {}  # user id -> member key
        self.channels: dict[str, Channel] = {}  # circle key -> its text channel
        self.circle_ids: dict[str, int] = {}  # circle key -> the bot's circle id
        # members who left their server; who used /privacy delete. Both remember when each
        # member was first added (`since`), even once taken out.
        self.left: Marks = Marks(self.now)
        self.erased: Marks = Marks(self.now)
        self.dms_ever_closed: set[str] = set()  # members whose DMs were closed at some point
        self.exports: list[tuple[str, dict[str, Any]]] = []  # member key, /privacy export file
        self.absent_servers: set[int] = set()  # servers the bot was removed from
        # server -> [removed at, invited back at (None: not yet)]; purged: server -> when
        self.absences: dict[int, list[list[datetime | None]]] = {}
        self.purged: dict[int, datetime] = {}
        self.texts: set[str] = set()  # everything members wrote: must never reach the log
        self.clock = SharedClock.create(workdir / "clock")
        self.clock.move_to(start)
        self.bot = SoakBot(
            self.server, workdir / "circlekeeper.db", database_url=database_url,
            clock_file=workdir / "clock",
        )  # fmt: skip
        self.db: Database | None = None
        self.cipher = TextCipher(self.bot.data_key)
        self._fault_until = 0.0  # monotonic: interactions sent before this may go unanswered
        self._restarting: asyncio.Lock = asyncio.Lock()
        self._began = time.monotonic()
        self.quiet = False  # no progress lines (tests)
        self.fail_fast = False  # stop at the first check that finds a break
        self.history: History | None = None

    # -- what activities use --------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def member(self, key: str) -> Member:
        return self.members[key]

    def key_of(self, user_id: int) -> str | None:
        if len(self._keys) != len(self.members):
            self._keys = {member.id: key for key, member in self.members.items()}
        return self._keys.get(user_id)

    def present(self, key: str) -> bool:
        """In their server, and the bot is there too."""
        return key not in self.left and self.world.members[key].server not in self.absent_servers

    def server_presence(self, server: int) -> Callable[[datetime], bool]:
        """Whether the bot was in `server`, with its data, at a given time."""
        spans = self.absences.get(server, [])
        purged = self.purged.get(server)

        def present(at: datetime) -> bool:
            if purged is not None and at >= purged:
                return False
            return not any(
                left is not None and left <= at and (back is None or at < back)
                for left, back in spans
            )

        return present

    def wrote(self, text: str) -> str:
        """Remember member text (it must never reach the log) and return it."""
        self.texts.add(text)
        return text

    def violate(self, invariant: str, detail: str, *subjects: str) -> None:
        violation = Violation(invariant, detail, subjects, self.now())
        if self._record(violation) and not self.quiet and self.history is not None:
            print(explain(violation, self.history, self.world.spec.seed), file=sys.stderr)

    def _record(self, violation: Violation) -> bool:
        """Keep a break once, as first seen: a daily check finds a lasting one every day."""
        if any(
            (v.invariant, v.detail, v.subjects)
            == (violation.invariant, violation.detail, violation.subjects)
            for v in self.violations
        ):
            return False
        self.violations.append(violation)
        return True

    async def interact(self, action: Awaitable[Reply]) -> Reply | None:
        """One member interaction: counts it, times its acknowledgement, and tells a refusal
        (None) from a missing answer (a violation unless the bot was being restarted)."""
        self.figures.interactions += 1
        sent = time.monotonic()
        try:
            reply = await action
        except DriverError as error:
            if sent <= self._fault_until or self._restarting.locked():
                self.figures.unanswered_in_fault += 1
            elif "not found" in str(error) or "disabled" in str(error):
                self.figures.refused[type(error).__name__] += 1
            else:
                # The command's name or the component's custom id: ids, never member text.
                what = re.match(r"no response to '([^']+)'", str(error))
                name = what[1] if what else type(error).__name__
                self.violate("acknowledged", f"no answer to {name}")
            return None
        if reply.interaction.callback_at is not None:
            self.figures.acknowledged += 1
            took = ack_ms(reply)
            self.figures.ack_ms.append(took)
            kind = interaction_kind(reply.interaction.payload)
            self.figures.ack_ms_by_kind.setdefault(kind, []).append(took)
            if took > ACK_LIMIT_MS and sent > self._fault_until:
                self.violate("acknowledged in 3 s", f"{took:.0f} ms")
        return reply

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:  # noqa: ASYNC109
        """Whether `condition` came true within `timeout` wall seconds (an edit to come)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    @property
    def restarting(self) -> bool:
        """The bot is being killed and started again (a fault under way)."""
        return self._restarting.locked()

    async def restarted(self) -> None:
        """Until a restart under way (if any) is over."""
        async with self._restarting:
            pass

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        assert self.db is not None
        async with self.db.read() as tx:
            return list(await tx.fetchall(sql, tuple(params)))

    async def together(self, *actions: Awaitable[T]) -> list[T]:
        return list(await asyncio.gather(*actions))

    # -- faults ---------------------------------------------------------------------------
    async def kill_and_restart(self, after_s: float) -> None:
        """SIGKILL the bot `after_s` wall seconds into the current moment, start it again."""
        await asyncio.sleep(after_s)
        async with self._restarting:
            self._fault_until = time.monotonic() + 60.0
            await self.bot.kill()
            self.figures.kills += 1
            started = time.monotonic()
            await self.bot.start()
            self.figures.starts_s.append(time.monotonic() - started)
            self._fault_until = time.monotonic() + ACK_LIMIT_MS / 1000

    async def hold_write_lock(self, seconds: float) -> None:
        """Another writer holds the database for `seconds` (a backup, a migration, a vacuum)."""
        self.figures.locks += 1
        if self.database_url is None:
            await asyncio.to_thread(_hold_sqlite_lock, Path(self.db_target), seconds)
            return
        import asyncpg

        conn = await asyncpg.connect(self.database_url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "LOCK TABLE scheduled_jobs, outbox, checkins IN SHARE ROW EXCLUSIVE MODE"
                )
                await asyncio.sleep(seconds)
        finally:
            await conn.close()

    # -- the run --------------------------------------------------------------------------
    async def setup(self) -> None:
        await self.server.start()
        for s in range(self.world.spec.servers):
            guild = self.server.create_guild(f"Server {s}")
            self.guilds[s] = guild
            self.facilitator_roles[s] = guild.add_role("Facilitators")
            for model in self.world.server_circles(s):
                self.channels[model.key] = guild.create_text_channel(f"circle-{s}-{model.key}")
            for m in self.world.server_members(s):
                member = guild.add_member(m.name)
                member.dms_closed = m.dms_closed
                if m.dms_closed:
                    self.dms_ever_closed.add(m.key)
                self.members[m.key] = member
            for model in self.world.server_circles(s):
                self.members[model.facilitator].add_role(self.facilitator_roles[s])
        self.db = await Database.open(self.db_target)
        await self.db.migrate()
        for activity in self.activities.values():
            await activity.seed(self, self.db)
        await self.bot.start()
        await self._name_facilitator_roles()
        for activity in self.activities.values():
            await activity.prepare(self)

    async def _name_facilitator_roles(self) -> None:
        """Each server's owner names its facilitators' role, as a server admin would: every
        activity's facilitator commands rest on it."""
        for s, guild in self.guilds.items():
            reply = await self.interact(
                guild.owner.run(
                    "/facilitate circle facilitator-role",
                    channel=self.channels[self.world.server_circles(s)[0].key],
                    role=self.facilitator_roles[s],
                )
            )
            if reply is None or "are now facilitators" not in reply.text:
                raise RuntimeError(f"server {s}: the facilitator role could not be set")

    async def teardown(self) -> None:
        with contextlib.suppress(Exception):
            await self.bot.kill()
        if self.db is not None:
            await self.db.close()
        await self.server.stop()
        self.clock.close()

    async def next_due(self, after: datetime) -> datetime | None:
        """The next time a stored timer or owed delivery falls due, after `after` (what was
        due by then had its chance: if it is still there, the final check finds it)."""
        rows = await self.read(
            "SELECT MIN(run_at) AS at FROM scheduled_jobs WHERE run_at > ? "
            "UNION ALL SELECT MIN(next_at) FROM outbox WHERE delivered_at IS NULL "
            "AND failed_at IS NULL AND next_at > ?",
            (to_db(after), to_db(after)),
        )
        found = [from_db(r["at"]) for r in rows if r["at"] is not None]
        return min(found) if found else None

    async def due_now(self, at: datetime) -> int:
        rows = await self.read(
            "SELECT (SELECT COUNT(*) FROM scheduled_jobs WHERE run_at <= ?) "
            "+ (SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL "
            "AND next_at <= ?) AS n",
            (to_db(at), to_db(at)),
        )
        return int(rows[0]["n"])

    async def settle(self, at: datetime) -> None:
        """Until the bot ran every timer and delivery due by `at`, or made no progress for a
        while (a fault, or something stuck: the final checks find what stays due)."""
        began = last_change = time.monotonic()
        previous = -1
        while True:
            try:
                waiting = await self.due_now(at)
            except Exception:  # our own read met the held lock: look again
                waiting = previous
            if waiting == 0:
                break
            if waiting != previous:
                previous, last_change = waiting, time.monotonic()
            elif time.monotonic() - last_change > SETTLE_PATIENCE_S:
                self.figures.unsettled += 1
                break
            await asyncio.sleep(0.005)
        self.figures.settle_waits_s.append(time.monotonic() - began)

    async def play(self, history: History) -> None:
        self.history = history
        events = history.events
        index = 0
        next_check = self.start + CHECK_EVERY
        settled = self.start
        while True:
            due = await self.next_due(settled)
            upcoming = events[index].at if index < len(events) else self.end
            moment = min(upcoming, due, self.end) if due else min(upcoming, self.end)
            # Always a move, even to a time the clock passed already: the bot looks for what
            # fell due at each move.
            self.clock.move_to(moment)
            settled = max(settled, moment)
            self.figures.moments += 1
            batch: list[Event] = []
            while index < len(events) and events[index].at <= moment:
                batch.append(events[index])
                index += 1
            faults = [e for e in batch if e.activity == "faults"]
            others = [e for e in batch if e.activity != "faults"]
            fault_tasks = [asyncio.create_task(self._perform(e)) for e in faults]
            await self.settle(moment)
            await asyncio.gather(*(self._perform(e) for e in others))
            await asyncio.gather(*fault_tasks)
            if self.now() >= next_check:
                next_check = self.now() + CHECK_EVERY
                await self.check(final=False)
                await self._ping()
                self._progress()
                if self.fail_fast and self.violations:
                    return
            if moment >= self.end:
                break
        await self.settle(self.now())
        await self.check(final=True)

    async def _ping(self) -> None:
        """A bare `/ping` a few times a simulated day: the yardstick for the other answers."""
        for key, member in list(self.members.items())[:: max(1, len(self.members) // PINGS)]:
            if not self.present(key):
                continue
            channel = self.channels[self.world.members[key].circle]
            with contextlib.suppress(DriverError):
                reply = await member.run("/ping", channel=channel)
                if reply.interaction.callback_at is not None:
                    self.figures.ping_ms.append(ack_ms(reply))

    def _progress(self) -> None:
        """One line per simulated day on stderr, so a long run shows where it is."""
        if self.quiet:
            return
        f = self.figures
        print(
            f"  {self.now():%Y-%m-%d} wall {time.monotonic() - self._began:6.0f} s, "
            f"{f.interactions} interactions, {f.kills} kills, {len(self.violations)} broken",
            file=sys.stderr,
            flush=True,
        )

    async def _perform(self, event: Event) -> None:
        try:
            await self.activities[event.activity].perform(self, event)
        except Exception as error:  # a runner bug must not pass for a bot bug, nor hide one
            self.violate("runner", f"{event.describe()}: {error!r}", *event.subjects)

    async def check(self, final: bool) -> None:
        before = len(self.violations)
        for activity in self.activities.values():
            for violation in await activity.check(self, final):
                self._record(violation)
        if final:
            self._check_log()
            await self._check_nothing_stuck()
        if not self.quiet and self.history is not None:
            for violation in self.violations[before:]:  # as soon as seen, not only at the end
                print(explain(violation, self.history, self.world.spec.seed), file=sys.stderr)

    async def _check_nothing_stuck(self) -> None:
        """At the end, after settling: no timer and no owed post or DM left overdue."""
        overdue = self.now() - STUCK_AFTER
        jobs = await self.read(
            "SELECT job_id FROM scheduled_jobs WHERE run_at < ?", (to_db(overdue),)
        )
        for row in jobs:
            self.violate("nothing stuck", f"timer {row['job_id']} overdue")
        owed = await self.read(
            "SELECT id, kind FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL "
            "AND next_at < ?",
            (to_db(overdue),),
        )
        for row in owed:
            self.violate("no owed post or DM lost", f"delivery {row['id']} ({row['kind']}) overdue")

    def _check_log(self) -> None:
        token = self.server.token
        for line in self.bot.lines:
            if UNHANDLED.search(line):
                self.violate("no unhandled error", line[:200])
            if token in line:
                self.violate("no token in the log", "the bot token was logged")
        joined = "\n".join(self.bot.lines)
        for text in self.texts:
            if text in joined:
                self.violate("no member text in the log", f"{len(text)} characters of a member's")

    def database_size(self) -> int:
        if self.database_url is None:
            path = Path(self.db_target)
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
        return -1  # measured by the caller on PostgreSQL (pg_database_size)


def _hold_sqlite_lock(path: Path, seconds: float) -> None:
    import sqlite3

    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


def history_of(
    activities: Sequence[Activity], world: World, start: datetime, end: datetime
) -> History:
    """Every activity's events inside [start, end): one drawn past the end (an answer hours
    after a late opening) would never be played, and the run would wait for it forever."""
    seed = world.spec.seed
    return History(
        (a.name, draft)
        for a in activities
        for draft in a.plan(world, seed, start, end)
        if start <= draft.at < end  # a follow-up drawn past the end does not happen
    )


def explain(violation: Violation, history: History, seed: int) -> str:
    """A broken invariant, its seed, and the shortest history that shows it."""
    story = shortest_history(history.events, violation.subjects, violation.at)
    lines = [
        f"BROKEN {violation.invariant}: {violation.detail} (seed {seed}, at {violation.at:%Y-%m-%d %H:%M})",
        f"  subjects: {', '.join(violation.subjects) or '-'}; {len(story)} event(s) of {len(history)}:",
        *(f"    {e.describe()}" for e in story[-60:]),
    ]
    return "\n".join(lines)


async def run_soak(
    world: World,
    activities: Sequence[Activity],
    workdir: Path,
    start: datetime,
    database_url: str | None = None,
    before_teardown: Callable[[Soak], Awaitable[None]] | None = None,
    *,
    only: Iterable[str] = (),
    fail_fast: bool = False,
) -> tuple[Soak, History, float]:
    """Play the world's history; returns the run (figures, violations), history, wall time.
    `before_teardown` reads what it needs (the database) while the run is still open."""
    soak = Soak(world, activities, workdir, start, database_url)
    soak.fail_fast = fail_fast
    history = history_of(activities, world, start, soak.end)
    if only:
        history = history.keeping(only)
    began = time.monotonic()
    try:
        await soak.setup()
        await soak.play(history)
        wall = time.monotonic() - began
        if before_teardown is not None:
            await before_teardown(soak)
    finally:
        await soak.teardown()
    return soak, history, wall


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)
