"""Weekly talking-piece gatherings in the soak: each circle's facilitator starts one at the
circle's `talk_day`/`talk_time`, a few members join, the facilitator begins, and each holder
presses Done or Pass (now and then twice) or says nothing until the timed share runs out by
itself (the runner stops the clock at the bot's stored deadline); a member raises a hand; some
gatherings open the floor after the round, some are ended early from the facilitator's panel,
some are walked away from (the timers walk the round, or the idle expiry ends it); now and then
the facilitator starts a second one in the same channel. Text channels only (no voice).

Presses that carry a turn (Done, Pass) are made on the board as it shows the stored turn, as a
member would see it; a double click sends the same board's button twice. The bot acknowledges
a press before it stores it, so a press is expected to move the piece unless the bot was
killed while it was in flight (it is then excused, and counted).

Invariants (gatherings in servers the bot was absent from meanwhile are not judged):
- no gathering stuck open: every gathering ends (End, going round, or the idle expiry) within
  `STUCK` of its start;
- one live gathering per channel: in the database, and no second start is accepted while one
  is live;
- every Done/Pass moved the piece exactly once, and nothing else ended a turn as Done/Pass:
  each acknowledged press (not excused) ended exactly one turn of its kind while it was in
  flight; a turn ended as Done or Pass falls inside a press of that kind;
- no skipped or doubled turn: in a round that ends when it goes round, turns follow each other
  without a gap and the turn counter equals the turns taken;
- a timed share ends on time: never before its length, never long after (a missed deadline);
- one board per gathering (no duplicate after restarts), and an ended gathering's board says so.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from benchmarks.soak.history import Draft, Event, Violation, stream
from benchmarks.soak.world import CircleModel, World
from bot.domain.schedule import RoundSchedule
from bot.domain.talking_piece import Gathering, TurnEnd
from bot.storage.database import Database
from bot.storage.repositories import talking_piece as talk_repo
from bot.timeutil import from_db

if TYPE_CHECKING:
    from benchmarks.soak.runner import Soak
    from bot.localdiscord import Reply
    from bot.localdiscord.state import Message

STARTED = ("The board is up", "The gathering is started")
ENDED_TEXT = "The gathering has ended"
BOARD_ID = re.compile(r"talk:(\d+):")
# A gathering's last planned change is within an hour of its start; the idle expiry ends it
# 6 h after its last change. Anything live this long after its start is stuck.
STUCK = timedelta(hours=12)
LATE = timedelta(minutes=30)  # a deadline applied this late (restart, unsettled moment) is late
BOARD_PATIENCE_S = 8.0  # wall seconds a member waits for the board to show the current turn
APPLY_PATIENCE_S = 15.0  # wall seconds a press may take to be stored (a held write lock: ≤ 6 s)
BOARD_GRACE_S = 20.0  # wall seconds after an end was first seen before its board must show it


@dataclass
class Press:
    gid: int
    gkey: str  # the gathering's history key
    member: str
    kind: TurnEnd  # DONE or PASSED
    lo: datetime  # simulated time just before the click
    hi: datetime  # once its effect was seen (or we stopped waiting)
    clicks: int
    least: int  # turns it must have ended: 0 if the bot was killed meanwhile, or refused it
    most: int  # 1, or 2 for two clicks on boards showing different turns


@dataclass
class Started:
    gkey: str
    circle: str
    share: timedelta | None
    then: str


@dataclass
class TalkFigures:
    starts: int = 0
    started: int = 0
    second_starts_refused: int = 0
    presses: int = 0
    double_clicks: int = 0
    excused: int = 0
    refused: int = 0
    stale_board: int = 0
    hands: int = 0
    ends: Counter[str] = field(default_factory=Counter)
    turn_ends: Counter[str] = field(default_factory=Counter)
    judged: set[int] = field(default_factory=set)


class TalkingPiece:
    name = "talk"

    def __init__(self, share: float = 1.0) -> None:
        self.share = share  # of circle-weeks with a gathering
        self.started: dict[int, Started] = {}  # gathering id -> what we know of it
        self.keys: dict[str, int] = {}  # history key -> gathering id
        self.presses: dict[int, list[Press]] = {}
        self.ended_seen: dict[int, float] = {}  # gathering id -> monotonic time first seen ended
        self.found: list[Violation] = []  # seen while acting
        self.stuck: set[int] = set()  # gatherings reported stuck
        self.amiss: set[int] = set()  # gatherings reported with a board missing or doubled
        self.tally = TalkFigures()
        self._ids: dict[int, str] = {}  # user id -> member key

    # -- the history ----------------------------------------------------------------------
    def plan(self, world: World, seed: int, start: datetime, end: datetime) -> Iterable[Draft]:
        rng = stream(seed, self.name)
        busy = sorted(
            {o for c in world.circles.values() for o in _openings(c.schedule, start, end)}
        )
        for circle in world.circles.values():
            for at in _weekly(circle, start, end):
                if rng.random() < self.share:
                    yield from _gathering(rng, circle, at, busy)

    async def seed(self, soak: Soak, db: Database) -> None:
        return None

    async def prepare(self, soak: Soak) -> None:
        return None

    # -- members acting -------------------------------------------------------------------
    async def perform(self, soak: Soak, event: Event) -> None:
        gkey, circle_key = event.subjects[0], _circle_of(event.subjects[0])
        if event.action == "start":
            await self._start(soak, event, gkey, circle_key)
            return
        live = await self._live(soak, circle_key)
        if live is None:
            return  # not started (the facilitator was away, a restart), or over already
        gid, g, message_id = live
        self.keys.setdefault(gkey, gid)
        board = _message(soak, circle_key, message_id)
        if board is None:
            return  # its board is still on its way
        if event.action == "turn":
            await self._turn(soak, event, gkey, gid, g, board)
            return
        actor = event.subjects[1]
        if not soak.present(actor):
            return
        member = soak.member(actor)
        if event.action == "join":
            await soak.interact(member.click("Join", message=board))
        elif event.action == "begin":
            await soak.interact(member.click("Begin", message=board))
        elif event.action == "raise":
            self.tally.hands += 1
            await soak.interact(member.click("Raise hand", message=board))
        elif event.action == "end":
            panel = await soak.interact(member.click("Facilitator", message=board))
            if panel is not None and "End" in panel.buttons:
                await soak.interact(member.click("End", message=panel))

    async def _start(self, soak: Soak, event: Event, gkey: str, circle_key: str) -> None:
        actor = event.subjects[1]
        model = soak.world.circles[circle_key]
        member = soak.member(actor)
        if not soak.present(actor) or soak.facilitator_roles[model.server].id not in (
            member.record.role_ids
        ):
            return  # away, or no longer a facilitator: no gathering this week
        before = await self._live(soak, circle_key)
        options = {k: v for k, v in event.params.items() if k != "again" and v is not None}
        self.tally.starts += 1
        reply = await soak.interact(
            member.run(
                "/facilitate talk start", channel=soak.channels[circle_key], force=True, **options
            )
        )
        if reply is None or not any(s in reply.text for s in STARTED):
            if before is not None and reply is not None:
                self.tally.second_starts_refused += 1
            return
        if before is not None:
            self.found.append(
                _violation(
                    soak,
                    "one live gathering per channel",
                    f"a start was accepted while gathering {before[0]} was live",
                    gkey,
                )
            )
            return
        live = await self._live(soak, circle_key)
        if live is None:
            return
        self.tally.started += 1
        minutes = event.params.get("minutes")
        share = None if minutes is None else timedelta(minutes=float(minutes))
        self.started[live[0]] = Started(gkey, circle_key, share, str(event.params["then"]))
        self.keys[gkey] = live[0]

    async def _turn(
        self, soak: Soak, event: Event, gkey: str, gid: int, g: Gathering, board: Message
    ) -> None:
        """The member holding the piece now presses Done or Pass on the board showing it."""
        if g.holder is None:
            return
        actor = self._key_of(soak, g.holder)
        if actor is None or not soak.present(actor):
            return  # their share runs out by itself, or the bot drops them
        shown = await _board_showing(board, gid, g.turn)
        if not shown:
            self.tally.stale_board += 1
            return
        kind = TurnEnd.PASSED if event.params["kind"] == "pass" else TurnEnd.DONE
        label = "Pass" if kind is TurnEnd.PASSED else "Done"
        member = soak.member(actor)
        clicks = 2 if event.params.get("twice") else 1
        kills = soak.figures.kills
        lo = soak.now()
        replies = await soak.together(
            *(soak.interact(member.click(label, message=board)) for _ in range(clicks))
        )
        sent = [r for r in replies if r is not None]
        # Two clicks carried one turn (the same board): they may move the piece once.
        # Otherwise the board changed between them (each may be a legitimate move).
        turns = {r.interaction.payload["data"]["custom_id"] for r in sent}
        self.tally.presses += 1
        self.tally.double_clicks += clicks > 1
        applied = await self._until_applied(soak, gid, kind, lo, kills)
        refused = not applied and any(_refused(r) for r in sent)  # its follow-up came by now
        excused = not applied and (
            soak.figures.kills != kills or len(sent) < clicks or soak.restarting
        )
        self.tally.excused += excused
        self.tally.refused += refused
        least = 0 if excused or refused or not sent else 1
        press = Press(gid, gkey, actor, kind, lo, soak.now(), clicks, least, max(1, len(turns)))
        self.presses.setdefault(gid, []).append(press)

    async def _until_applied(
        self, soak: Soak, gid: int, kind: TurnEnd, lo: datetime, kills: int
    ) -> bool:
        """Whether a turn of `kind` ended since `lo` (waiting for the bot to store it)."""
        deadline = time.monotonic() + APPLY_PATIENCE_S
        while True:
            if soak.figures.kills != kills or soak.restarting:
                await soak.restarted()  # then look once more
                return _ended_since(await self._state(soak, gid), kind, lo)
            if _ended_since(await self._state(soak, gid), kind, lo):
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.03)

    # -- reading the bot's tables ---------------------------------------------------------
    async def _live(self, soak: Soak, circle_key: str) -> tuple[int, Gathering, int | None] | None:
        rows = await soak.read(
            "SELECT id, state, message_id FROM talk_gatherings "
            "WHERE channel_id = ? AND live IS NOT NULL",
            (soak.channels[circle_key].id,),
        )
        if not rows:
            return None
        row = rows[0]
        message_id = None if row["message_id"] is None else int(row["message_id"])
        return int(row["id"]), talk_repo.load(row["state"]), message_id

    async def _state(self, soak: Soak, gid: int) -> Gathering | None:
        try:
            rows = await soak.read("SELECT state FROM talk_gatherings WHERE id = ?", (gid,))
        except Exception:  # our read met a held lock: look again later
            return None
        return talk_repo.load(rows[0]["state"]) if rows else None

    def _key_of(self, soak: Soak, user_id: int) -> str | None:
        if not self._ids:
            self._ids = {m.id: k for k, m in soak.members.items()}
        return self._ids.get(user_id)

    # -- invariants -----------------------------------------------------------------------
    async def check(self, soak: Soak, final: bool) -> list[Violation]:
        found, self.found = self.found, []
        now = soak.now()
        by_channel = {soak.channels[k].id: k for k in soak.world.circles}
        rows = await soak.read(
            "SELECT id, guild_id, channel_id, message_id, live, created_at, ended_at "
            "FROM talk_gatherings ORDER BY id"
        )
        rows = [r for r in rows if int(r["channel_id"]) in by_channel]
        live = Counter(int(r["channel_id"]) for r in rows if r["live"] is not None)
        for channel_id, n in live.items():
            if n > 1:
                circle = by_channel[channel_id]
                found.append(
                    _violation(
                        soak, "one live gathering per channel", f"{n} live in {circle}", circle
                    )
                )
        if final:
            await self._boards_settle(soak, rows, by_channel)
        boards = _boards(soak, by_channel)
        for row in rows:
            gid = int(row["id"])
            circle = by_channel[int(row["channel_id"])]
            created = from_db(row["created_at"])
            if not _present_throughout(soak, soak.world.circles[circle].server, created, now):
                continue
            subject = self.started[gid].gkey if gid in self.started else circle
            shown = boards.get((int(row["channel_id"]), gid), [])
            self._check_board(soak, row, shown, subject, final, found)
            if row["live"] is not None:
                if created + STUCK < now and gid not in self.stuck:
                    self.stuck.add(gid)  # reported once
                    found.append(
                        _violation(
                            soak,
                            "no gathering stuck open",
                            f"gathering {gid} live since {created:%Y-%m-%d %H:%M}",
                            subject,
                        )
                    )
                continue
            self.ended_seen.setdefault(gid, time.monotonic())
            if gid not in self.tally.judged:
                g = await self._state(soak, gid)
                if g is None:
                    continue
                self.tally.judged.add(gid)
                self._tally_end(g)
                self._check_turns(soak, gid, g, subject, found)
        return found

    def _check_board(
        self,
        soak: Soak,
        row: Any,
        shown: list[Message],
        subject: str,
        final: bool,
        found: list[Violation],
    ) -> None:
        gid = int(row["id"])
        message_id = row["message_id"]
        if message_id is None:
            if from_db(row["created_at"]) + LATE < soak.now() and gid not in self.amiss:
                self.amiss.add(gid)
                found.append(
                    _violation(soak, "one board per gathering", f"{gid}: never posted", subject)
                )
            return
        if len(shown) != 1 or shown[0].id != int(message_id):
            if gid not in self.amiss:
                self.amiss.add(gid)  # reported once
                found.append(
                    _violation(
                        soak, "one board per gathering", f"{gid}: {len(shown)} board(s)", subject
                    )
                )
            return
        seen = self.ended_seen.get(gid)
        if seen == float("inf"):
            return  # reported already
        due = final or (seen is not None and time.monotonic() - seen > BOARD_GRACE_S)
        if row["live"] is None and due and ENDED_TEXT not in shown[0].text:
            found.append(
                _violation(
                    soak,
                    "an ended gathering's board says so",
                    f"gathering {gid} ended {row['ended_at']}; its board still shows it live",
                    subject,
                )
            )
            self.ended_seen[gid] = float("inf")  # reported once

    async def _boards_settle(
        self, soak: Soak, rows: Sequence[Any], by_channel: dict[int, str]
    ) -> None:
        """At the end: give boards of gatherings that just ended a moment to be edited."""
        deadline = time.monotonic() + BOARD_GRACE_S
        while time.monotonic() < deadline:
            boards = _boards(soak, by_channel)
            if all(
                r["live"] is not None
                or any(
                    ENDED_TEXT in m.text
                    for m in boards.get((int(r["channel_id"]), int(r["id"])), [])
                )
                for r in rows
            ):
                return
            await asyncio.sleep(0.1)

    def _check_turns(
        self, soak: Soak, gid: int, g: Gathering, subject: str, found: list[Violation]
    ) -> None:
        def broken(invariant: str, detail: str, *more: str) -> None:
            found.append(_violation(soak, invariant, f"gathering {gid}: {detail}", subject, *more))

        presses = self.presses.get(gid, [])
        for p in presses:
            n = sum(1 for t in g.turns if t.end is p.kind and p.lo <= t.ended_at <= p.hi)
            if not p.least <= n <= p.most:
                broken(
                    "a Done/Pass moves the piece once",
                    f"{p.kind.value} pressed ×{p.clicks} at {p.lo:%H:%M:%S} ended {n} turn(s)",
                    p.member,
                )
        for t in g.turns:
            if t.end in (TurnEnd.DONE, TurnEnd.PASSED) and not any(
                p.kind is t.end and p.lo <= t.ended_at <= p.hi for p in presses
            ):
                broken(
                    "a Done/Pass moves the piece once",
                    f"a turn ended as {t.end.value} at {t.ended_at:%H:%M:%S} with no such press",
                )
        known = self.started.get(gid)
        share = known.share if known else g.options.share
        if share is not None:
            for t in g.turns:
                if t.end is TurnEnd.TIMED_OUT and t.length < share:
                    broken("a timed share ends on time", f"timed out after {t.length}")
                elif t.length > share + LATE:
                    broken("a timed share ends on time", f"a share lasted {t.length}")
        if not g.options.open_floor_after and g.began_at is not None:
            starts = [t.started_at for t in g.turns]
            ends = [g.began_at, *(t.ended_at for t in g.turns[:-1])]
            if g.turn != len(g.turns) or starts != ends:
                broken(
                    "no skipped or doubled turn",
                    f"turn counter {g.turn}, {len(g.turns)} turn(s) taken, "
                    f"{sum(a != b for a, b in zip(starts, ends, strict=True))} gap(s)",
                )

    def _tally_end(self, g: Gathering) -> None:
        for t in g.turns:
            self.tally.turn_ends[t.end.value] += 1
        if g.abandoned:
            self.tally.ends["idle expiry"] += 1
        elif (
            g.turns and g.turns[-1].ended_at == g.ended_at and g.turns[-1].end is not TurnEnd.ENDED
        ):
            self.tally.ends["going round"] += 1
        else:
            self.tally.ends["End"] += 1

    def figures(self) -> dict[str, float]:
        t = self.tally
        return {
            "talking-piece gatherings started": t.started,
            "talking-piece second starts refused": t.second_starts_refused,
            "talking-piece gatherings ended and checked": len(t.judged),
            **{f"talking-piece ended by {k}": v for k, v in sorted(t.ends.items())},
            "talking-piece Done/Pass presses": t.presses,
            "talking-piece double clicks": t.double_clicks,
            "talking-piece presses lost to a restart": t.excused,
            "talking-piece presses refused": t.refused,
            "talking-piece presses skipped (board not current)": t.stale_board,
            "talking-piece hands raised": t.hands,
            **{f"talking-piece turns {k}": v for k, v in sorted(t.turn_ends.items())},
        }


# -- planning -------------------------------------------------------------------------------
def _weekly(circle: CircleModel, start: datetime, end: datetime) -> list[datetime]:
    zone = ZoneInfo(circle.zone)
    found: list[datetime] = []
    day: date = start.astimezone(zone).date()
    while True:
        if day.weekday() == circle.talk_day:
            at = datetime.combine(day, circle.talk_time, tzinfo=zone).astimezone(UTC)
            if at >= end:
                return found
            if at > start:
                found.append(at)
        day += timedelta(days=1)


def _openings(schedule: RoundSchedule, start: datetime, end: datetime) -> list[datetime]:
    found: list[datetime] = []
    at = schedule.next_open_after(start)
    while at < end:
        found.append(at)
        at = schedule.next_open_after(at)
    return found


def _circle_of(gkey: str) -> str:
    return gkey.split("@", 1)[0]


def _pick(rng: Random, lo: datetime, hi: datetime, busy: Sequence[datetime]) -> datetime:
    """A moment in (lo, hi): a busy one (a check-in round opening somewhere, when kills and
    held locks strike) if there is one, else a random second."""
    inside = [b for b in busy if lo < b < hi]
    if inside and rng.random() < 0.5:
        return rng.choice(inside)
    span = max(1, int((hi - lo).total_seconds()) - 1)
    return lo + timedelta(seconds=rng.randint(1, span))


def _gathering(
    rng: Random, circle: CircleModel, at: datetime, busy: Sequence[datetime]
) -> Iterator[Draft]:
    """One gathering's events: start, joins, begin, the turns, a hand, perhaps an end."""
    others = [m for m in circle.members if m != circle.facilitator]
    if len(others) < 2:
        return
    gkey = f"{circle.key}@{at:%Y-%m-%d}"
    fac = circle.facilitator
    seated = rng.sample(others, min(len(others), rng.randint(3, 5)))
    minutes = rng.choice((None, 2, 3, 3))
    share = None if minutes is None else timedelta(minutes=minutes)
    then = "floor" if rng.random() < 0.25 else "end"
    order = rng.choice(("join", "join", "shuffled"))
    params = {"minutes": None if minutes is None else str(minutes), "order": order, "then": then}
    yield Draft(at, "start", (gkey, fac), params)
    t = at
    if rng.random() < 0.08:  # the facilitator starts it again a little later
        yield Draft(at + timedelta(seconds=rng.randint(5, 30)), "start", (gkey, fac), params)
        t += timedelta(seconds=30)
    for member in seated:
        t += timedelta(seconds=rng.randint(10, 50))
        yield Draft(t, "join", (gkey, member))
    t += timedelta(seconds=rng.randint(20, 60))
    yield Draft(t, "begin", (gkey, fac))
    raise_turn = rng.randrange(len(seated)) if then == "floor" or rng.random() < 0.5 else -1
    raiser = seated[rng.randrange(raise_turn)] if raise_turn > 0 else rng.choice(seated)
    stop = rng.randrange(len(seated)) if rng.random() < 0.1 else None  # they walk away
    end_early = rng.randrange(1, len(seated)) if then == "end" and rng.random() < 0.15 else None
    holders: list[str | None] = list(seated) if order == "join" else [None] * len(seated)
    passed: list[str | None] = []
    i = 0
    while i < len(holders):
        holder = holders[i]
        if i == stop:
            return
        window = share or timedelta(minutes=4)
        lo, hi = t + timedelta(seconds=10), t + window - timedelta(seconds=10)
        if i == raise_turn:
            yield Draft(_pick(rng, t, lo, ()), "raise", (gkey, raiser))
        if i == end_early:
            yield Draft(_pick(rng, lo, hi, busy), "end", (gkey, fac))
            return
        roll = rng.random()
        if share is not None and roll < 0.15:
            t += share  # says nothing: the share runs out by itself
        else:
            kind = "pass" if roll > 0.8 else "done"
            if kind == "pass" and i < len(seated):
                passed.append(holder)
            t = _pick(rng, lo, hi, busy)
            subjects = (gkey,) if holder is None else (gkey, holder)
            yield Draft(t, "turn", subjects, {"kind": kind, "twice": rng.random() < 0.06})
        i += 1
        if i == len(seated):
            holders += passed  # the last call comes back to those who passed
    if then == "floor":
        t += timedelta(seconds=rng.randint(10, 40))
        yield Draft(t, "turn", (gkey, raiser), {"kind": "done", "twice": False})
        t += timedelta(seconds=rng.randint(20, 90))
        if rng.random() < 0.7:  # else the floor is left open: the idle expiry ends it
            yield Draft(t, "end", (gkey, fac))


