"""Buddy pairing rules, as properties over random pools, histories and avoid lists."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.buddies import (
    EXACT_LIMIT,
    Costs,
    CycleSchedule,
    Pairing,
    PastGroup,
    Rules,
    age_cost,
    pair_members,
    parse_every,
)
from bot.errors import ValidationError

METHODS = ("small", "exact", "fast")


@st.composite
def pools(draw: st.DrawFn, min_size: int = 0, max_size: int = 8) -> dict[str, object]:
    n = draw(st.integers(min_size, max_size))
    members = list(range(100, 100 + n))
    pair = (
        st.tuples(st.sampled_from(members), st.sampled_from(members)) if members else st.nothing()
    )
    avoid = draw(st.lists(pair, max_size=n)) if members else []
    history = []
    if len(members) >= 2:
        groups = st.builds(
            PastGroup,
            st.lists(st.sampled_from(members), min_size=2, max_size=3, unique=True).map(frozenset),
            st.integers(1, 12),
            st.booleans(),
        )
        history = draw(st.lists(groups, max_size=3 * n))
    rules = Rules(window=draw(st.integers(1, 4)), horizon=draw(st.integers(5, 20)))
    return {"members": members, "avoid": avoid, "history": history, "rules": rules}


def _arrangements(rest: tuple[int, ...]) -> Iterator[list[tuple[int, ...]]]:
    if not rest:
        yield []
        return
    first, others = rest[0], rest[1:]
    for tail in _arrangements(others):
        yield [(first,), *tail]
    for i, a in enumerate(others):
        without_a = others[:i] + others[i + 1 :]
        for tail in _arrangements(without_a):
            yield [(first, a), *tail]
        for j in range(i + 1, len(others)):
            without_both = tuple(m for k, m in enumerate(others) if k not in (i, j))
            for tail in _arrangements(without_both):
                yield [(first, a, others[j]), *tail]


def brute_force(pool: dict[str, object]) -> tuple[int, Costs]:
    """The least objective over every valid arrangement, by enumeration."""
    costs = Costs.build(pool["members"], pool["avoid"], pool["history"], pool["rules"])  # type: ignore[arg-type]
    best = min(
        costs.total([g for g in arr if len(g) > 1], [g[0] for g in arr if len(g) == 1])
        for arr in _arrangements(costs.members)
        if all(costs.valid(g) for g in arr)
    )
    return best, costs


def run(pool: dict[str, object], method: str, seed: int = 0) -> Pairing:
    return pair_members(
        pool["members"],  # type: ignore[arg-type]
        avoid=pool["avoid"],  # type: ignore[arg-type]
        history=pool["history"],  # type: ignore[arg-type]
        rules=pool["rules"],  # type: ignore[arg-type]
        seed=seed,
        method=method,  # type: ignore[arg-type]
    )


def avoided(pool: dict[str, object]) -> set[frozenset[int]]:
    return {frozenset(p) for p in pool["avoid"] if p[0] != p[1]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool=pools(max_size=9), seed=st.integers(0, 3))
def test_everyone_is_placed_exactly_once_or_reported_lone_never_an_avoided_pair(
    method: str, pool: dict[str, object], seed: int
) -> None:
    result = run(pool, method, seed)
    placed = [m for g in result.groups for m in g] + list(result.lone)
    assert sorted(placed) == sorted(pool["members"])  # type: ignore[call-overload]
    assert all(2 <= len(g) <= 3 for g in result.groups)
    bad = avoided(pool)
    for group in result.groups:
        assert not any(frozenset((a, b)) in bad for a in group for b in group if a != b)


@settings(max_examples=150, deadline=None)
@given(pool=pools(max_size=7))
def test_small_pools_are_solved_exactly_as_brute_force(pool: dict[str, object]) -> None:
    """Lone, trios, repeats inside the window, trio twice running, age: all as the optimum."""
    best, _ = brute_force(pool)
    assert run(pool, "small").cost == best


@pytest.mark.parametrize("method", ("exact", "fast"))
@settings(max_examples=100, deadline=None)
@given(pool=pools(max_size=8), seed=st.integers(0, 3))
def test_a_certified_pairing_is_the_optimum(
    method: str, pool: dict[str, object], seed: int
) -> None:
    best, _ = brute_force(pool)
    result = run(pool, method, seed)
    assert result.cost >= best
    if result.certified:
        assert result.cost == best


@settings(max_examples=100, deadline=None)
@given(pool=pools(max_size=8), seed=st.integers(0, 3))
def test_the_matching_is_exact_when_everyone_can_be_paired(
    pool: dict[str, object], seed: int
) -> None:
    """Even pools with a perfect pairing: the blossom's answer costs what brute force finds,
    so a repeat inside the window happens only when every pairing has one."""
    best, costs = brute_force(pool)
    if len(costs.members) % 2 or best >= costs.trio_weight:
        return  # someone must be in a trio or alone: not a pure matching
    result = run(pool, "exact", seed)
    assert result.certified
    assert result.cost == best


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(EXACT_LIMIT + 1, EXACT_LIMIT + 100),
    seed=st.integers(0, 10**6),
    recent=st.integers(1, 4),
)
def test_large_pools_have_no_repeat_when_fresh_partners_abound(
    n: int, seed: int, recent: int
) -> None:
    """The fast method: each member met `recent` others in each recent cycle; a repeat-free
    pairing obviously exists, and the fast method finds one (and says it is optimal)."""
    members = list(range(n))
    history = [
        PastGroup(frozenset({m, (m + step * 7 + cycle) % n}), cycle)
        for cycle in range(1, 5)
        for m in members
        for step in range(1, recent + 1)
        if m != (m + step * 7 + cycle) % n
    ]
    avoid = [(m, (m * 13 + 5) % n) for m in members[::20]]
    result = pair_members(members, history=history, avoid=avoid, seed=seed, method="fast")
    assert result.repeats == 0 and not result.lone and result.trio_again == 0
    assert result.certified
    assert len([g for g in result.groups if len(g) == 3]) == n % 2


@settings(max_examples=60, deadline=None)
@given(pool=pools(max_size=30), seed=st.integers(0, 10**6))
def test_the_same_seed_gives_the_same_pairs(pool: dict[str, object], seed: int) -> None:
    assert run(pool, "exact", seed) == run(pool, "exact", seed)
    assert run(pool, "fast", seed) == run(pool, "fast", seed)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 40).filter(lambda n: n % 2 == 1), seed=st.integers(0, 100))
def test_an_odd_count_makes_exactly_one_trio(n: int, seed: int) -> None:
    result = pair_members(range(n), seed=seed)
    trios = [g for g in result.groups if len(g) == 3]
    assert (len(trios), result.lone) == ((1, ()) if n > 1 else (0, (0,)))


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=12, deadline=None)
@given(n=st.integers(3, 9).filter(lambda n: n % 2 == 1), seed=st.integers(0, 100))
def test_nobody_is_in_a_trio_two_cycles_running_when_avoidable(
    method: str, n: int, seed: int
) -> None:
    pool = {
        "members": list(range(n)),
        "avoid": [],
        "history": [PastGroup(frozenset({0, 1, 2}), 1)],
        "rules": Rules(),
    }
    result = run(pool, method, seed)
    trio = next(g for g in result.groups if len(g) == 3)
    least = brute_force_again(pool)
    assert result.trio_again == least
    assert least == {3: 3, 5: 1, 7: 1}.get(n, 0)  # repeats weigh more: 7 cannot avoid one
    assert n < 9 or set(trio).isdisjoint({0, 1, 2})


def brute_force_again(pool: dict[str, object]) -> int:
    """Members in a trio twice running, in the best arrangement (the objective's order)."""
    costs = Costs.build(pool["members"], pool["avoid"], pool["history"], pool["rules"])  # type: ignore[arg-type]
    best = min(
        (costs.total(arr), arr)
        for arr in _arrangements(costs.members)
        if all(costs.valid(g) for g in arr)
    )[1]
    return sum(1 for g in best if len(g) == 3 for m in g if m in costs.last_trio)


@pytest.mark.parametrize("method", METHODS)
def test_a_lone_member_is_reported_not_dropped(method: str) -> None:
    assert pair_members([7], method=method).lone == (7,)  # type: ignore[arg-type]
    everyone_avoids = pair_members([1, 2, 3, 4], avoid=[(1, 2), (3, 1), (1, 4)], method=method)  # type: ignore[arg-type]
    assert everyone_avoids.lone == (1,)
    assert everyone_avoids.groups == ((2, 3, 4),)


@given(k=st.integers(1, 60), met=st.booleans())
def test_older_pairings_cost_less_and_meeting_costs_more(k: int, met: bool) -> None:
    rules = Rules(window=4, horizon=52)
    assert age_cost(k + 1, met, rules) <= age_cost(k, met, rules)
    if k < rules.horizon:
        assert age_cost(k + 1, met, rules) < age_cost(k, met, rules)
    assert age_cost(k, False, rules) < age_cost(k, True, rules)


def _one_of_two(method: str, history: list[PastGroup]) -> Pairing:
    """Members 1-4 with 1-4 and 2-3 avoided: 1 goes with 2 or with 3, nothing else."""
    return pair_members(
        [1, 2, 3, 4],
        history=history,
        avoid=[(1, 4), (2, 3)],
        method=method,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("method", METHODS)
@given(recent=st.integers(5, 30), gap=st.integers(1, 30))
def test_the_older_pairing_is_chosen_over_the_recent_one(
    method: str, recent: int, gap: int
) -> None:
    """1 met 2 long ago and 3 more recently (both outside the window)."""
    history = [PastGroup(frozenset({1, 2}), recent + gap), PastGroup(frozenset({1, 3}), recent)]
    assert (1, 2) in _one_of_two(method, history).groups


@pytest.mark.parametrize("method", METHODS)
@given(age=st.integers(5, 30))
def test_a_pair_that_only_matched_is_chosen_over_one_that_met(method: str, age: int) -> None:
    history = [
        PastGroup(frozenset({1, 2}), age, met=False),
        PastGroup(frozenset({1, 3}), age, met=True),
    ]
    assert (1, 2) in _one_of_two(method, history).groups


@pytest.mark.parametrize("method", METHODS)
def test_a_repeat_inside_the_window_only_when_unavoidable(method: str) -> None:
    last_week = [PastGroup(frozenset({1, 2}), 1), PastGroup(frozenset({3, 4}), 1)]
    fresh = pair_members([1, 2, 3, 4], history=last_week, method=method)  # type: ignore[arg-type]
    assert fresh.repeats == 0 and (1, 2) not in fresh.groups
    forced = pair_members(
        [1, 2, 3, 4],
        history=last_week,
        avoid=[(1, 3), (1, 4)],
        method=method,  # type: ignore[arg-type]
    )
    assert forced.groups == ((1, 2), (3, 4)) and forced.repeats == 2


@pytest.mark.parametrize(
    ("typed", "weeks"), [("1w", 1), ("2w", 2), ("2 weeks", 2), ("weekly", 1), ("fortnightly", 2)]
)
def test_every_accepts_weeks(typed: str, weeks: int) -> None:
    assert parse_every(typed) == weeks


@pytest.mark.parametrize("typed", ["3x", "0w", "9w", "", "w", "2d"])
def test_every_refuses_with_an_example(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_every(typed)
    assert refused.value.example == "every:1w (or 2w)"


def test_cycles_keep_their_local_time_across_a_clock_change() -> None:
    schedule = CycleSchedule(1, 0, time(18, 0), "Europe/London")  # Mondays 18:00 London
    first = schedule.first_start_after(datetime(2026, 10, 20, tzinfo=UTC))
    assert first == datetime(2026, 10, 26, 18, 0, tzinfo=UTC)  # GMT after 25 Oct
    before = schedule.first_start_after(datetime(2026, 10, 13, tzinfo=UTC))
    assert before == datetime(2026, 10, 19, 17, 0, tzinfo=UTC)  # BST
    assert schedule.next_start(before) == first
