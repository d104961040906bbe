"""Visibility, note validation, round summaries (privacy) and reminder targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.checkins import (
    NOTE_MAX,
    CheckIn,
    SharedAnswer,
    Visibility,
    parse_visibility,
    reminder_targets,
    summarize_round,
    validate_note,
)
from bot.errors import ValidationError

T0 = datetime(2026, 5, 14, 19, 0, tzinfo=UTC)
C, F, S = Visibility.CIRCLE, Visibility.FACILITATORS, Visibility.SELF


def answer(member: int, mood: int, note: str | None, vis: Visibility, minutes: int = 0) -> CheckIn:
    return CheckIn(7, member, mood, note, vis, T0 + timedelta(minutes=minutes))


def test_visibility_values_and_labels() -> None:
    assert [v.value for v in Visibility] == ["circle", "facilitators", "self"]
    assert [v.label for v in Visibility] == ["the circle", "facilitators only", "just me"]
    assert Visibility("self") is S
    assert f"{C}" == "circle"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("circle", C),
        ("The Circle", C),
        ("  the   circle ", C),
        ("facilitators", F),
        ("Facilitators only", F),
        ("facilitator", F),
        ("self", S),
        ("just me", S),
        ("Just Me", S),
        ("only me", S),
        ("private", S),
    ],
)
def test_parse_visibility(text: str, expected: Visibility) -> None:
    assert parse_visibility(text) is expected


@pytest.mark.parametrize("text", ["", "everyone else", "mods", "public?"])
def test_parse_visibility_refuses(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_visibility(text)
    assert info.value.example == "the circle, facilitators only, or just me"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("   \n ", None),
        ("  tired but ok \n", "tired but ok"),
        ("x" * NOTE_MAX, "x" * NOTE_MAX),
        ("  " + "x" * NOTE_MAX + "  ", "x" * NOTE_MAX),
    ],
)
def test_validate_note(text: str | None, expected: str | None) -> None:
    assert validate_note(text) == expected


def test_note_over_the_limit_says_how_long() -> None:
    with pytest.raises(ValidationError) as info:
        validate_note("y" * 1234)
    assert "1,234 characters" in info.value.message
    assert "1,000" in info.value.message
    assert info.value.example


def test_checkin_validates() -> None:
    with pytest.raises(ValueError):
        answer(1, 0, None, C)
    with pytest.raises(ValueError):
        CheckIn(1, 1, 3, None, C, datetime(2026, 1, 1))


def test_summary_respects_each_choice() -> None:
    answers = [
        answer(1, 4, "good week", C, 1),
        answer(2, 2, None, C, 2),  # mood shared without a note
        answer(3, 1, "rough, please check on me", F, 3),
        answer(4, 3, None, F, 4),
        answer(5, 1, "secret", S, 5),
    ]
    summary = summarize_round(answers, member_ids=[1, 2, 3, 4, 5, 6, 7, 8], away_ids={6, 9})
    assert summary.answered == 5
    assert summary.distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 0}
    assert summary.kept_private == 3
    assert summary.shared == (SharedAnswer(1, 4, "good week"),)
    assert summary.for_facilitators == (
        SharedAnswer(3, 1, "rough, please check on me"),
        SharedAnswer(4, 3, None),
    )
    assert summary.away == 1  # 9 is not a member
    assert summary.missing == 2  # 7 and 8


def test_summary_uses_each_members_latest_answer() -> None:
    answers = [
        answer(1, 2, "first thought", C, 10),
        answer(1, 4, "changed my mind", S, 20),
        answer(2, 3, "later", C, 5),
        answer(2, 5, "earlier", C, 1),
    ]
    summary = summarize_round(answers, member_ids=[1, 2], away_ids=())
    assert summary.answered == 2
    assert summary.shared == (SharedAnswer(2, 3, "later"),)
    assert summary.distribution == {1: 0, 2: 0, 3: 1, 4: 0, 5: 0}
    assert summary.kept_private == 1


def test_away_member_who_answered_counts_as_answered() -> None:
    summary = summarize_round([answer(1, 3, None, C)], member_ids=[1, 2], away_ids=[1, 2])
    assert (summary.answered, summary.away, summary.missing) == (1, 1, 0)


def test_empty_round() -> None:
    summary = summarize_round([], member_ids=[1, 2, 3], away_ids=[3])
    assert (summary.answered, summary.away, summary.missing, summary.kept_private) == (0, 1, 2, 0)
    assert summary.shared == summary.for_facilitators == ()


ANSWERS = st.lists(
    st.builds(
        answer,
        member=st.integers(1, 12),
        mood=st.integers(1, 5),
        note=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
        vis=st.sampled_from(list(Visibility)),
        minutes=st.integers(0, 600),
    ),
    max_size=30,
)


@given(ANSWERS, st.sets(st.integers(1, 12)), st.sets(st.integers(1, 15)))
def test_summary_properties(answers: list[CheckIn], members: set[int], away: set[int]) -> None:
    summary = summarize_round(answers, sorted(members), away)
    answered = {a.member_id for a in answers}
    assert summary.answered == len(answered)
    assert sum(summary.distribution.values()) + summary.kept_private == summary.answered
    assert summary.away + summary.missing == len(members - answered)
    secret_notes = {a.note for a in answers if a.visibility is S and a.note}
    circle_notes = {a.note for a in answers if a.visibility is C and a.note}
    shown = {s.note for s in summary.shared}
    assert shown <= circle_notes
    # A just-me note never shows, unless the very same text was also shared.
    assert not (shown & secret_notes - circle_notes)
    for shared in summary.shared:
        assert any(
            a.member_id == shared.member_id and a.visibility is C and a.note == shared.note
            for a in answers
        )
    for private in summary.for_facilitators:
        assert any(a.member_id == private.member_id and a.visibility is F for a in answers)


@pytest.mark.parametrize(
    ("members", "answered", "opted_in", "away", "closed", "expected"),
    [
        ([1, 2, 3, 4, 5], [2], [1, 2, 3, 4], [3], [4], [1]),
        ([5, 1, 5, 3], [], [1, 3, 5], [], [], [5, 1, 3]),
        ([1, 2], [], [], [], [], []),
        ([1, 2], [], [1, 2, 99], [], [], [1, 2]),  # 99 is not a member
        ([], [1], [1], [], [], []),
    ],
)
def test_reminder_targets(
    members: list[int],
    answered: list[int],
    opted_in: list[int],
    away: list[int],
    closed: list[int],
    expected: list[int],
) -> None:
    assert reminder_targets(members, answered, opted_in, away, closed) == expected
