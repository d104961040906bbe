"""Faults over the year: the bot process killed (SIGKILL) at busy moments and started again
on the same database; another writer holding the database's write lock for seconds; members
closing and opening their DMs. (Discord's rate limits are on throughout, as the local server
enforces them.)"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from benchmarks.soak.checkins import WAVES
from benchmarks.soak.history import Draft, Event, Violation, stream
from benchmarks.soak.world import World
from bot.storage.database import Database

if TYPE_CHECKING:
    from benchmarks.soak.runner import Soak


FIRST_WAVE = WAVES[0]


class Faults:
    name = "faults"

    def __init__(
        self, kills_per_year: int = 60, locks_per_year: int = 24, dm_changes_per_year: int = 120
    ) -> None:
        self.per_year = (kills_per_year, locks_per_year, dm_changes_per_year)

    def plan(self, world: World, seed: int, start: datetime, end: datetime) -> Iterable[Draft]:
        rng = stream(seed, self.name)
        share = (end - start) / timedelta(days=365)
        kills, locks, dm_changes = (max(1, round(n * share)) for n in self.per_year)
        # Kills land on busy moments: a round opening somewhere (its timers, posts and the
        # first answers are in flight), a little after the clock reaches it.
        busy = sorted(
            {
                opening
                for circle in world.circles.values()
                for opening in _openings(circle.schedule, start, end)
            }
        )
        # Half at the opening itself (its timer's writes and posts), half at the first wave of
        # answers two minutes later (members' writes in flight).
        for at in sorted(rng.sample(busy, min(kills, len(busy)))):
            at += FIRST_WAVE if rng.random() < 0.5 else timedelta()
            yield Draft(at, "kill", ("bot",), {"after_s": round(rng.uniform(0.0, 0.6), 3)})
        for _ in range(locks):
            at = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
            at = rng.choice(busy) + FIRST_WAVE if rng.random() < 0.5 and busy else at
            yield Draft(at, "db-lock", ("database",), {"seconds": round(rng.uniform(2.0, 6.0), 1)})
        members = sorted(world.members)
        for _ in range(dm_changes):
            at = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
            who = rng.choice(members)
            yield Draft(at, "dms", (who,), {"closed": rng.random() < 0.5})

    async def seed(self, soak: Soak, db: Database) -> None:
        return None

    async def prepare(self, soak: Soak) -> None:
        return None

    async def perform(self, soak: Soak, event: Event) -> None:
        if event.action == "kill":
            await soak.kill_and_restart(float(event.params["after_s"]))
        elif event.action == "db-lock":
            await soak.hold_write_lock(float(event.params["seconds"]))
        elif event.action == "dms":
            closed = bool(event.params["closed"])
            soak.member(event.subjects[0]).dms_closed = closed
            if closed:
                soak.dms_ever_closed.add(event.subjects[0])

    async def check(self, soak: Soak, final: bool) -> list[Violation]:
        return []

    def figures(self) -> dict[str, float]:
        return {}


def _openings(schedule, start: datetime, end: datetime) -> list[datetime]:  # type: ignore[no-untyped-def]
    found = []
    at = schedule.next_open_after(start)
    while at < end:
        found.append(at)
        at = schedule.next_open_after(at)
    return found
