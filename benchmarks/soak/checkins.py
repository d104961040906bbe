"""Scheduled check-in rounds in the soak: circles seeded with their schedules, members
answering in overlapping waves (some clicking twice), and the invariants of a round.

Invariants:
- every slot of a circle's schedule (while the bot is in the server) opened exactly once,
  with one prompt; every round past its closing time closed, with one summary;
- every acknowledged answer is in the round when it closes (the member's last one);
- a note is shown only as its author chose: "just me" nowhere but to them, "facilitators
  only" only in the facilitators' post, "the circle" only in the circle's channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from benchmarks.soak.history import Draft, Event, Violation, stream
from benchmarks.soak.world import CircleModel, World
from bot.domain.checkins import Visibility
from bot.storage.database import Database
from bot.storage.repositories import circles as circles_repo
from bot.storage.repositories import jobs as jobs_repo
from bot.storage.repositories.jobs import StoredJob
from bot.timeutil import from_db

if TYPE_CHECKING:
    from benchmarks.soak.runner import Soak

PROMPT_TITLE = "Check-in — "
SUMMARY_TITLE = "Check-in closed — "
FACILITATORS_TITLE = "For facilitators — "
SAVED = "Your check-in is "
NOTE = re.compile(r"note-[0-9a-f]{10}")
REMINDER = "A gentle reminder"
REMINDED = re.compile(r"discord\.com/channels/\d+/\d+/(\d+)")
WAVES = (timedelta(minutes=2), timedelta(hours=1), timedelta(hours=5))  # after opening
# How late past its time a round may open or close before it counts as missed (the bot may
# have been killed at that moment: its restart and catch-up take a moment of simulated time).
LATE = timedelta(minutes=30)


@dataclass
class Acked:
    at: datetime
    member: str
    mood: int
    note: str
    visibility: Visibility


@dataclass
class CheckinFigures:
    answers_sent: int = 0
    answers_acked: int = 0
    checked_rounds: set[int] = field(default_factory=set)


class Checkins:
    name = "checkins"

    def __init__(self, participation: float = 0.12, reminders: float = 0.1) -> None:
        self.participation = participation
        self.reminders = reminders  # the share of members who turn reminders on
        self.acked: dict[int, dict[str, Acked]] = {}  # prompt message id -> member -> last
        self.notes: dict[str, tuple[str, str, Visibility]] = {}  # note -> member, circle, vis.
        self.tally = CheckinFigures()
        self._scanned: dict[int, int] = {}  # channel id -> messages already scanned
        self._dm_scanned: dict[int, int] = {}  # DM channel id -> messages already scanned
        self.reminded: dict[tuple[int, int], int] = {}  # (user id, prompt id) -> reminder DMs

    # -- the history ----------------------------------------------------------------------
    def plan(self, world: World, seed: int, start: datetime, end: datetime) -> Iterable[Draft]:
        rng = stream(seed, self.name)
        for member in sorted(world.members):
            if rng.random() < self.reminders:
                at = start + timedelta(hours=rng.uniform(0, 48))
                yield Draft(at, "reminders", (world.members[member].circle, member))
        for circle in world.circles.values():
            opening = circle.schedule.next_open_after(start)
            while opening < end:
                for wave in WAVES:
                    answering = [
                        m for m in circle.members if rng.random() < self.participation / len(WAVES)
                    ]
                    for member in answering:
                        yield Draft(
                            opening + wave,
                            "answer",
                            (circle.key, member),
                            {
                                "mood": rng.randint(1, 5),
                                "visibility": rng.choice(list(Visibility)).value,
                                "note": f"note-{rng.getrandbits(40):010x}",
                                "twice": rng.random() < 0.05,  # a double click
                            },
                        )
                opening = circle.schedule.next_open_after(opening)

    # -- the world's first rows -----------------------------------------------------------
    async def seed(self, soak: Soak, db: Database) -> None:
        start = soak.now()
        async with db.transaction() as tx:
            for model in soak.world.circles.values():
                guild = soak.guilds[model.server]
                circle = await circles_repo.create(
                    tx, guild.id, model.name, soak.channels[model.key].id, model.zone, start
                )
                soak.circle_ids[model.key] = circle.id
                for key in model.members:
                    await circles_repo.add_member(tx, circle, soak.members[key].id, start)
                await circles_repo.note_facilitator(
                    tx, circle, soak.members[model.facilitator].id, start
                )
                await circles_repo.set_schedule(tx, circle.id, model.schedule)
                first = model.schedule.next_open_after(start)
                await jobs_repo.upsert(
                    tx,
                    StoredJob(
                        f"checkin-open:{circle.id}",
                        "checkin-open",
                        first,
                        {"circle_id": circle.id},
                        guild.id,
                    ),
                )

    async def prepare(self, soak: Soak) -> None:
        return None

    # -- members acting -------------------------------------------------------------------
    async def perform(self, soak: Soak, event: Event) -> None:
        circle_key, member_key = event.subjects
        if not soak.present(member_key):
            return
        member = soak.member(member_key)
        if event.action == "reminders":
            channel = soak.channels[circle_key]
            await soak.interact(member.run("/checkin reminders", channel=channel, setting="on"))
            return
        prompt = _latest(soak, circle_key, PROMPT_TITLE)
        if prompt is None:
            return  # no round yet (the server's data was purged, or the bot is restarting)
        note = soak.wrote(str(event.params["note"]))
        visibility = Visibility(str(event.params["visibility"]))
        self.notes[note] = (member_key, circle_key, visibility)
        tries = 2 if event.params.get("twice") else 1
        for _ in range(tries):
            self.tally.answers_sent += 1
            form = await soak.interact(member.click("Check in", message=prompt))
            if form is None or form.modal is None:
                continue  # closed round, or refused: nothing was promised
            done = await soak.interact(
                member.submit(
                    form,
                    {
                        "Mood": str(event.params["mood"]),
                        "Note": note,
                        "Who sees this": visibility.value,
                    },
                )
            )
            if done is not None and SAVED in done.text:
                self.tally.answers_acked += 1
                self.acked.setdefault(prompt.id, {})[member_key] = Acked(
                    soak.now(), member_key, int(event.params["mood"]), note, visibility
                )

    # -- invariants -----------------------------------------------------------------------
    async def check(self, soak: Soak, final: bool) -> list[Violation]:
        found: list[Violation] = []
        now = soak.now()

        def broken(invariant: str, detail: str, *subjects: str) -> None:
            found.append(Violation(invariant, detail, subjects, now))

        for model in soak.world.circles.values():
            await self._check_circle(soak, model, now, broken)
        self._check_visibility(soak, broken)
        await self._check_reminders(soak, broken)
        return found

    async def _check_reminders(self, soak: Soak, broken) -> None:  # type: ignore[no-untyped-def]
        """One reminder DM per member and round at most; and one for every reminder the bot
        delivered to a member who never answered that round and whose DMs were always open."""
        sent = self.reminded  # (user id, prompt message id) -> reminder DMs, kept up to date
        doubled: set[tuple[int, int]] = set()
        for record in list(soak.server.state.channels.values()):
            if record.recipient is None:
                continue
            start = self._dm_scanned.get(record.id, 0)
            for message in record.messages[start:]:
                if REMINDER in message.content:
                    for prompt_id in REMINDED.findall(message.content):
                        key = (record.recipient.id, int(prompt_id))
                        sent[key] = sent.get(key, 0) + 1
                        if sent[key] > 1:
                            doubled.add(key)
            self._dm_scanned[record.id] = len(record.messages)
        for user_id, _ in doubled:
            who = soak.key_of(user_id) or "?"
            broken("no DM doubled", "a member got two reminders for one round", who)
        rows = await soak.read(
            "SELECT o.user_id, r.message_id FROM outbox o JOIN rounds r "
            "ON r.id = CAST(json_extract(o.payload, '$.round_id') AS INTEGER) "
            "WHERE o.kind = 'checkin-reminder' AND o.delivered_at IS NOT NULL "
            "AND r.message_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM checkins c "
            "WHERE c.round_id = r.id AND c.user_id = o.user_id)"
            if soak.database_url is None
            else "SELECT o.user_id, r.message_id FROM outbox o JOIN rounds r "
            "ON r.id = (o.payload::json->>'round_id')::bigint "
            "WHERE o.kind = 'checkin-reminder' AND o.delivered_at IS NOT NULL "
            "AND r.message_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM checkins c "
            "WHERE c.round_id = r.id AND c.user_id = o.user_id)"
        )
        for row in rows:
            who = soak.key_of(int(row["user_id"]))
            if who is None or who in soak.dms_ever_closed or who in soak.left:
                continue
            if (int(row["user_id"]), int(row["message_id"] or 0)) not in sent:
                broken("no owed post or DM lost", "a delivered reminder is not in the DMs", who)

    async def _check_circle(self, soak: Soak, model: CircleModel, now: datetime, broken) -> None:  # type: ignore[no-untyped-def]
        present = soak.server_presence(model.server)
        if not present(now):
            return  # the bot is not in the server now: its rounds are checked when it is back
        if model.server in soak.purged:
            return  # the server's data was purged after the grace period: nothing to hold
        circle_id = soak.circle_ids[model.key]
        rows = await soak.read(
            "SELECT id, slot, opened_at, closed_at, message_id FROM rounds WHERE circle_id = ? ORDER BY slot",
            (circle_id,),
        )
        channel = soak.channels[model.key]
        messages = [m for m in channel.record.messages if not m.deleted and m.visible_to is None]
        prompts = [m for m in messages if _title(m).startswith(PROMPT_TITLE)]
        summaries = [m for m in messages if _title(m).startswith(SUMMARY_TITLE)]
        slots = [from_db(r["slot"]) for r in rows]
        if len(set(slots)) != len(slots):
            broken("round opened once", f"circle {circle_id}: a slot opened twice", model.key)
        away = [r for r in rows if not present(from_db(r["slot"]))]
        if away:
            broken(
                "no round while the bot is out of the server",
                f"circle {circle_id}: {len(away)} round(s) opened while removed",
                model.key,
            )
        expected = _slots(model, soak.start, now - LATE)
        missing = [s for s in expected if s not in slots and present(s)]
        if missing:
            broken(
                "round opened once",
                f"circle {circle_id}: {len(missing)} slot(s) never opened, first {missing[0]:%Y-%m-%d %H:%M}",
                model.key,
            )
        # Rounds whose slot fell while the bot was away need not have a prompt in the channel.
        owed = [r for r in rows if present(from_db(r["slot"]))]
        posted = {r["message_id"] for r in rows if r["message_id"] is not None}
        shown = {m.id for m in prompts}
        # (A prompt just posted may not be recorded on its round yet: only a surplus counts.)
        unrecorded = shown - posted
        if (unrecorded and len(prompts) > len(rows)) or any(
            r["message_id"] not in shown for r in owed if from_db(r["slot"]) < now - LATE
        ):
            broken(
                "one prompt per round",
                f"circle {circle_id}: {len(rows)} round(s), {len(prompts)} prompt(s)",
                model.key,
            )
        closed = [r for r in rows if r["closed_at"] is not None]
        # A round that closed while the bot was away from the server could not post its summary.
        settled_closed = [
            r
            for r in closed
            if from_db(r["closed_at"]) < now - LATE and present(from_db(r["closed_at"]))
        ]
        if len(summaries) > len(closed) or len(summaries) < len(settled_closed):
            broken(
                "one summary per closed round",
                f"circle {circle_id}: {len(closed)} closed, {len(summaries)} summaries",
                model.key,
            )
        for row in rows:
            if (
                row["closed_at"] is None
                and from_db(row["opened_at"]) + model.schedule.close_after + LATE < now
            ):
                broken("no round stuck open", f"round {row['id']} of circle {circle_id}", model.key)
        for row in closed:
            if row["id"] in self.tally.checked_rounds or row["message_id"] is None:
                continue
            self.tally.checked_rounds.add(row["id"])
            await self._check_answers(soak, model, int(row["id"]), int(row["message_id"]), broken)

    async def _check_answers(
        self, soak: Soak, model: CircleModel, round_id: int, prompt_id: int, broken
    ) -> None:  # type: ignore[no-untyped-def]
        promised = self.acked.get(prompt_id, {})
        if not promised:
            return
        rows = await soak.read(
            "SELECT user_id, mood, note, visibility FROM checkins WHERE round_id = ?", (round_id,)
        )
        stored = {int(r["user_id"]): r for r in rows}
        for key, acked in promised.items():
            if key in soak.erased and soak.erased.latest[key] >= acked.at:
                continue  # their data went with /privacy delete
            row = stored.get(soak.member(key).id)
            if row is None:
                broken(
                    "acknowledged answer kept",
                    f"round {round_id}: an answer is missing",
                    model.key,
                    key,
                )
                continue
            note = soak.cipher.decrypt_optional(row["note"])
            if (int(row["mood"]), note, str(row["visibility"])) != (
                acked.mood,
                acked.note,
                acked.visibility.value,
            ):
                broken(
                    "acknowledged answer kept",
                    f"round {round_id}: the last answer differs",
                    model.key,
                    key,
                )

    def _check_visibility(self, soak: Soak, broken) -> None:  # type: ignore[no-untyped-def]
        """Each note found in a message anywhere must be allowed there by its author's choice."""
        state = soak.server.state
        for channel_id, record in list(state.channels.items()):
            start = self._scanned.get(channel_id, 0)
            for message in record.messages[start:]:
                if message.deleted:
                    continue
                for note in NOTE.findall(_text(message)):
                    if note in self.notes and not self._allowed(soak, note, record, message):
                        member, circle, visibility = self.notes[note]
                        broken(
                            "shown only as chosen",
                            f"a note chosen for {visibility.value} appeared in channel {channel_id}",
                            circle,
                            member,
                        )
            self._scanned[channel_id] = len(record.messages)

    def _allowed(self, soak: Soak, note: str, record, message) -> bool:  # type: ignore[no-untyped-def]
        member_key, circle_key, visibility = self.notes[note]
        author = soak.member(member_key).id
        if message.visible_to == author or author in getattr(record, "recipients", ()):
            return True  # their own ephemeral answer, or their own DMs
        if record.id == soak.member(member_key).dm_channel.id:
            return True
        if visibility is Visibility.FACILITATORS:
            return _title(message).startswith(FACILITATORS_TITLE) or (
                message.visible_to is None
                and not _title(message)  # a continuation message
                and FACILITATORS_TITLE in "".join(_titles_before(record, message))
            )
        if visibility is Visibility.CIRCLE:
            channel = soak.channels[circle_key]
            return message.visible_to is None and record.id in (
                channel.id,
                *(t.id for t in channel.threads),
            )
        return False

    def figures(self) -> dict[str, float]:
        return {
            "check-in answers sent": self.tally.answers_sent,
            "check-in answers acknowledged": self.tally.answers_acked,
            "reminder DMs": sum(self.reminded.values()),
            "rounds closed and checked": len(self.tally.checked_rounds),
        }