# -- reading Discord's side -----------------------------------------------------------------
def _message(soak: Soak, circle_key: str, message_id: int | None) -> Message | None:
    if message_id is None:
        return None
    for message in reversed(soak.channels[circle_key].record.messages):
        if message.id == message_id:
            return None if message.deleted else message
    return None


def _custom_ids(message: Message) -> list[str]:
    from bot.localdiscord.state import walk_components

    return [str(c.get("custom_id", "")) for c in walk_components(message.components)]


async def _board_showing(board: Message, gid: int, turn: int) -> bool:
    """Wait (wall time) until the board's Done button carries `turn`, as a member would."""
    wanted = f"talk:{gid}:done:{turn}"
    deadline = time.monotonic() + BOARD_PATIENCE_S
    while wanted not in _custom_ids(board):
        if time.monotonic() > deadline or board.deleted:
            return False
        await asyncio.sleep(0.03)
    return True


def _boards(soak: Soak, by_channel: dict[int, str]) -> dict[tuple[int, int], list[Message]]:
    """(Channel, gathering id) -> the public messages there carrying its board's buttons (by
    channel: SQLite may give a purged server's gathering id to a new one elsewhere)."""
    found: dict[tuple[int, int], list[Message]] = {}
    for channel_id, circle in by_channel.items():
        for message in soak.channels[circle].record.messages:
            if message.deleted or message.visible_to is not None or message.ephemeral:
                continue
            ids = {int(m.group(1)) for c in _custom_ids(message) if (m := BOARD_ID.match(c))}
            for gid in ids:
                found.setdefault((channel_id, gid), []).append(message)
    return found


def _refused(reply: Reply) -> bool:
    """A press answered with a private refusal (a follow-up after the acknowledgement)."""
    return any(m.ephemeral for m in reply.followups)


def _ended_since(g: Gathering | None, kind: TurnEnd, lo: datetime) -> bool:
    return g is not None and any(t.end is kind and t.ended_at >= lo for t in g.turns)


def _present_throughout(soak: Soak, server: int, since: datetime, until: datetime) -> bool:
    present = soak.server_presence(server)
    if not (present(since) and present(until)):
        return False
    return not any(
        left is not None and since <= left <= until for left, _ in soak.absences.get(server, [])
    )


def _violation(soak: Soak, invariant: str, detail: str, *subjects: str) -> Violation:
    return Violation(invariant, detail, subjects, soak.now())
