"""The talking piece's rules, without Discord or a database: table-driven cases and properties."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import talking_piece as tp
from bot.domain.talking_piece import Gathering, Mode, OnTimeout, Options, Order, Phase, TurnEnd
from bot.errors import ValidationError

T0 = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
FAC = 1
NAMES = {10: "Sam", 11: "kai", 12: "Noor", 13: "Ada", 14: "Bo"}
RNG = random.Random(4)


def gathering(*members: int, **options: object) -> Gathering:
    g = tp.start(Options(**options), FAC, T0)  # type: ignore[arg-type]
    for m in members:
        g = tp.join(g, m, NAMES.get(m, f"m{m}"), T0)
    return g


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def done(g: Gathering, minutes: float = 1, *, passed: bool = False) -> Gathering:
    assert g.holder is not None
    return tp.finish(g, g.holder, g.turn, at(minutes), passed=passed)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (Order.JOIN, [10, 11, 12]),
        (Order.ALPHABETICAL, [11, 12, 10]),  # kai, Noor, Sam: case does not matter
    ],
)
def test_a_round_goes_around_in_the_chosen_order(order: Order, expected: list[int]) -> None:
    g = tp.begin(gathering(10, 11, 12, order=order), T0, RNG)
    holders = []
    while g.live:
        holders.append(g.holder)
        g = done(g)
    assert holders == expected


def test_a_shuffled_round_seats_everyone_once_in_the_seeded_order() -> None:
    g = tp.begin(gathering(10, 11, 12, 13, order=Order.SHUFFLED), T0, random.Random(1))
    order = [g.holder, *g.queue]
    expected = [10, 11, 12, 13]
    random.Random(1).shuffle(expected)
    assert order == expected


def test_those_who_passed_get_a_last_call_then_the_round_ends() -> None:
    g = tp.begin(gathering(10, 11, 12), T0, RNG)
    g = done(g, passed=True)  # Sam passes
    g = done(g)  # kai speaks
    g = done(g, passed=True)  # Noor passes
    assert (g.phase, g.holder, g.queue) == (Phase.LAST_CALL, 10, (12,))
    g = done(g, passed=True)  # Sam passes again: no third chance
    g = done(g)  # Noor speaks this time
    assert g.phase is Phase.ENDED
    assert tp.closing(g) == tp.Closing(spoke=2, passed=1, length=timedelta(minutes=1))


def test_a_round_can_open_the_floor_to_raised_hands() -> None:
    g = tp.begin(gathering(10, 11, open_floor_after=True), T0, RNG)
    g = tp.raise_hand(g, 11, at(0.5))
    g = done(g)  # Sam done
    assert (g.phase, g.holder) == (Phase.ROUND, 11)
    g = done(g)  # kai done: nobody passed, the floor opens; kai's hand went with the turn
    assert (g.phase, g.holder) == (Phase.FLOOR, None)
    g = tp.raise_hand(g, 10, at(2))
    assert g.holder == 10  # an empty floor gives the piece to the first hand at once


def test_non_holder_done_is_refused_and_a_stale_press_changes_nothing() -> None:
    g = tp.begin(gathering(10, 11), T0, RNG)
    with pytest.raises(tp.TalkRefused, match="Sam holds it now"):
        tp.finish(g, 11, g.turn, at(1), passed=False)
    shown_turn = g.turn
    g = done(g)
    assert tp.finish(g, 10, shown_turn, at(1.1), passed=False) == g  # the double click


def test_a_progressive_stack_puts_those_not_yet_heard_first() -> None:
    g = tp.begin(gathering(10, 11, 12, mode=Mode.STACK, progressive=True), T0, RNG)
    g = tp.raise_hand(g, 10, at(1))  # Sam gets the piece at once
    g = tp.raise_hand(g, 11, at(2))
    g = done(g, 3)  # Sam heard; kai holds
    g = tp.raise_hand(g, 10, at(4))  # Sam again (heard)
    g = tp.raise_hand(g, 12, at(5))  # Noor (not heard) raised later
    assert [h.member_id for h in g.stack()] == [12, 10]
    g = done(g, 6)
    assert g.holder == 12


def test_a_plain_stack_goes_in_the_order_hands_went_up() -> None:
    g = tp.begin(gathering(10, 11, 12, mode=Mode.STACK), T0, RNG)
    g = tp.raise_hand(g, 10, at(1))
    g = tp.raise_hand(g, 11, at(2))
    g = tp.raise_hand(g, 12, at(3))
    g = done(g, 4)
    assert [g.holder, *g.upcoming()] == [11, 12]


@pytest.mark.parametrize(
    ("on_timeout", "holder", "overtime"), [(OnTimeout.NEXT, 11, False), (OnTimeout.WAIT, 10, True)]
)
def test_time_running_out(on_timeout: OnTimeout, holder: int, overtime: bool) -> None:
    g = tp.begin(gathering(10, 11, share=timedelta(minutes=3), on_timeout=on_timeout), T0, RNG)
    assert g.deadline == at(3) and g.nudge_at() == at(2.4)
    assert tp.time_up(g, g.turn, at(2.9)) == g  # early: nothing
    after = tp.time_up(g, g.turn, at(3))
    assert (after.holder, after.overtime) == (holder, overtime)
    assert tp.time_up(after, g.turn, at(3.5)) == after  # the same timer again: applied once


def test_facilitator_controls() -> None:
    g = tp.begin(gathering(10, 11, 12, 13, share=timedelta(minutes=2)), T0, RNG)
    g = tp.add_minute(g)
    assert g.deadline == at(3)
    g = tp.pause(g, at(1))
    assert (g.deadline, g.paused_left) == (None, timedelta(minutes=2))
    g = tp.add_minute(g)
    g = tp.resume(g, at(10))
    assert g.deadline == at(13)
    g = tp.move_next(g, 13)
    assert g.queue == (13, 11, 12)
    g = tp.skip(g, at(11))
    assert g.holder == 13 and g.turns[-1].end is TurnEnd.SKIPPED
    g = tp.hand_over(g, 11)
    assert g.facilitator_id == 11
    g = tp.end(g, at(12))
    assert g.phase is Phase.ENDED and g.turns[-1] == tp.Turn(13, at(11), at(12), TurnEnd.ENDED)
    with pytest.raises(tp.TalkRefused):
        tp.raise_hand(g, 10, at(13))


def test_a_member_who_leaves_drops_out_and_the_holder_leaving_moves_the_piece() -> None:
    g = tp.begin(gathering(10, 11, 12), T0, RNG)
    g = tp.leave(g, 11, at(1))
    assert g.queue == (12,)
    g = tp.leave(g, 10, at(2))
    assert g.holder == 12 and g.turns[-1].end is TurnEnd.LEFT


def test_a_latecomer_joins_the_end_of_the_round() -> None:
    g = tp.begin(gathering(10, 11), T0, RNG)
    g = tp.join(g, 12, "Noor", at(1))
    assert g.queue == (11, 12)


@pytest.mark.parametrize(
    ("kwargs", "refusal"),
    [
        ({"mode": "circle"}, "mode is round or stack"),
        ({"order": "height"}, "order is join"),
        ({"minutes": 0.1}, "minutes is each share"),
        ({"minutes": 61}, "minutes is each share"),
        ({"minutes": "three"}, "minutes is each share"),
        ({"minutes": "2h"}, "minutes is each share"),
        ({"mode": "stack", "order": "shuffled"}, "order is join or members"),
        ({"on_timeout": "soon"}, "when_time_is_up is next"),
        ({"then": "party"}, "then is end or floor"),
        ({"mode": "stack", "then": "floor"}, "a stack is an open floor"),
        ({"gather_minutes": 0}, "gather_minutes"),
    ],
)
def test_bad_options_are_refused_with_an_example(kwargs: dict[str, object], refusal: str) -> None:
    args: dict[str, object] = {"mode": None, "minutes": None, "order": None}
    args.update(kwargs)
    with pytest.raises(ValidationError, match=refusal) as caught:
        tp.parse_options(**args)  # type: ignore[arg-type]
    assert caught.value.example


def test_options_parse() -> None:
    options = tp.parse_options(
        "Stack", "2.5 min", "members", on_timeout="wait", progressive=True, gather_minutes=5
    )
    assert options == Options(
        Mode.STACK,
        Order.MEMBERS,
        timedelta(minutes=2.5),
        OnTimeout.WAIT,
        False,
        True,
        timedelta(minutes=5),
    )


@pytest.mark.parametrize(("typed", "seconds"), [("3", 180), ("90s", 90), ("1,5m", 90), (2, 120)])
def test_share_lengths_as_typed(typed: str | float, seconds: int) -> None:
    share = tp.parse_options(None, typed, None).share
    assert share == timedelta(seconds=seconds)


def test_the_gathering_time_begins_the_round_once() -> None:
    g = tp.start(Options(gather_for=timedelta(minutes=5)), FAC, T0)
    g = tp.join(g, 10, "Sam", at(1))
    assert tp.gathering_over(g, at(4), RNG) == g
    begun = tp.gathering_over(g, at(5), RNG)
    assert begun.holder == 10
    assert tp.gathering_over(begun, at(6), RNG) == begun


# -- properties: whatever members press, in whatever order


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["done", "pass", "raise", "lower", "join", "leave", "skip", "time"]),
        st.sampled_from([10, 11, 12, 13, 14]),
    ),
    max_size=40,
)


def _apply(g: Gathering, action: str, member: int, now: datetime) -> Gathering:
    try:
        if action in ("done", "pass"):
            return tp.finish(g, member, g.turn, now, passed=action == "pass")
        if action == "raise":
            return tp.raise_hand(g, member, now)
        if action == "lower":
            return tp.lower_hand(g, member)
        if action == "join":
            return tp.join(g, member, NAMES[member], now)
        if action == "leave":
            return tp.leave(g, member, now)
        if action == "skip":
            return tp.skip(g, now)
        return tp.time_up(g, g.turn, g.deadline or now)
    except tp.TalkRefused:
        return g


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(list(Mode)),
    progressive=st.booleans(),
    floor=st.booleans(),
    actions=ACTIONS,
)
def test_invariants_hold_whatever_members_press(
    mode: Mode, progressive: bool, floor: bool, actions: list[tuple[str, int]]
) -> None:
    g = tp.begin(
        gathering(
            10,
            11,
            12,
            mode=mode,
            progressive=progressive,
            share=timedelta(minutes=2),
            open_floor_after=floor and mode is Mode.ROUND,
        ),
        T0,
        RNG,
    )
    turns_seen = g.turn
    for step, (action, member) in enumerate(actions):
        g = _apply(g, action, member, at(step + 1))
        assert g.turn >= turns_seen  # turns only ever move forward
        turns_seen = g.turn
        seated = {s.member_id for s in g.seats}
        assert len(seated) == len(g.seats)  # seated once
        # the holder, the queue and the hands are all seated, and no one is queued twice
        assert g.holder is None or g.holder in seated
        assert set(g.queue) <= seated and len(set(g.queue)) == len(g.queue)
        assert g.holder not in g.queue
        assert {h.member_id for h in g.hands} <= seated
        assert len({h.member_id for h in g.hands}) == len(g.hands)
        assert g.holder is None or g.hand_of(g.holder) is None
        # a timed share has a deadline exactly while someone holds the piece (not paused)
        if g.holder is not None and not g.overtime:
            assert g.deadline == g.turn_started_at + timedelta(minutes=2)  # type: ignore[operator]
        if not g.live:
            assert g.holder is None and g.deadline is None


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=5),
    passes=st.lists(st.booleans(), min_size=10, max_size=10),
)
def test_a_round_gives_everyone_one_turn_and_passers_one_more(n: int, passes: list[bool]) -> None:
    members = list(NAMES)[:n]
    g = tp.begin(gathering(*members), T0, RNG)
    holders = []
    for passed in passes:
        if not g.live:
            break
        holders.append((g.holder, g.phase))
        g = done(g, passed=passed)
    assert not g.live
    first = [m for m, phase in holders if phase is Phase.ROUND]
    assert first == members
    passed_first = [
        m for (m, phase), p in zip(holders, passes, strict=False) if p and phase is Phase.ROUND
    ]
    assert [m for m, phase in holders if phase is Phase.LAST_CALL] == passed_first


def test_a_member_who_erases_their_data_leaves_no_id_or_name_and_the_piece_moves_on() -> None:
    g = tp.begin(gathering(10, 11, 12, share=timedelta(minutes=2)), T0, RNG)
    g = done(g, 1, passed=True)  # Sam passed: 11 holds
    g = tp.raise_hand(g, 12, at(1.5))
    g = tp.hand_over(g, 11)  # 11 also facilitates
    g = tp.forget(g, 10, at(2))  # Sam, who passed, is out of the last call
    assert not g.mentions(10) and 10 not in g.passed
    g = tp.forget(g, 11, at(3))  # the holder and facilitator: the piece moves on
    assert not g.mentions(11) and g.facilitator_id == 0
    assert g.holder == 12 and g.deadline == at(3) + timedelta(minutes=2)
    assert "Sam" not in repr(g) and "kai" not in repr(g)
    assert [t.member_id for t in g.turns] == [-1, -2]  # turns kept unnamed, one alias each
    assert set(g.airtime()) == set()  # no airtime for those who erased
    assert tp.closing(tp.end(g, at(4))).passed == 1  # the closing line still counts Sam's pass
    assert tp.forget(g, 99, at(4)) is g  # someone not in it: nothing changes


def test_the_last_member_erasing_ends_the_round() -> None:
    g = tp.begin(gathering(10), T0, RNG)
    g = tp.forget(g, 10, at(1))
    assert not g.live and not g.mentions(10) and not g.abandoned


def test_an_abandoned_gathering_ends_and_says_so_once() -> None:
    g = tp.begin(gathering(10, 11, share=timedelta(minutes=2)), T0, RNG)
    ended = tp.abandon(g, at(400))
    assert not ended.live and ended.abandoned and ended.holder is None
    assert ended.turns[-1].end is TurnEnd.ENDED
    assert tp.abandon(ended, at(800)) is ended  # already over: nothing changes
