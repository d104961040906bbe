"""Mood parsing, statistics (average, distribution, week streak) and the gentle nudge."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.moods import (
    MOOD_WORDS,
    MoodPoint,
    MoodStats,
    mood_label,
    mood_stats,
    needs_gentle_nudge,
    parse_mood,
    week_streak,
)
from bot.errors import ValidationError

NOW = datetime(2026, 5, 14, 12, 0, tzinfo=UTC)  # a Thursday


def test_mood_words() -> None:
    assert MOOD_WORDS == {1: "struggling", 2: "low", 3: "okay", 4: "good", 5: "thriving"}
    assert mood_label(3) == "3 okay"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        (" 3 ", 3),
        ("3 - okay", 3),
        ("3 – okay", 3),
        ("3-okay", 3),
        ("3 okay", 3),
        ("3 (okay)", 3),
        ("3: okay", 3),
        ("okay", 3),
        ("Okay", 3),
        ("OK", 3),
        ("1", 1),
        ("struggling", 1),
        ("2 low", 2),
        ("4 Good", 4),
        ("5 - thriving", 5),
        ("5.", 5),
    ],
)
def test_parse_mood_accepts(text: str, expected: int) -> None:
    assert parse_mood(text) == expected


@pytest.mark.parametrize(
    "text", ["", "0", "6", "10", "3 - good", "great", "three", "3.5", "-1", "2 2", "okayish"]
)
def test_parse_mood_refuses_with_example(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_mood(text)
    assert info.value.example is not None
    assert info.value.example.startswith("3")


def test_every_label_parses_back() -> None:
    for mood in MOOD_WORDS:
        assert parse_mood(mood_label(mood)) == mood
        assert parse_mood(MOOD_WORDS[mood]) == mood


def test_mood_point_validates() -> None:
    with pytest.raises(ValueError):
        MoodPoint(datetime(2026, 1, 1), 3)
    with pytest.raises(ValueError):
        MoodPoint(NOW, 6)


def pts(*spec: tuple[float, int]) -> list[MoodPoint]:
    """Points from (days ago, mood)."""
    return [MoodPoint(NOW - timedelta(days=ago), mood) for ago, mood in spec]


def test_empty_stats() -> None:
    assert mood_stats([], NOW, 30) == MoodStats(0, None, 0, {1: 0, 2: 0, 3: 0, 4: 0, 5: 0})


def test_stats_window_and_distribution() -> None:
    points = pts((0, 4), (3, 2), (7, 3), (29.9, 5), (30, 1), (45, 1), (-1, 5))
    stats = mood_stats(points, NOW, 30)
    # 30 days ago exactly and earlier are outside; the future point is ignored.
    assert stats.count == 4
    assert stats.average == pytest.approx((4 + 2 + 3 + 5) / 4)
    assert stats.distribution == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}


def test_stats_requires_aware_now() -> None:
    with pytest.raises(ValueError):
        mood_stats([], datetime(2026, 1, 1), 30)


@pytest.mark.parametrize(
    ("answer_days", "today", "expected"),
    [
        ([], date(2026, 5, 14), 0),
        ([date(2026, 5, 11)], date(2026, 5, 14), 1),  # this week
        ([date(2026, 5, 4)], date(2026, 5, 11), 1),  # last week, Monday before the round
        ([date(2026, 4, 27)], date(2026, 5, 11), 0),  # two weeks ago: broken
        # Mon+Thu rounds for three weeks → 3, although no two days are consecutive.
        (
            [
                date(2026, 4, 27),
                date(2026, 4, 30),
                date(2026, 5, 4),
                date(2026, 5, 7),
                date(2026, 5, 11),
            ],
            date(2026, 5, 14),
            3,
        ),
        ([date(2026, 5, 11), date(2026, 4, 27)], date(2026, 5, 14), 1),  # a gap week
        ([date(2026, 5, 10), date(2026, 5, 11)], date(2026, 5, 11), 2),  # Sun then Mon
    ],
)
def test_week_streak(answer_days: list[date], today: date, expected: int) -> None:
    assert week_streak(answer_days, today) == expected


def test_streak_uses_history_beyond_the_window() -> None:
    points = pts(*[(7 * w, 3) for w in range(10)])
    assert mood_stats(points, NOW, 7).streak == 10
    assert mood_stats(points, NOW, 7).count == 1


def test_streak_weeks_follow_the_given_zone() -> None:
    # Sunday 23:30 in New York is already Monday in UTC.
    sunday_night = datetime(2026, 5, 11, 3, 30, tzinfo=UTC)
    monday = datetime(2026, 5, 11, 18, 0, tzinfo=UTC)
    points = [MoodPoint(sunday_night, 3), MoodPoint(monday, 3)]
    assert mood_stats(points, monday, 30).streak == 1
    assert mood_stats(points, monday, 30, tz="America/New_York").streak == 2


@given(st.lists(st.integers(1, 5), max_size=30))
def test_stats_properties(moods: list[int]) -> None:
    points = [MoodPoint(NOW - timedelta(hours=i), m) for i, m in enumerate(moods)]
    stats = mood_stats(points, NOW, 30)
    assert stats.count == len(moods) == sum(stats.distribution.values())
    assert set(stats.distribution) == {1, 2, 3, 4, 5}
    if moods:
        assert stats.average is not None
        assert min(moods) <= stats.average <= max(moods)
        assert stats.streak == 1
    else:
        assert stats.average is None


@pytest.mark.parametrize(
    ("moods", "expected"),
    [
        ([], False),
        ([1, 1], False),
        ([1, 2, 1], True),
        ([5, 5, 2, 2, 2], True),
        ([2, 2, 3], False),
        ([1, 1, 1, 4], False),
        ([2, 1, 2, 3, 1, 1, 2], True),
    ],
)
def test_gentle_nudge(moods: list[int], expected: bool) -> None:
    assert needs_gentle_nudge(moods) is expected
