"""The soak's talking-piece history: drawn from the seed alone, one gathering per circle and
week at the circle's local time, and each gathering's events strictly in order (two events
of one gathering never share a moment, so a press is judged by the moment it was made)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

from benchmarks.soak.runner import utc
from benchmarks.soak.talking_piece import TalkingPiece
from benchmarks.soak.world import WorldSpec, build_world

START = utc(2027, 3, 1)  # the month crosses the northern spring change and the southern autumn one
END = START + timedelta(days=56)


def drafts(seed: int = 3) -> list:  # type: ignore[type-arg]
    world = build_world(WorldSpec(seed=seed, servers=2, circles=8, members=80, days=56))
    return list(TalkingPiece().plan(world, seed, START, END))


def test_the_same_seed_draws_the_same_gatherings() -> None:
    assert drafts() == drafts()
    assert drafts() != drafts(seed=4)


def test_one_gathering_a_week_per_circle_at_its_local_time() -> None:
    world = build_world(WorldSpec(seed=3, servers=2, circles=8, members=80, days=56))
    first: dict[str, object] = {}
    for d in drafts():
        if d.action == "start":
            first.setdefault(d.subjects[0], d.at)  # (a second start comes a little later)
    starts = defaultdict(list)
    for gathering, at in first.items():
        starts[gathering.split("@")[0]].append(at)
    for key, circle in world.circles.items():
        days = sorted(starts[key])
        assert len(days) == 8
        for at in days:
            local = at.astimezone(ZoneInfo(circle.zone))
            assert (local.weekday(), local.time()) == (circle.talk_day, circle.talk_time)


def test_each_gatherings_events_are_strictly_in_order_and_start_with_its_start() -> None:
    by_gathering = defaultdict(list)
    for d in drafts():
        by_gathering[d.subjects[0]].append(d)
    kinds = set()
    for events in by_gathering.values():
        times = [d.at for d in events]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert events[0].action == "start"
        kinds |= {d.action for d in events}
        kinds |= {f"turn:{d.params['kind']}" for d in events if d.action == "turn"}
    assert kinds >= {"start", "join", "begin", "turn:done", "turn:pass", "raise", "end"}
