"""The soak's model of buddy pairing: who a cycle had to place, and what it cannot know."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from benchmarks.soak.buddies import Answers, Buddies, Change, CycleSeen
from benchmarks.soak.runner import Marks

START = datetime(2027, 1, 4, tzinfo=UTC)
DAY = timedelta(days=1)
ME = 42


def _cycle(number: int, placed: bool = True) -> CycleSeen:
    began = START + number * 14 * DAY
    return CycleSeen(
        number,
        "c0.0",
        f"slot-{number}",
        began,
        {1: {ME, 7}} if placed else {1: {7, 8}},
        set(),
        began + 14 * DAY + timedelta(milliseconds=1),  # the end job ran as the next started
    )


def _model(*changes: Change) -> Buddies:
    model = Buddies()
    model.changes["m"] = [Change(START, "join", True), *changes]
    return model


def test_an_acknowledged_join_leave_or_snooze_decides_and_an_unanswered_one_is_a_maybe() -> None:
    at = START + 3 * DAY
    assert _model()._active("m", at, [], ME) is True
    assert _model(Change(START + DAY, "leave", True))._active("m", at, [], ME) is False
    assert _model(Change(START + DAY, "leave", False))._active("m", at, [], ME) is None
    snoozed = Change(START + DAY, "snooze", True, date(2027, 1, 10))
    assert _model(snoozed)._active("m", at, [], ME) is False
    assert _model(snoozed)._active("m", START + 7 * DAY, [], ME) is True  # back on the 10th
    # At the very moment of the start, the order is unknown: a maybe.
    assert _model(Change(at, "leave", True))._active("m", at, [], ME) is None


def test_three_silent_cycles_pause_and_joining_again_resumes() -> None:
    cycles = [_cycle(n) for n in range(3)]
    model = _model()
    after = START + 42 * DAY  # the fourth cycle starts: the third ended "after" it
    assert model._active("m", START + 30 * DAY, cycles[:2], ME) is True
    assert model._active("m", after, cycles, ME) is False
    model.answers[(1, "m")] = Answers(last="connected")  # answering resets the count
    assert model._active("m", after, cycles, ME) is True
    model.answers[(1, "m")] = Answers(maybe=True)  # a click nobody answered: either
    assert model._active("m", after, cycles, ME) is None
    del model.answers[(1, "m")]
    assert model._active("m", after, [*cycles[:2], _cycle(2, placed=False)], ME) is True
    model.changes["m"].append(Change(START + 41 * DAY, "join", True))
    assert model._active("m", after, cycles, ME) is True


def test_marks_remember_when_a_member_was_first_added() -> None:
    now = [START]
    marks = Marks(lambda: now[0])
    marks.add("m1")
    now[0] = START + DAY
    marks |= {"m1", "m2"}
    marks.discard("m1")
    assert "m1" not in marks and marks.since == {"m1": START, "m2": START + DAY}


def test_the_history_holds_only_events_inside_the_run() -> None:
    """An event drawn past the end was never played and the run waited for it forever."""
    from benchmarks.soak.activities import every_activity
    from benchmarks.soak.runner import history_of
    from benchmarks.soak.world import WorldSpec, build_world

    world = build_world(WorldSpec(servers=2, circles=20, members=200, days=30))
    end = START + timedelta(days=30)
    history = history_of(every_activity(), world, START, end)
    assert history.events and all(START <= e.at < end for e in history.events)
