"""Rotating roles' rules: who is next, nobody twice running or unavailable, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.roles import (
    PROMPT_MAX,
    ROLE_KEYS,
    Volunteer,
    choose_holders,
    next_cycle_at,
    next_in_line,
    parse_role,
    validate_prompt,
)
from bot.domain.schedule import RoundSchedule, parse_days, parse_time_of_day
from bot.errors import ValidationError

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def v(user: int, role: str = "keeper", joined: int = 0, last: int | None = None) -> Volunteer:
    turn = None if last is None else T0 + timedelta(days=last)
    return Volunteer(user, role, T0 + timedelta(hours=joined), turn)


def test_never_held_first_then_the_oldest_turn_then_who_volunteered_first() -> None:
    assert next_in_line([v(1, joined=0, last=5), v(2, joined=1), v(3, joined=2)]) == 2
    assert next_in_line([v(1, last=5), v(2, last=3), v(3, last=9)]) == 2
    assert next_in_line([]) is None


def test_unavailable_and_excluded_are_never_chosen_avoided_only_if_needed() -> None:
    pool = [v(1), v(2, joined=1)]
    assert next_in_line(pool, unavailable={1}) == 2
    assert next_in_line(pool, unavailable={1, 2}) is None
    assert next_in_line(pool, avoid={1}) == 2
    assert next_in_line([v(1)], avoid={1}) == 1  # only one: the avoided one after all
    assert next_in_line(pool, exclude={1}) == 2


def test_nobody_twice_running_when_someone_else_can() -> None:
    pool = [v(1, joined=0, last=1), v(2, joined=1, last=0)]
    assert choose_holders(pool, {"keeper": 2})["keeper"] == 1
    assert choose_holders([v(1)], {"keeper": 1})["keeper"] == 1  # unavoidable


def test_nobody_holds_two_roles_when_someone_else_can() -> None:
    pool = [v(1, "keeper"), v(1, "reminder"), v(2, "reminder", joined=1)]
    assert choose_holders(pool, {}) == {"keeper": 1, "reminder": 2, "prompt": None}


def test_paused_members_get_nothing() -> None:
    assert choose_holders([v(1), v(2, joined=1)], {}, unavailable={1})["keeper"] == 2
    assert choose_holders([v(1)], {}, unavailable={1})["keeper"] is None


volunteers = st.lists(
    st.builds(
        v,
        st.integers(1, 6),
        st.sampled_from(ROLE_KEYS),
        st.integers(0, 50),
        st.one_of(st.none(), st.integers(0, 50)),
    ),
    max_size=15,
    unique_by=lambda x: (x.user_id, x.role),
)


@given(
    volunteers,
    st.dictionaries(st.sampled_from(ROLE_KEYS), st.integers(1, 6)),
    st.sets(st.integers(1, 6)),
)
def test_holders_are_volunteers_available_and_not_repeated_when_avoidable(
    pool: list[Volunteer], previous: dict[str, int], away: set[int]
) -> None:
    chosen = choose_holders(pool, previous, away)
    assert set(chosen) == set(ROLE_KEYS)
    for role, holder in chosen.items():
        free = {x.user_id for x in pool if x.role == role and x.user_id not in away}
        if not free:
            assert holder is None
            continue
        assert holder in free
        if free - {previous.get(role)}:
            assert holder != previous.get(role)


@pytest.mark.parametrize("text", ["keeper", "Keeper", " PROMPT ", "reminder"])
def test_role_names(text: str) -> None:
    assert parse_role(text) == text.strip().lower()


@pytest.mark.parametrize("text", ["captain", "", None, "keeper!", "<@&123>"])
def test_unknown_roles_are_refused_with_an_example(text: str | None) -> None:
    with pytest.raises(ValidationError) as info:
        parse_role(text)
    assert "keeper, reminder, prompt" in info.value.message
    assert info.value.example == "/circle volunteer role:keeper"


def test_cycles_follow_the_schedule_or_come_weekly() -> None:
    assert next_cycle_at(None, T0) == T0 + timedelta(days=7)
    schedule = RoundSchedule(
        parse_days("mon"), parse_time_of_day("18:00"), timedelta(hours=3), "UTC"
    )
    assert next_cycle_at(schedule, T0) == schedule.next_open_after(T0)


def test_prompt_questions() -> None:
    assert validate_prompt("  What helped   this week? ") == "What helped this week?"
    for bad in ("", "Hi?", "x" * (PROMPT_MAX + 1), "ask @everyone", "hi <@123> how?"):
        with pytest.raises(ValidationError) as info:
            validate_prompt(bad)
        assert "Nothing was saved" in info.value.message