def _slots(model: CircleModel, start: datetime, until: datetime) -> list[datetime]:
    """The circle's openings in (start, until], worked out here with zoneinfo alone rather than
    with the bot's schedule code, so that a daylight-saving slip in that code shows up.
    (Evening times never fall in a gap or an overlap: those are at night.)"""
    zone = ZoneInfo(model.zone)
    found = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    while True:
        if day.weekday() in model.schedule.days:
            local = datetime.combine(day, model.schedule.time, tzinfo=zone)
            at = local.astimezone(UTC)
            if at > until:
                return found
            if at > start:
                found.append(at)
        day += timedelta(days=1)


def _title(message) -> str:  # type: ignore[no-untyped-def]
    return str(message.embeds[0].get("title", "")) if message.embeds else ""


def _text(message) -> str:  # type: ignore[no-untyped-def]
    parts = [message.content]
    for embed in message.embeds:
        parts += [str(embed.get("title", "")), str(embed.get("description", ""))]
        parts += [f"{f.get('name')} {f.get('value')}" for f in embed.get("fields", [])]
    return "\n".join(parts)


def _titles_before(record, message) -> list[str]:  # type: ignore[no-untyped-def]
    index = record.messages.index(message)
    return [_title(m) for m in record.messages[max(0, index - 3) : index]]


def _latest(soak: Soak, circle_key: str, title: str):  # type: ignore[no-untyped-def]
    channel = soak.channels[circle_key]
    for message in reversed(channel.record.messages):
        if not message.deleted and message.visible_to is None and _title(message).startswith(title):
            return message
    return None
