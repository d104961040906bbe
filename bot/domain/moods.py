"""Moods on a 1–5 scale, and the statistics behind `/checkin history`.

The streak counts **weeks**, not days: rounds run a few times a week (often Mon and
Thu) and a member may sit in several circles, so a day streak would reset between
every pair of rounds. The streak is the number of consecutive weeks (Monday–Sunday in
the given zone) with at least one answer, ending this week or last week — a streak is
not broken on Monday morning before that week's first round.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import ValidationError

MOOD_WORDS: dict[int, str] = {1: "struggling", 2: "low", 3: "okay", 4: "good", 5: "thriving"}
_BY_WORD = {word: n for n, word in MOOD_WORDS.items()} | {"ok": 3}
_MOOD_RE = re.compile(r"^(?P<n>[1-5])(?:\s*[-–—:.(/]?\s*(?P<word>[a-z]+)\)?)?\.?$")
MOOD_EXAMPLE = "3 (or a word: struggling, low, okay, good, thriving)"
NUDGE_RUN = 3


def parse_mood(text: str) -> int:
    """1–5 from "3", "3 - okay", "3 (okay)", "okay" or "Okay"; a number and a word
    that disagree ("3 - good") are refused."""
    raw = text.strip().lower()
    if raw in _BY_WORD:
        return _BY_WORD[raw]
    match = _MOOD_RE.match(raw)
    if match is not None:
        mood = int(match["n"])
        if match["word"] is None or _BY_WORD.get(match["word"]) == mood:
            return mood
    raise ValidationError(
        "Mood is a number from 1 to 5: 1 struggling, 2 low, 3 okay, 4 good, 5 thriving.",
        MOOD_EXAMPLE,
    )


def mood_label(mood: int) -> str:
    """The number and its word, e.g. 3 okay."""
    return f"{mood} {MOOD_WORDS[mood]}"


@dataclass(frozen=True)
class MoodPoint:
    at: datetime
    mood: int

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("MoodPoint.at must be timezone-aware")
        if self.mood not in MOOD_WORDS:
            raise ValueError(f"mood must be 1..5, not {self.mood!r}")


@dataclass(frozen=True)
class MoodStats:
    """Over the window: how many answers, their average and spread; streak in weeks."""

    count: int
    average: float | None
    streak: int
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(MOOD_WORDS, 0))


def mood_stats(
    points: Iterable[MoodPoint], now: datetime, days: int, *, tz: str = "UTC"
) -> MoodStats:
    """Statistics for answers in the last ``days`` days up to ``now``.

    ``count``, ``average`` and ``distribution`` cover the window ``(now - days, now]``;
    ``streak`` uses every point given up to ``now`` (pass enough history for it).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    past = [p for p in points if p.at <= now]
    start = now - timedelta(days=days)
    window = [p.mood for p in past if p.at > start]
    distribution = dict.fromkeys(MOOD_WORDS, 0)
    for mood in window:
        distribution[mood] += 1
    average = sum(window) / len(window) if window else None
    zone = ZoneInfo(tz)
    streak = week_streak({p.at.astimezone(zone).date() for p in past}, now.astimezone(zone).date())
    return MoodStats(len(window), average, streak, distribution)


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_streak(answer_days: Iterable[date], today: date) -> int:
    """Consecutive Monday-based weeks with an answer, ending this week or last week."""
    weeks = {_week_start(d) for d in answer_days}
    current = _week_start(today)
    if current not in weeks:
        current -= timedelta(weeks=1)
    streak = 0
    while current in weeks:
        streak += 1
        current -= timedelta(weeks=1)
    return streak


def needs_gentle_nudge(last_moods: Sequence[int]) -> bool:
    """True when the three most recent answers (``last_moods`` oldest first) are all
    1 or 2."""
    recent = last_moods[-NUDGE_RUN:]
    return len(recent) == NUDGE_RUN and all(m <= 2 for m in recent)
