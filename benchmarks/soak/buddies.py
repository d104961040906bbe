"""Buddy cycles in the soak: in a share of the circles (`circle_share`: the bot spaces DMs
1 s apart in wall time, so introductions are most of a run's wall time), the facilitator
schedules a cycle every two weeks (`/facilitate buddies schedule every:2w`), most members are opted in from the start and a
sample joins by command, some keep an avoid list, snooze, leave or come back, and members
answer their introduction ("We connected", "Not yet", "Skip this cycle"), now and then with
a double click, in their DMs or in the private thread made for a group when DMs are closed.

Invariants:
- every scheduled slot (while the bot is in the server) started one cycle, and no cycle
  stays running past its end;
- each cycle placed every active member (opted in, present, not snoozed, not paused for
  silence) exactly once, nobody else, in pairs with one trio for an odd count;
- never a pair its members avoided (an acknowledged `/buddy avoid` before the cycle);
- each placed member introduced once: at most one introduction DM per member and one thread
  post per group, and none missing once the cycle's deliveries have settled;
- "We connected" counted once: a second press (or a double click) is "Already noted", and
  the answer a member was last told was noted is the one stored when the cycle ends, and
  `/facilitate buddies stats` counts a group once however many of it pressed it.

Members who left their server or erased their data are judged only for what happened
before (`soak.left.since`, `soak.erased.since`); so are servers the bot was removed from.
What this model cannot know (a command sent while the bot was being killed, unanswered) is
kept as "maybe", and a maybe is never called a break; so is the order of two clock
readings less than `NEAR` apart.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from benchmarks.soak.history import Draft, Event, Violation, stream
from benchmarks.soak.world import CircleModel, World
from bot.domain.buddies import CycleSchedule
from bot.localdiscord.state import walk_components
from bot.storage.database import Database
from bot.storage.repositories import buddies as buddies_repo
from bot.timeutil import from_db, to_db

if TYPE_CHECKING:
    from benchmarks.soak.runner import Soak

EVERY_WEEKS = 2
TIMES = (time(9, 0), time(12, 30), time(17, 0), time(19, 15))
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LATE = timedelta(hours=1)
# The shared clock runs on in real time between the runner's moves, and the bot reads it
# before it acts (a start reads its pool after its time; a cycle's end job may run while
# the next start is under way): two readings this close may be in either order.
NEAR = timedelta(minutes=10)  # a start may wait for a restart; later than this it was missed
BUTTON = re.compile(r"^buddy:(\d+):(connected|not_yet|skip)$")
STATS = re.compile(r"<t:(\d+):D>: \d+ paired in (\d+) groups, “we connected” (\d+)/")
MENTION = re.compile(r"<@(\d+)>")
LABELS = {"connected": "We connected", "not_yet": "Not yet", "skip": "Skip this cycle"}
NOTED = {  # the start of the bot's answer to each button (bot/ui/buddies.py)
    "connected": "Lovely — noted",
    "not_yet": "Noted: not yet",
    "skip": "Noted: skipping",
}
AGAIN = "Already noted"
PAUSE_AFTER = 3  # silent cycles (bot.domain.buddies.SILENT_CYCLES_TO_PAUSE)

# A member's possible state in one circle: (opted in, snoozed until, silent cycles).
State = tuple[bool, date | None, int]
OUT: State = (False, None, 0)
IN: State = (True, None, 0)


@dataclass
class Change:
    at: datetime
    kind: str  # join, leave, snooze
    sure: bool  # acknowledged (else: sent, unanswered: maybe)
    until: date | None = None


@dataclass
class CycleSeen:
    id: int
    circle: str
    slot: str
    started_at: datetime
    groups: dict[int, set[int]]  # group number -> user ids
    lone: set[int]
    ended_at: datetime | None = None
    rows: Counter[int] = field(default_factory=Counter)  # user id -> rows in the cycle
    placement_checked: bool = False
    intros_checked: bool = False
    answers_checked: bool = False


@dataclass
class Tally:
    joins_sent: int = 0
    joins_acked: int = 0
    avoids_acked: int = 0
    snoozes_acked: int = 0
    leaves_acked: int = 0
    answers_sent: int = 0
    answers_noted: int = 0
    connected_noted: int = 0
    placements_checked: int = 0
    intros_checked: int = 0
    threads_seen: int = 0
    paused_notes: int = 0
    stats_checked: int = 0  # members paused after three silent cycles


@dataclass
class Answers:
    """What one member was told about their answers in one cycle."""

    last: str | None = None  # the last answer acknowledged as noted
    maybe: bool = False  # a click went unanswered (the bot may have stored it)
    last_at: datetime | None = None  # when it was acknowledged


class Buddies:
    name = "buddies"

    def __init__(
        self,
        # The bot paces DMs 1 s apart (wall time: bot.app dm_min_gap), and a cycle's
        # introductions and follow-ups are most of a run's wall time: a few circles pair.
        circle_share: float = 0.02,
        seeded: float = 0.7,  # opted in before the bot starts
        joining: float = 0.12,  # join by command early in the run
        avoiding: float = 0.08,  # keep one member on their avoid list
        answering: float = 0.35,  # press a button in a cycle
        snoozing: float = 0.03,  # per cycle
        leaving: float = 0.01,  # per cycle
        returning: float = 0.04,  # per cycle: /buddy join again (resumes a pause)
    ) -> None:
        self.circle_share = circle_share
        self.rates = dict(
            seeded=seeded,
            joining=joining,
            avoiding=avoiding,
            answering=answering,
            snoozing=snoozing,
            leaving=leaving,
            returning=returning,
        )
        self.schedules: dict[str, CycleSchedule] = {}  # circle -> its cycles
        self.scheduled: set[str] = set()  # circles whose schedule was acknowledged
        self.changes: dict[str, list[Change]] = {}  # member -> opt-in changes, in order
        self.avoids: dict[frozenset[str], datetime] = {}  # acked avoid pair -> when
        self.maybe_avoids: set[frozenset[str]] = set()  # sent, unanswered
        self.answers: dict[tuple[int, str], Answers] = {}  # (cycle id, member) -> answers
        self.cycles: dict[int, CycleSeen] = {}
        self.tally = Tally()
        self._scanned: dict[int, int] = {}  # channel id -> messages already scanned
        self._scanned_at: int | None = None  # the moment last scanned
        self._told: set[tuple[str, object]] = set()  # slots and cycles already reported
        self.dm_intros: Counter[tuple[int, int]] = Counter()  # (cycle, user) -> intro DMs
        self.thread_intros: Counter[tuple[int, frozenset[int]]] = Counter()  # (cycle, group)
        self.buttons: dict[int, tuple[int, Any]] = {}  # user -> (cycle, newest message)

    # -- the history ----------------------------------------------------------------------
    def _schedule(self, world: World, seed: int, circle_key: str) -> CycleSchedule:
        rng = stream(seed, f"{self.name}:{circle_key}")
        zone = world.circles[circle_key].zone
        return CycleSchedule(EVERY_WEEKS, rng.randrange(7), rng.choice(TIMES), zone)

    def _circles(self, world: World, seed: int) -> list[CircleModel]:
        """The circles that run buddy pairing (each with its schedule), drawn from the seed."""
        rng = stream(seed, f"{self.name}:circles")
        every = sorted(world.circles)
        count = max(1, round(len(every) * self.circle_share))
        chosen = sorted(rng.sample(every, min(count, len(every))))
        for key in chosen:
            self.schedules.setdefault(key, self._schedule(world, seed, key))
        return [world.circles[key] for key in chosen]

    def _seeded(self, world: World, seed: int) -> set[str]:
        """Members opted in before the bot's first start."""
        rng = stream(seed, f"{self.name}:seeded")
        return {
            m
            for circle in self._circles(world, seed)
            for m in circle.members
            if rng.random() < self.rates["seeded"]
        }

    def plan(self, world: World, seed: int, start: datetime, end: datetime) -> Iterable[Draft]:
        rng = stream(seed, self.name)
        r = self.rates
        span = (end - start).total_seconds()
        seeded = self._seeded(world, seed)
        for circle in self._circles(world, seed):
            schedule = self.schedules[circle.key]
            others = list(circle.members)
            for member in circle.members:
                if member not in seeded and rng.random() < r["joining"] / (1 - r["seeded"]):
                    at = start + timedelta(seconds=rng.uniform(600, min(span, 10 * 86400)))
                    yield Draft(at, "join", (circle.key, member))
                if rng.random() < r["avoiding"] and len(others) > 1:
                    avoided = rng.choice([o for o in others if o != member])
                    at = start + timedelta(seconds=rng.uniform(600, span))
                    yield Draft(at, "avoid", (circle.key, member, avoided))
            starts = _starts(schedule, start, end)
            for number, began in enumerate(starts):
                window = (
                    starts[number + 1] if number + 1 < len(starts) else began + schedule.length
                ) - began
                for member in circle.members:
                    if rng.random() < r["answering"]:
                        at = began + timedelta(
                            seconds=rng.uniform(3600, window.total_seconds() * 0.9)
                        )
                        choice = rng.choices(list(LABELS), weights=(6, 2.5, 1.5))[0]
                        twice = rng.random() < 0.08
                        if at < end:
                            yield Draft(
                                at,
                                "answer",
                                (circle.key, member),
                                {"answer": choice, "twice": twice},
                            )
                    for kind in ("snoozing", "leaving", "returning"):
                        if rng.random() < r[kind]:
                            at = began + timedelta(
                                seconds=rng.uniform(600, window.total_seconds() - 600)
                            )
                            if at >= end:
                                continue
                            params = {"days": rng.randint(5, 30)} if kind == "snoozing" else {}
                            action = {
                                "snoozing": "snooze",
                                "leaving": "leave",
                                "returning": "join",
                            }[kind]
                            yield Draft(at, action, (circle.key, member), params)  # fmt: skip
                # Near the cycle's end its facilitator looks at the counts.
                at = began + window - timedelta(hours=2, seconds=rng.uniform(0, 3600))
                if at < end:
                    yield Draft(at, "stats", (circle.key, circle.facilitator))

    # -- the world's first rows -----------------------------------------------------------
    async def seed(self, soak: Soak, db: Database) -> None:
        seeded = self._seeded(soak.world, soak.world.spec.seed)
        start = soak.now()
        async with db.transaction() as tx:
            for model in self._circles(soak.world, soak.world.spec.seed):
                circle_id = soak.circle_ids[model.key]
                guild_id = soak.guilds[model.server].id
                for key in model.members:
                    if key in seeded:
                        await buddies_repo.join(tx, circle_id, guild_id, soak.member(key).id, start)
                        self.changes.setdefault(key, []).append(Change(start, "join", True))

    async def prepare(self, soak: Soak) -> None:
        """Each circle's facilitator sets a cycle every two weeks."""
        circles = self._circles(soak.world, soak.world.spec.seed)
        for batch in range(0, len(circles), 10):
            await soak.together(
                *(self._set_schedule(soak, c.key) for c in circles[batch : batch + 10])
            )

    async def _set_schedule(self, soak: Soak, circle_key: str) -> None:
        model = soak.world.circles[circle_key]
        schedule = self.schedules[circle_key]
        reply = await soak.interact(
            soak.member(model.facilitator).run(
                "/facilitate buddies schedule",
                force=True,  # the server lets its Facilitators role use /facilitate
                channel=soak.channels[circle_key],
                circle=model.name,
                every=f"{EVERY_WEEKS}w",
                day=DAYS[schedule.weekday],
                time=f"{schedule.time:%H:%M}",
            )
        )
        if reply is not None and "Buddy cycles in" in reply.text:
            self.scheduled.add(circle_key)
        else:
            soak.violate("buddy schedule set", f"circle {circle_key}: not acknowledged", circle_key)

    # -- members acting -------------------------------------------------------------------
    async def perform(self, soak: Soak, event: Event) -> None:
        circle_key, member_key = event.subjects[0], event.subjects[1]
        if not soak.present(member_key):
            return
        member = soak.member(member_key)
        channel = soak.channels[circle_key]
        name = soak.world.circles[circle_key].name
        if event.action == "join":
            self.tally.joins_sent += 1
            reply = await soak.interact(member.run("/buddy join", channel=channel, circle=name))
            self._change(soak, member_key, "join", reply, ("You're in", "You're already in"))
            if reply is not None and "You're in" in reply.text:
                self.tally.joins_acked += 1
        elif event.action == "leave":
            reply = await soak.interact(member.run("/buddy leave", channel=channel, circle=name))
            self._change(soak, member_key, "leave", reply, ("You've left", "You weren't in"))
            if reply is not None and "You've left" in reply.text:
                self.tally.leaves_acked += 1
        elif event.action == "snooze":
            until = soak.now().date() + timedelta(days=int(event.params["days"]))
            reply = await soak.interact(
                member.run("/buddy snooze", channel=channel, until=until.isoformat())
            )
            self._change(soak, member_key, "snooze", reply, ("Snoozed until",), until)
            if reply is not None and "Snoozed until" in reply.text:
                self.tally.snoozes_acked += 1
        elif event.action == "avoid":
            other = soak.member(event.subjects[2])
            reply = await soak.interact(
                member.run("/buddy avoid", channel=channel, member=other.user)
            )
            pair = frozenset(event.subjects[1:3])
            if reply is not None and "won't be paired" in reply.text:
                self.tally.avoids_acked += 1
                self.avoids.setdefault(pair, soak.now())
            else:
                self.maybe_avoids.add(pair)
        elif event.action == "stats":
            await self._stats(soak, circle_key, member_key)
        elif event.action == "answer":
            await self._answer(
                soak,
                circle_key,
                member_key,
                str(event.params["answer"]),
                bool(event.params["twice"]),
            )

    def _change(
        self,
        soak: Soak,
        member_key: str,
        kind: str,
        reply: Any,
        acked: tuple[str, ...],
        until: date | None = None,
    ) -> None:
        sure = reply is not None and any(text in reply.text for text in acked)
        # Anything else may have happened (unanswered in a restart, or answered oddly):
        # a maybe, which is never called a break.
        self.changes.setdefault(member_key, []).append(Change(soak.now(), kind, sure, until))

    async def _answer(
        self, soak: Soak, circle_key: str, member_key: str, answer: str, twice: bool
    ) -> None:
        member = soak.member(member_key)
        self._scan(soak)
        found = self.buttons.get(member.id)
        if found is None:
            return  # not placed (yet), or their introduction has not arrived
        cycle_id, message = found
        record = self.answers.setdefault((cycle_id, member_key), Answers())
        before = record.last
        clicks = [member.click(LABELS[answer], message=message) for _ in range(2 if twice else 1)]
        self.tally.answers_sent += len(clicks)
        replies = await soak.together(*(soak.interact(c) for c in clicks))
        noted = [r for r in replies if r is not None and r.text.startswith(NOTED[answer])]
        again = [r for r in replies if r is not None and r.text.startswith(AGAIN)]
        if len(noted) + len(again) < len(replies):  # unanswered or odd: it may be stored
            record.maybe = True
        self.tally.answers_noted += len(noted) + len(again)
        if not noted and not again:
            return  # refused (the cycle ended, say): nothing was stored
        if answer == "connected":
            self.tally.connected_noted += len(noted)
            # Counted once: noted as new only when the stored answer was not already this.
            allowed = 0 if before == "connected" and not record.maybe else 1
            if len(noted) > allowed:
                soak.violate(
                    "we connected counted once",
                    f"cycle {cycle_id}: noted as new {len(noted)} time(s), before: {before}",
                    member_key,
                )
        record.last, record.last_at = answer, soak.now()

    async def _stats(self, soak: Soak, circle_key: str, facilitator: str) -> None:
        """`/facilitate buddies stats` counts a group that connected once, however many of
        its members pressed "We connected" (and however often)."""
        model = soak.world.circles[circle_key]
        reply = await soak.interact(
            soak.member(facilitator).run(
                "/facilitate buddies stats",
                force=True,
                channel=soak.channels[circle_key],
                circle=model.name,
            )
        )
        if reply is None:
            return  # refused (the role was taken away) or unanswered in a restart
        await self._read_cycles(soak)
        keys = {soak.member(k).id: k for k in model.members}
        started = {int(c.started_at.timestamp()): c for c in self.cycles.values()}
        for epoch, groups, connected in STATS.findall(reply.text):
            cycle = started.get(int(epoch))
            if cycle is None or cycle.circle != circle_key:
                continue
            members = [keys.get(u) for g in cycle.groups.values() for u in g]
            if any(
                key is None
                or not self._judged(soak, key, soak.now())  # erased: its rows went too
                or self.answers.get((cycle.id, key), Answers()).maybe
                for key in members
            ):
                continue  # someone's answer is unknown to this model, or erased
            expected = sum(
                1
                for g in cycle.groups.values()
                if any(
                    self.answers.get((cycle.id, keys[u]), Answers()).last == "connected" for u in g
                )
            )
            self.tally.stats_checked += 1
            if (int(groups), int(connected)) != (len(cycle.groups), expected):
                soak.violate(
                    "we connected counted once",
                    f"cycle {cycle.id}: stats say {connected}/{groups} groups connected, "
                    f"{expected}/{len(cycle.groups)} were told so",
                    circle_key,
                )

    # -- what the local server shows ------------------------------------------------------
    def _scan(self, soak: Soak, force: bool = False) -> None:
        """Index the bot's buddy messages: introduction DMs, group threads, newest buttons
        (once per moment: members act after the moment's deliveries)."""
        if self._scanned_at == soak.figures.moments and not force:
            return
        self._scanned_at = soak.figures.moments
        state = soak.server.state
        for channel_id, record in list(state.channels.items()):
            start = self._scanned.get(channel_id, 0)
            messages = record.messages
            if start >= len(messages):
                continue
            self._scanned[channel_id] = len(messages)
            recipient = getattr(record, "recipient", None)
            for message in messages[start:]:
                if message.deleted or message.visible_to is not None:
                    continue
                if recipient is not None and "I've paused your buddy pairing" in message.content:
                    self.tally.paused_notes += 1
                cycle_id = _cycle_of(message)
                if cycle_id is None:
                    continue
                if recipient is not None:  # a DM: an introduction or a follow-up
                    if "A first question" in message.content:
                        self.dm_intros[(cycle_id, recipient.id)] += 1
                    self._newest(recipient.id, cycle_id, message)
                elif "couldn't reach one of you" in message.content:
                    group = frozenset(int(u) for u in MENTION.findall(message.content))
                    self.thread_intros[(cycle_id, group)] += 1
                    self.tally.threads_seen += 1
                    for user_id in group:
                        self._newest(user_id, cycle_id, message)

    def _newest(self, user_id: int, cycle_id: int, message: Any) -> None:
        seen = self.buttons.get(user_id)
        if seen is None or seen[0] <= cycle_id:
            self.buttons[user_id] = (cycle_id, message)

    # -- invariants -----------------------------------------------------------------------
    async def check(self, soak: Soak, final: bool) -> list[Violation]:
        found: list[Violation] = []
        now = soak.now()

        def broken(invariant: str, detail: str, *subjects: str) -> None:
            found.append(Violation(invariant, detail, subjects, now))

        self._scan(soak, force=True)
        await self._read_cycles(soak)
        keys = {soak.member(k).id: k for k in soak.world.members}
        for circle_key in sorted(self.scheduled):
            await self._check_slots(soak, circle_key, now, broken)
        pending = await self._pending(soak)
        for cycle in sorted(self.cycles.values(), key=lambda c: c.id):
            if not cycle.placement_checked:
                cycle.placement_checked = True
                self._check_placement(soak, cycle, keys, broken)
            if not cycle.intros_checked and cycle.id not in pending:
                cycle.intros_checked = True
                await self._check_intros(soak, cycle, keys, now, broken)
            elif not cycle.intros_checked and now - cycle.started_at > timedelta(days=1):
                broken(
                    "introduction delivered once",
                    f"cycle {cycle.id}: introductions still owed a day after it started",
                    cycle.circle,
                )
                cycle.intros_checked = True
            if cycle.ended_at is not None and not cycle.answers_checked:
                cycle.answers_checked = True
                await self._check_answers(soak, cycle, keys, broken)
        return found

    async def _read_cycles(self, soak: Soak) -> None:
        known = max(self.cycles, default=0)
        running = min((c.id for c in self.cycles.values() if c.ended_at is None), default=known)
        by_circle = {soak.circle_ids[k]: k for k in soak.world.circles}
        rows = await soak.read(
            "SELECT id, circle_id, slot, started_at, ended_at FROM buddy_cycles WHERE id >= ?",
            (min(running, known + 1),),
        )
        fresh = [r for r in rows if int(r["id"]) > known and int(r["circle_id"]) in by_circle]
        for row in rows:
            cycle = self.cycles.get(int(row["id"]))
            if cycle is not None and row["ended_at"] is not None:
                cycle.ended_at = from_db(row["ended_at"])
        if not fresh:
            return
        members = await soak.read(
            "SELECT cycle_id, user_id, group_no FROM buddy_members WHERE cycle_id > ?", (known,)
        )
        placed: dict[int, list[Any]] = {}
        for m in members:
            placed.setdefault(int(m["cycle_id"]), []).append(m)
        for row in fresh:
            groups: dict[int, set[int]] = {}
            lone: set[int] = set()
            for m in placed.get(int(row["id"]), []):
                if m["group_no"] is None:
                    lone.add(int(m["user_id"]))
                else:
                    groups.setdefault(int(m["group_no"]), set()).add(int(m["user_id"]))
            self.cycles[int(row["id"])] = CycleSeen(
                int(row["id"]),
                by_circle[int(row["circle_id"])],
                str(row["slot"]),
                from_db(row["started_at"]),
                groups,
                lone,
                None if row["ended_at"] is None else from_db(row["ended_at"]),
                Counter(int(m["user_id"]) for m in placed.get(int(row["id"]), [])),
            )

    async def _pending(self, soak: Soak) -> set[int]:
        """Cycles whose introductions are still owed (neither delivered nor given up)."""
        rows = await soak.read(
            "SELECT payload FROM outbox WHERE kind IN ('buddy-intro', 'buddy-thread') "
            "AND delivered_at IS NULL AND failed_at IS NULL"
        )
        return {int(json.loads(r["payload"])["cycle_id"]) for r in rows}

    async def _check_slots(self, soak: Soak, circle_key: str, now: datetime, broken: Any) -> None:
        schedule = self.schedules[circle_key]
        model = soak.world.circles[circle_key]
        present = soak.server_presence(model.server)
        mine = [c for c in self.cycles.values() if c.circle == circle_key]
        slots = {c.slot for c in mine}
        for began in _starts(schedule, soak.start, now - LATE):
            if (
                to_db(began) not in slots
                and present(began)
                and (circle_key, began) not in self._told
            ):
                self._told.add((circle_key, began))
                broken(
                    "buddy cycle started on schedule",
                    f"circle {circle_key}: the cycle of {began:%Y-%m-%d %H:%M} never started",
                    circle_key,
                )
                break
        for cycle in mine:
            if (
                cycle.ended_at is None
                and cycle.started_at + schedule.length + LATE < now
                and present(now)
                and (circle_key, cycle.id) not in self._told
            ):
                self._told.add((circle_key, cycle.id))
                broken("no buddy cycle stuck", f"cycle {cycle.id} still running", circle_key)

    def _judged(self, soak: Soak, key: str, since: datetime) -> bool:
        """Whether a member was surely present and not erased from `since` until now."""
        gone = [s.get(key) for s in (soak.left.since, soak.erased.since)]
        return (
            all(at is None or at > since + NEAR for at in gone)
            and soak.world.members[key].server not in soak.absent_servers
        )

    def _active(self, key: str, at: datetime, cycles: list[CycleSeen], user_id: int) -> bool | None:
        """Whether a member was to be placed in a cycle starting `at`: True, False, None (maybe).

        Times are read from the shared clock, which runs on between the runner's moves: an
        acknowledgement before the start's time surely came first; one a little after it, or
        a little before or after an earlier cycle's end, may have landed on either side.
        Every earlier cycle of the circle ended before this one's pool was read."""
        changes = [c for c in self.changes.get(key, []) if c.at <= at + NEAR]
        ends = sorted(cycles, key=lambda c: c.id)
        steps: list[tuple[datetime, int, Any]] = [(c.at, 0, c) for c in changes]
        steps += [(min(c.ended_at or at, at), 1, c) for c in ends]
        steps.sort(key=lambda s: (s[0], s[1]))
        end_times = [when for when, kind, _ in steps if kind == 1]
        states: set[State] = {OUT}
        for when, _, step in steps:
            if isinstance(step, Change):
                after = _apply(states, step)
                near_end = any(abs(when - e) <= NEAR for e in end_times)
                sure = step.sure and when < at and not near_end
                states = after if sure else states | after
                continue
            around = [c for c in changes if abs(c.at - when) <= NEAR]
            for change in around:  # it may have landed before this end...
                states |= _apply(states, change)
            states = self._silence(states, step, key, user_id, when)
            for change in around:  # ...or after it
                states |= _apply(states, change)
        active = {_is_active(s, at) for s in states}
        return active.pop() if len(active) == 1 else None

    def _silence(
        self, states: set[State], cycle: CycleSeen, key: str, user_id: int, ended: datetime
    ) -> set[State]:
        """A cycle ended: placed members who answered start again at 0, the silent count up."""
        if not any(user_id in g for g in cycle.groups.values()):
            return states
        record = self.answers.get((cycle.id, key)) or Answers()
        late = record.last_at is not None and record.last_at >= ended - NEAR
        counts: set[State] = set()
        for opted, until, silent in states:
            if not opted or silent >= PAUSE_AFTER:
                counts.add((opted, until, silent))
                continue
            if record.last is not None or record.maybe:  # an answer stored (or maybe)
                counts.add((opted, until, 0))
            if record.last is None or late:  # none, or maybe counted after the end
                counts.add((opted, until, silent + 1))
        return counts

    def _check_placement(
        self, soak: Soak, cycle: CycleSeen, keys: dict[int, str], broken: Any
    ) -> None:
        model = soak.world.circles[cycle.circle]
        if not soak.server_presence(model.server)(cycle.started_at):
            return
        self.tally.placements_checked += 1
        placed = cycle.rows
        twice = [u for u, n in placed.items() if n > 1]
        if twice:
            broken(
                "buddy placed once",
                f"cycle {cycle.id}: {len(twice)} placed twice",
                *(keys.get(u, "?") for u in twice),
            )
        earlier = sorted(
            (
                c
                for c in self.cycles.values()
                if c.circle == cycle.circle
                and c.id != cycle.id
                and c.started_at <= cycle.started_at
            ),
            key=lambda c: (c.started_at, c.id),
        )
        for key in model.members:
            if not self._judged(soak, key, cycle.started_at):
                continue
            user_id = soak.member(key).id
            active = self._active(key, cycle.started_at, earlier, user_id)
            if active is True and user_id not in placed:
                broken(
                    "buddy placed every active member",
                    f"cycle {cycle.id}: an active member is missing",
                    key,
                )
            elif active is False and user_id in placed:
                broken(
                    "buddy placed only active members",
                    f"cycle {cycle.id}: an inactive member was placed",
                    key,
                )
        sizes = Counter(len(g) for g in cycle.groups.values())
        if set(sizes) - {2, 3}:
            broken(
                "buddy pairs and a trio",
                f"cycle {cycle.id}: group sizes {dict(sizes)}",
                cycle.circle,
            )
        avoided = {pair for pair, at in self.avoids.items() if at < cycle.started_at}
        pool = {keys.get(u) for u in placed}
        constrained = any(pair <= pool for pair in (*self.avoids, *self.maybe_avoids))
        total = sum(placed.values())
        if not constrained and total >= 2 and (sizes[3] != total % 2 or cycle.lone):
            broken(
                "buddy pairs and a trio",
                f"cycle {cycle.id}: {dict(sizes)} and {len(cycle.lone)} alone for {total}",
                cycle.circle,
            )
        for group in cycle.groups.values():
            members = sorted(keys.get(u, "?") for u in group)
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    pair = frozenset((a, b))
                    if (
                        pair in avoided
                        and self._judged(soak, a, cycle.started_at)
                        and self._judged(soak, b, cycle.started_at)
                    ):
                        broken(
                            "never an avoided pair",
                            f"cycle {cycle.id}: an avoided pair was placed together",
                            a,
                            b,
                        )

    async def _check_intros(
        self, soak: Soak, cycle: CycleSeen, keys: dict[int, str], now: datetime, broken: Any
    ) -> None:
        model = soak.world.circles[cycle.circle]
        present = soak.server_presence(model.server)
        if not present(cycle.started_at) or any(
            left is not None and left <= now and (back is None or back > cycle.started_at)
            for left, back in soak.absences.get(model.server, [])
        ):
            return  # the bot left the server while this cycle's introductions were owed
        self.tally.intros_checked += 1
        for group in cycle.groups.values():
            threads = self.thread_intros.get((cycle.id, frozenset(group)), 0)
            members = [keys.get(u, "?") for u in sorted(group)]
            if threads > 1:
                broken(
                    "introduction delivered once",
                    f"cycle {cycle.id}: {threads} thread posts for a group",
                    *members,
                )
            for user_id in group:
                key = keys.get(user_id)
                if key is None or not self._judged(soak, key, now):
                    continue
                dms = self.dm_intros.get((cycle.id, user_id), 0)
                if dms > 1:
                    broken(
                        "introduction delivered once",
                        f"cycle {cycle.id}: {dms} introduction DMs",
                        key,
                    )
                if dms == 0 and threads == 0 and all(self._judged(soak, m, now) for m in members):
                    broken(
                        "introduction delivered once",
                        f"cycle {cycle.id}: no introduction",
                        key,
                    )

    async def _check_answers(
        self, soak: Soak, cycle: CycleSeen, keys: dict[int, str], broken: Any
    ) -> None:
        """The answer each member was last told was noted is the one stored."""
        rows = await soak.read(
            "SELECT user_id, answer FROM buddy_members WHERE cycle_id = ?", (cycle.id,)
        )
        stored = {int(r["user_id"]): r["answer"] for r in rows}
        for user_id in (u for g in cycle.groups.values() for u in g):
            key = keys.get(user_id)
            if key is None or not self._judged(soak, key, soak.now()):
                continue
            record = self.answers.get((cycle.id, key))
            if record is None or record.last is None or record.maybe:
                continue
            if stored.get(user_id) != record.last:
                broken(
                    "buddy answer kept",
                    f"cycle {cycle.id}: noted {record.last}, stored {stored.get(user_id)}",
                    key,
                )

    def figures(self) -> dict[str, float]:
        t = self.tally
        cycles = list(self.cycles.values())
        return {
            "buddy cycles": len(cycles),
            "buddy members placed": sum(len(g) for c in cycles for g in c.groups.values()),
            "buddy joins by command (acked)": t.joins_acked,
            "buddy avoids (acked)": t.avoids_acked,
            "buddy snoozes (acked)": t.snoozes_acked,
            "buddy leaves (acked)": t.leaves_acked,
            "buddy answers sent": t.answers_sent,
            "buddy answers noted": t.answers_noted,
            "buddy we connected noted": t.connected_noted,
            "buddy intro DMs": sum(self.dm_intros.values()),
            "buddy intro threads": t.threads_seen,
            "buddy paused for silence": t.paused_notes,
            "buddy stats lines checked": t.stats_checked,
            "buddy cycles checked: placement": t.placements_checked,
            "buddy cycles checked: introductions": t.intros_checked,
        }


def _starts(schedule: CycleSchedule, start: datetime, until: datetime) -> list[datetime]:
    found = []
    at = schedule.first_start_after(start)
    while at <= until:
        found.append(at)
        at = schedule.next_start(at)
    return found


def _cycle_of(message: Any) -> int | None:
    for comp in walk_components(message.components):
        match = BUTTON.match(str(comp.get("custom_id", "")))
        if match:
            return int(match[1])
    return None


def _apply(states: set[State], change: Change) -> set[State]:
    if change.kind == "join":
        return {IN}
    if change.kind == "leave":
        return {OUT}
    # snooze: touches an opt-in that exists; acknowledged only then
    return {
        (True, change.until, silent) if opted else (opted, until, silent)
        for opted, until, silent in states
    }


def _is_active(state: State, at: datetime) -> bool:
    opted, until, silent = state
    return opted and silent < PAUSE_AFTER and (until is None or until <= at.date())
