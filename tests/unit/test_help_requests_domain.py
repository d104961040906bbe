"""Help requests' rules: kinds, capacity, routing, caps, idle care, thanks, the time bank."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.help_requests import (
    ASKS_PER_DAY,
    MAX_OPEN_ASKS,
    ROUTE_LIMIT,
    THANKS_PER_DAY,
    Candidate,
    Capacity,
    CapacityState,
    CareAction,
    CareState,
    Flag,
    Kind,
    LedgerEntry,
    balance_flags,
    care_action,
    check_may_ask,
    check_may_thank,
    eligible,
    gini,
    ledger_of,
    next_care_at,
    parse_anonymous,
    parse_kinds,
    parse_minutes,
    parse_state,
    route,
    thread_title,
    validate_ask,
    validate_max_helps,
)
from bot.errors import ValidationError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def cap(member_id: int, state: str = "available", **kw: object) -> Capacity:
    return Capacity(member_id, CapacityState(state), **kw)  # type: ignore[arg-type]


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("practical", {Kind.PRACTICAL}),
        ("Practical, SOCIAL", {Kind.PRACTICAL, Kind.SOCIAL}),
        ("emot info", {Kind.EMOTIONAL, Kind.INFORMATIONAL}),
        ("", set(Kind)),
        (None, set(Kind)),
        ("all", set(Kind)),
        ("any", set(Kind)),
    ],
)
def test_parse_kinds(text: str | None, expected: set[Kind]) -> None:
    assert parse_kinds(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["cooking", "practical, rides", "all, everything"])
def test_parse_kinds_refuses_unknown_words_with_an_example(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_kinds(text)
    assert raised.value.example == "kinds:practical,social"


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("45", 45), ("45m", 45), ("1h", 60), ("1h30m", 90), ("2 hours", 120), ("90 min", 90)],
)
def test_parse_minutes(text: str, minutes: int) -> None:
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize("text", ["", "0", "-5", "abc", "25h", "1441", "h", "m"])
def test_parse_minutes_refuses(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_minutes(text)


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("no", False), ("yes", True)])
def test_parse_anonymous(value: str | None, expected: bool) -> None:
    assert parse_anonymous(value) is expected


def test_parse_anonymous_and_state_refuse_other_values() -> None:
    with pytest.raises(ValidationError):
        parse_anonymous("maybe")
    with pytest.raises(ValidationError):
        parse_state("busy")
    assert parse_state(" Resting ") is CapacityState.RESTING


@pytest.mark.parametrize("value", [0, 3, -1])
def test_max_helps_is_one_or_two(value: int) -> None:
    with pytest.raises(ValidationError):
        validate_max_helps(value)
    assert validate_max_helps(None) == 2 and validate_max_helps(1) == 1


@pytest.mark.parametrize(
    ("what", "when", "enough", "problem"),
    [
        ("", None, None, "What you need"),
        ("   ", "Tue", None, "What you need"),
        ("x" * 1001, None, None, "1,001 characters"),
        ("ride", "y" * 301, None, "When and where"),
        ("ride", None, "z" * 301, "What would be enough"),
    ],
)
def test_validate_ask_refuses(
    what: str, when: str | None, enough: str | None, problem: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_ask(what, when, enough)
    assert problem in raised.value.message and raised.value.example


def test_validate_ask_strips_and_drops_empty_optionals() -> None:
    text = validate_ask("  a ride  ", " ", "\n")
    assert (text.what, text.when, text.enough) == ("a ride", None, None)


@pytest.mark.parametrize(
    ("kind", "what", "title"),
    [
        (Kind.PRACTICAL, "A ride to my appointment", "Practical · A ride to my appointment"),
        (Kind.SOCIAL, "@everyone  come <@123> for\ntea", "Social · come for tea"),
        (Kind.EMOTIONAL, "<@&5>", "Emotional · a request"),
    ],
)
def test_thread_title(kind: Kind, what: str, title: str) -> None:
    assert thread_title(kind, what) == title


@given(st.sampled_from(list(Kind)), st.text(max_size=2000))
def test_thread_title_fits_discord_and_never_mentions(kind: Kind, what: str) -> None:
    title = thread_title(kind, what)
    assert 1 <= len(title) <= 100
    assert "@everyone" not in title and "@here" not in title and "<@" not in title


# -- capacity -------------------------------------------------------------------------------------


def test_capacity_lapses_after_its_last_day_and_limited_means_one() -> None:
    holding = cap(1, "available", until=TODAY)
    assert holding.current(TODAY) is CapacityState.AVAILABLE
    assert holding.current(TODAY + timedelta(days=1)) is None
    assert cap(1, "limited").cap() == 1 and cap(1, "available").cap() == 2
    assert cap(1, "available", max_helps=1).cap() == 1
    assert cap(1, "resting").resting(TODAY)


# -- routing --------------------------------------------------------------------------------------

ROUTING_CASES = [
    # (name, candidate, kind, eligible?)
    ("available, all kinds", Candidate(2, cap(2)), Kind.PRACTICAL, True),
    ("never set", Candidate(2, None), Kind.PRACTICAL, False),
    ("the asker", Candidate(1, cap(1)), Kind.PRACTICAL, False),
    ("resting", Candidate(2, cap(2, "resting")), Kind.PRACTICAL, False),
    ("lapsed", Candidate(2, cap(2, until=TODAY - timedelta(days=1))), Kind.PRACTICAL, False),
    ("until today still holds", Candidate(2, cap(2, until=TODAY)), Kind.PRACTICAL, True),
    (
        "other kinds only",
        Candidate(2, cap(2, kinds=frozenset({Kind.SOCIAL}))),
        Kind.PRACTICAL,
        False,
    ),
    ("at cap", Candidate(2, cap(2), open_helps=2), Kind.PRACTICAL, False),
    ("below cap", Candidate(2, cap(2), open_helps=1), Kind.PRACTICAL, True),
    ("limited with one open", Candidate(2, cap(2, "limited"), open_helps=1), Kind.PRACTICAL, False),
    ("limited, free", Candidate(2, cap(2, "limited")), Kind.PRACTICAL, True),
    ("own cap of one", Candidate(2, cap(2, max_helps=1), open_helps=1), Kind.SOCIAL, False),
    (
        "emotional cool-down",
        Candidate(2, cap(2), last_emotional_help_at=NOW - timedelta(hours=23)),
        Kind.EMOTIONAL,
        False,
    ),
    (
        "cool-down over",
        Candidate(2, cap(2), last_emotional_help_at=NOW - timedelta(hours=24)),
        Kind.EMOTIONAL,
        True,
    ),
    (
        "cool-down is for emotional asks only",
        Candidate(2, cap(2), last_emotional_help_at=NOW - timedelta(hours=1)),
        Kind.PRACTICAL,
        True,
    ),
]


@pytest.mark.parametrize(
    ("candidate", "kind", "expected"),
    [case[1:] for case in ROUTING_CASES],
    ids=[case[0] for case in ROUTING_CASES],
)
def test_eligible(candidate: Candidate, kind: Kind, expected: bool) -> None:
    assert eligible(candidate, kind, asker_id=1, now=NOW) is expected


def test_route_prefers_fewest_open_helps_then_least_recently_helped() -> None:
    long_ago, lately = NOW - timedelta(days=30), NOW - timedelta(days=1)
    candidates = [
        Candidate(10, cap(10), open_helps=1),
        Candidate(11, cap(11), last_helped_at=lately),
        Candidate(12, cap(12), last_helped_at=long_ago),
        Candidate(13, cap(13)),  # never helped: first among equals
        Candidate(14, cap(14, "resting")),
        Candidate(1, cap(1)),  # the asker
    ]
    assert route(Kind.PRACTICAL, 1, candidates, NOW) == [13, 12, 11, 10]


def test_route_tells_at_most_five() -> None:
    candidates = [Candidate(i, cap(i)) for i in range(2, 20)]
    assert route(Kind.SOCIAL, 1, candidates, NOW) == [2, 3, 4, 5, 6]


candidates_strategy = st.lists(
    st.builds(
        Candidate,
        member_id=st.integers(1, 40),
        capacity=st.one_of(
            st.none(),
            st.builds(
                Capacity,
                member_id=st.just(0),
                state=st.sampled_from(list(CapacityState)),
                until=st.one_of(st.none(), st.dates(date(2026, 11, 1), date(2026, 12, 31))),
                kinds=st.frozensets(st.sampled_from(list(Kind)), min_size=1),
                max_helps=st.integers(1, 2),
            ),
        ),
        open_helps=st.integers(0, 3),
        last_helped_at=st.one_of(st.none(), st.just(NOW - timedelta(days=2))),
        last_emotional_help_at=st.one_of(st.none(), st.just(NOW - timedelta(hours=3))),
    ),
    max_size=30,
    unique_by=lambda c: c.member_id,
)


@given(candidates_strategy, st.sampled_from(list(Kind)), st.integers(1, 40))
def test_route_properties(candidates: list[Candidate], kind: Kind, asker: int) -> None:
    chosen = route(kind, asker, candidates, NOW)
    by_id = {c.member_id: c for c in candidates}
    assert len(chosen) <= ROUTE_LIMIT and len(set(chosen)) == len(chosen)
    assert asker not in chosen
    for member_id in chosen:
        c = by_id[member_id]
        assert c.capacity is not None and not c.capacity.resting(TODAY)
        assert c.open_helps < c.capacity.cap()
        assert kind in c.capacity.kinds
    # No one left out has fewer open helps than someone chosen (load is spread).
    left_out = [
        c for c in candidates if eligible(c, kind, asker, NOW) and c.member_id not in chosen
    ]
    if left_out and chosen:
        assert min(c.open_helps for c in left_out) >= max(by_id[m].open_helps for m in chosen)


# -- asking caps --------------------------------------------------------------------------------


def test_open_ask_cap_and_daily_rate() -> None:
    check_may_ask(MAX_OPEN_ASKS - 1, [NOW - timedelta(hours=1)] * (ASKS_PER_DAY - 1), NOW)
    with pytest.raises(ValidationError, match="open asks"):
        check_may_ask(MAX_OPEN_ASKS, [], NOW)
    with pytest.raises(ValidationError, match="today"):
        check_may_ask(0, [NOW - timedelta(hours=h) for h in range(ASKS_PER_DAY)], NOW)
    # asks older than a day no longer count
    check_may_ask(0, [NOW - timedelta(days=1, minutes=1)] * 20, NOW)


# -- idle care ------------------------------------------------------------------------------------

T0 = NOW - timedelta(days=10)
CARE_CASES = [
    ("quiet, not yet due", CareState(NOW - timedelta(days=2), None, False), CareAction.NONE),
    ("quiet 3 days", CareState(NOW - timedelta(days=3), None, False), CareAction.ASK_STILL_NEEDED),
    ("asked, silence", CareState(T0, NOW - timedelta(days=3), False), CareAction.CLOSE),
    ("asked, not yet", CareState(T0, NOW - timedelta(days=1), False), CareAction.NONE),
    ("asked, flagged", CareState(T0, NOW - timedelta(days=3), True), CareAction.CARD_AGAIN),
    (
        "activity after asking starts again",
        CareState(NOW - timedelta(days=1), NOW - timedelta(days=4), False),
        CareAction.NONE,
    ),
    (
        "activity after asking, quiet again",
        CareState(NOW - timedelta(days=3), NOW - timedelta(days=5), False),
        CareAction.ASK_STILL_NEEDED,
    ),
    ("closed", CareState(T0, None, False, closed=True), CareAction.NONE),
]


@pytest.mark.parametrize(
    ("state", "action"), [c[1:] for c in CARE_CASES], ids=[c[0] for c in CARE_CASES]
)
def test_care_action(state: CareState, action: CareAction) -> None:
    assert care_action(state, NOW, idle_days=3) is action


@given(
    st.integers(0, 20),
    st.one_of(st.none(), st.integers(0, 20)),
    st.booleans(),
    st.integers(1, 10),
)
def test_care_is_due_exactly_at_next_care_at(
    active_days_ago: int, asked_days_ago: int | None, flagged: bool, idle: int
) -> None:
    state = CareState(
        NOW - timedelta(days=active_days_ago),
        None if asked_days_ago is None else NOW - timedelta(days=asked_days_ago),
        flagged,
    )
    due = next_care_at(state, idle)
    assert due is not None
    assert care_action(state, due - timedelta(seconds=1), idle) is CareAction.NONE
    assert care_action(state, due, idle) is not CareAction.NONE
    if flagged:
        assert care_action(state, due, idle) is not CareAction.CLOSE  # never auto-closed


# -- thanks ---------------------------------------------------------------------------------------


def test_thanks_caps() -> None:
    check_may_thank(1, 2, False, [3, 4])
    for giver, recipient, is_bot, given_today, problem in [
        (1, 1, False, [], "someone else"),
        (1, 2, True, [], "members"),
        (1, 2, False, [3] * THANKS_PER_DAY, "today"),
        (1, 2, False, [2], "already thanked"),
    ]:
        with pytest.raises(ValidationError, match=problem):
            check_may_thank(giver, recipient, is_bot, given_today)


# -- time bank and balance ------------------------------------------------------------------------


def test_ledger_counts_only_what_both_confirmed() -> None:
    entries = [
        LedgerEntry(1, 7, 30, 45),  # both: the smaller
        LedgerEntry(2, 7, None, 60),  # helper only: waits
        LedgerEntry(3, 7, 20, 20),
    ]
    mine = ledger_of(7, given=entries, received=[LedgerEntry(4, 8, 15, 15)])
    assert (mine.given_minutes, mine.received_minutes, mine.waiting, mine.balance) == (
        50,
        15,
        1,
        35,
    )


def test_balance_flags_carriers_and_only_givers() -> None:
    rows = balance_flags({1: (0, 8), 2: (1, 1), 3: (2, 2), 4: (3, 0), 5: (1, 3)})
    flags = {b.member_id: set(b.flags) for b in rows}
    assert flags[1] == {Flag.CARRYING, Flag.ONLY_GIVES}
    assert flags[2] == flags[3] == flags[4] == flags[5] == set()
    assert [b.member_id for b in rows] == [1, 5, 3, 2, 4]


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], 0.0), ([0, 0], 0.0), ([5, 5, 5], 0.0), ([0, 0, 0, 10], 0.75)],
)
def test_gini(values: list[float], expected: float) -> None:
    assert gini(values) == pytest.approx(expected)


@given(st.lists(st.integers(0, 50), min_size=1, max_size=60))
def test_gini_is_between_zero_and_one(values: list[int]) -> None:
    assert 0.0 <= gini(values) < 1.0
