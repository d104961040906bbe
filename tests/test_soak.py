"""The simulated year's runner (`benchmarks/soak/`): a month of it keeps every invariant,
its checks catch the breaks they are for, and a seed names one history.

The month runs the real bot process against the local Discord server, its clock moved by the
runner, SIGKILLed at busy moments and restarted, with the database's write lock held now and
then (see `benchmarks/bench_year.py` for the year).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.soak.activities import every_activity
from benchmarks.soak.checkins import NOTE, SUMMARY_TITLE, Checkins
from benchmarks.soak.faults import Faults
from benchmarks.soak.history import Draft, History, shortest_history
from benchmarks.soak.runner import Soak, explain, history_of, run_soak, utc
from benchmarks.soak.world import WorldSpec, build_world

MONTH_START = utc(2027, 3, 15)  # crosses Europe's spring change and the south's autumn one


def _descriptions(history: History) -> list[str]:
    return [e.describe() for e in history.events]


# -- a seed names one history -------------------------------------------------------------


def test_a_seed_draws_the_same_history_every_time_and_another_seed_another() -> None:
    spec = WorldSpec(seed=7, servers=3, circles=9, members=90, days=30)
    start, end = MONTH_START, MONTH_START + timedelta(days=30)

    def drawn(seed: int) -> list[str]:
        world = build_world(WorldSpec(**{**spec.__dict__, "seed": seed}))
        return _descriptions(history_of(every_activity(), world, start, end))

    first = drawn(7)
    assert first == drawn(7)
    assert len(first) > 100
    assert drawn(8) != first


def test_an_activity_draws_the_same_events_whatever_else_runs() -> None:
    """Each activity has its own stream: adding one never changes another's events."""
    world = build_world(WorldSpec(seed=3, servers=2, circles=4, members=40, days=20))
    start, end = MONTH_START, MONTH_START + timedelta(days=20)
    alone = history_of([Checkins()], world, start, end)
    together = history_of([Faults(), Checkins()], world, start, end)
    assert _descriptions(alone) == [
        e.describe() for e in together.events if e.activity == "checkins"
    ]


@pytest.mark.parametrize(
    ("subjects", "until_day", "expected"),
    [
        # the circle's own events, and the fault that struck between them
        (("c0",), 9, ["answer c0,m1", "kill bot", "answer c0,m2"]),
        # up to the moment of the break only
        (("c0",), 4, ["answer c0,m1"]),
        # a member's events across circles; faults before their first event are left out
        (("m3",), 30, ["answer c1,m3"]),
        # nothing of its own (a timer's work): the faults up to the break tell it
        (("c7",), 6, ["kill bot", "kill bot"]),
        ((), 30, []),
    ],
)
def test_the_shortest_history_keeps_the_subjects_events_and_the_faults_among_them(
    subjects: tuple[str, ...], until_day: int, expected: list[str]
) -> None:
    day = MONTH_START
    history = History(
        [
            ("faults", Draft(day + timedelta(days=1), "kill", ("bot",))),
            ("checkins", Draft(day + timedelta(days=2), "answer", ("c0", "m1"))),
            ("checkins", Draft(day + timedelta(days=3), "answer", ("c1", "m9"))),
            ("faults", Draft(day + timedelta(days=5), "kill", ("bot",))),
            ("checkins", Draft(day + timedelta(days=8), "answer", ("c0", "m2"))),
            ("checkins", Draft(day + timedelta(days=20), "answer", ("c1", "m3"))),
        ]
    )
    story = shortest_history(history.events, subjects, day + timedelta(days=until_day))
    assert [f"{e.action} {','.join(e.subjects)}" for e in story] == expected


