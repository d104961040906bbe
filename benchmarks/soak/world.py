"""The world a soak run lives in, drawn from a seed: servers, circles and members.

Everything here is plain data and pure functions of the seed, so a seed names one world.
Ids are the model's own (server 3, member 3.17); the runner maps them to the local server's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import time, timedelta

from bot.domain.schedule import RoundSchedule

# Both hemispheres, with and without daylight saving: the year crosses every kind of change.
ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "America/Santiago",  # southern: summer time from September to April
    "Europe/London",
    "Europe/Berlin",
    "Africa/Johannesburg",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",  # southern
    "Pacific/Auckland",  # southern
)
EVENING = (time(18, 30), time(19, 0))  # circles meet in the evening: many at once
DAY_PAIRS = ((0, 3), (1, 4), (2, 5), (0, 2), (1, 3), (3, 6))


@dataclass(frozen=True)
class WorldSpec:
    seed: int = 1
    servers: int = 10
    circles: int = 100  # shared out over the servers
    members: int = 2000  # shared out over the servers, then over their circles
    days: int = 365
    closed_dms: float = 0.05  # members whose DMs are closed from the start


@dataclass(frozen=True)
class CircleModel:
    key: str  # "c3.1": server 3's second circle
    server: int
    name: str
    zone: str
    schedule: RoundSchedule  # check-ins, twice a week in the evening
    talk_day: int  # the weekly talking-piece gathering
    talk_time: time
    members: tuple[str, ...]
    facilitator: str


@dataclass(frozen=True)
class MemberModel:
    key: str  # "m3.17"
    server: int
    name: str
    circle: str
    dms_closed: bool


@dataclass
class World:
    spec: WorldSpec
    members: dict[str, MemberModel] = field(default_factory=dict)
    circles: dict[str, CircleModel] = field(default_factory=dict)

    def server_circles(self, server: int) -> list[CircleModel]:
        return [c for c in self.circles.values() if c.server == server]

    def server_members(self, server: int) -> list[MemberModel]:
        return [m for m in self.members.values() if m.server == server]

    @property
    def zones(self) -> set[str]:
        return {c.zone for c in self.circles.values()}


def build_world(spec: WorldSpec) -> World:
    rng = random.Random(f"{spec.seed}:world")
    world = World(spec)
    for s in range(spec.servers):
        circle_count = _share(spec.circles, spec.servers, s)
        member_count = _share(spec.members, spec.servers, s)
        people = [f"m{s}.{n}" for n in range(member_count)]
        for c in range(circle_count):
            key = f"c{s}.{c}"
            zone = ZONES[(s * circle_count + c) % len(ZONES)]
            mine = tuple(p for i, p in enumerate(people) if i % circle_count == c)
            schedule = RoundSchedule(
                rng.choice(DAY_PAIRS), rng.choice(EVENING), timedelta(hours=12), zone
            )
            world.circles[key] = CircleModel(
                key=key,
                server=s,
                name=f"Circle {s}-{c}",
                zone=zone,
                schedule=schedule,
                talk_day=rng.randrange(7),
                talk_time=rng.choice(EVENING),
                members=mine,
                facilitator=mine[0],
            )
            for person in mine:
                world.members[person] = MemberModel(
                    key=person,
                    server=s,
                    name=f"Member {person[1:]}",
                    circle=key,
                    dms_closed=rng.random() < spec.closed_dms,
                )
    return world


def _share(total: int, parts: int, index: int) -> int:
    """`total` split into `parts` as evenly as integers allow."""
    return total // parts + (1 if index < total % parts else 0)