def test_what_befell_the_whole_server_is_part_of_the_story_and_of_the_replay() -> None:
    """A break about an ask (whose events name its circle and asker) is told with the bot's
    removal from that server, which purges it, and not with another server's."""
    day = MONTH_START
    history = History(
        [
            ("help", Draft(day + timedelta(days=1), "ask", ("c8.1", "m8.151", "ask-x"))),
            ("membership", Draft(day + timedelta(days=2), "remove-bot", ("s8",))),
            ("membership", Draft(day + timedelta(days=3), "remove-bot", ("s2",))),
            ("membership", Draft(day + timedelta(days=4), "demote", ("m8.1", "s8"))),
            ("faults", Draft(day + timedelta(days=5), "kill", ("bot",))),
            ("membership", Draft(day + timedelta(days=20), "invite-bot", ("s8",))),
        ]
    )
    story = shortest_history(history.events, ("ask-x",), day + timedelta(days=21))
    told = ["ask c8.1,m8.151,ask-x", "remove-bot s8", "kill bot", "invite-bot s8"]
    assert [f"{e.action} {','.join(e.subjects)}" for e in story] == told
    replayed = history.keeping(("ask-x",))
    assert [f"{e.action} {','.join(e.subjects)}" for e in replayed.events] == told


# -- the checks catch what they are for --------------------------------------------------


@pytest.fixture
async def played(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A few days of two circles, played to the end and left open for tampering."""
    world = build_world(WorldSpec(seed=5, servers=1, circles=2, members=16, days=6))
    activities = [Checkins(participation=0.9)]
    soak = Soak(world, activities, tmp_path, MONTH_START)
    soak.quiet = True
    history = history_of(activities, world, soak.start, soak.end)
    try:
        await soak.setup()
        await soak.play(history)
        yield soak, history
    finally:
        await soak.teardown()


async def test_a_played_world_holds_and_each_tampering_is_caught(played) -> None:  # type: ignore[no-untyped-def]
    soak, history = played
    assert soak.violations == [], [v.detail for v in soak.violations]
    checkins = soak.activities["checkins"]
    assert isinstance(checkins, Checkins)
    assert checkins.tally.answers_acked > 5
    assert len(checkins.tally.checked_rounds) >= 2

    def broken() -> set[str]:
        return {v.invariant for v in soak.violations}

    # A summary lost from the channel.
    channel = next(iter(soak.channels.values()))
    summary = next(
        m for m in channel.record.messages if m.embeds and SUMMARY_TITLE in str(m.embeds[0])
    )
    summary.deleted = True
    await soak.check(final=True)
    assert "one summary per closed round" in broken()
    found = len(soak.violations)
    await soak.check(final=True)  # a lasting break, found again by the next day's check
    assert len(soak.violations) == found  # is kept once, as first seen
    summary.deleted = False

    # An acknowledged answer lost from the database (checked when its round is checked).
    soak.violations.clear()
    checkins.tally.checked_rounds.clear()
    assert soak.db is not None
    async with soak.db.transaction() as tx:
        await tx.execute(
            "DELETE FROM checkins WHERE round_id = (SELECT MIN(round_id) FROM checkins)"
        )
    await soak.check(final=True)
    assert broken() == {"acknowledged answer kept"}

    # A note its author kept to themselves, shown in the circle's channel.
    soak.violations.clear()
    private = next(n for n, (_, _, vis) in checkins.notes.items() if vis.value == "self")
    leak = replace(summary, id=summary.id + 1, content=f"leaked: {private}", embeds=[])
    channel.record.messages.append(leak)
    await soak.check(final=True)
    assert "shown only as chosen" in broken()
    story = explain(soak.violations[-1], history, soak.world.spec.seed)
    assert "seed 5" in story and "checkins.answer" in story
    assert NOTE.search(soak.violations[-1].detail) is None  # ids only: not the note itself

    # Member text in the bot's log.
    soak.violations.clear()
    soak.bot.lines.append(f"INFO something {private}")
    await soak.check(final=True)
    assert "no member text in the log" in broken()


# -- a month of everything ----------------------------------------------------------------


@pytest.mark.timeout(1500)
async def test_a_simulated_month_keeps_every_invariant(tmp_path: Path) -> None:
    world = build_world(WorldSpec(seed=11, servers=4, circles=20, members=400, days=30))
    soak, history, _ = await run_soak(world, every_activity(), tmp_path, MONTH_START)
    failures = [explain(v, history, world.spec.seed) for v in soak.violations]
    assert not failures, "\n".join(failures[:10])
    assert soak.figures.kills >= 3
    assert soak.figures.locks >= 1
    assert soak.figures.acknowledged > 200
