"""Check-in answers, who sees them, and what a round's summary may show.

Privacy rules live here, not in the cog: the channel summary only carries what a
member shared with the circle. Facilitators-only answers go to a separate list for a
private delivery; just-me answers reach no one (they count as "answered" only).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.moods import MOOD_WORDS
from bot.errors import ValidationError

NOTE_MAX = 1000
VISIBILITY_EXAMPLE = "the circle, facilitators only, or just me"


class Visibility(StrEnum):
    CIRCLE = "circle"
    FACILITATORS = "facilitators"
    SELF = "self"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Visibility.CIRCLE: "the circle",
    Visibility.FACILITATORS: "facilitators only",
    Visibility.SELF: "just me",
}
_VISIBILITY_WORDS = {
    **{v.value: v for v in Visibility},
    **{label: v for v, label in _LABELS.items()},
    "circle only": Visibility.CIRCLE,
    "everyone": Visibility.CIRCLE,
    "facilitator": Visibility.FACILITATORS,
    "facilitator only": Visibility.FACILITATORS,
    "me": Visibility.SELF,
    "only me": Visibility.SELF,
    "private": Visibility.SELF,
}


def parse_visibility(text: str) -> Visibility:
    """A visibility from its value ("self"), its label ("just me") or a close synonym
    ("only me", "private", "facilitator"); case and extra spaces are ignored."""
    key = " ".join(text.lower().split())
    found = _VISIBILITY_WORDS.get(key)
    if found is None:
        raise ValidationError(
            "Who sees this: the circle, facilitators only, or just me?", VISIBILITY_EXAMPLE
        )
    return found


def validate_note(text: str | None) -> str | None:
    """The stripped note, None when empty; longer than NOTE_MAX is refused."""
    note = (text or "").strip()
    if not note:
        return None
    if len(note) > NOTE_MAX:
        raise ValidationError(
            f"Your note is {len(note):,} characters; the limit is {NOTE_MAX:,}. "
            "Shorten it a little and send it again.",
            "note: Tired after a long week, but glad to be here.",
        )
    return note


@dataclass(frozen=True)
class CheckIn:
    round_id: int
    member_id: int
    mood: int
    note: str | None
    visibility: Visibility
    answered_at: datetime

    def __post_init__(self) -> None:
        if self.mood not in MOOD_WORDS:
            raise ValueError(f"mood must be 1..5, not {self.mood!r}")
        if self.answered_at.tzinfo is None:
            raise ValueError("answered_at must be timezone-aware")


@dataclass(frozen=True)
class SharedAnswer:
    """One answer as its audience sees it; ``note`` may be None (a mood alone)."""

    member_id: int
    mood: int
    note: str | None


@dataclass(frozen=True)
class RoundSummary:
    """What closing a round reports.

    ``distribution`` counts circle-visible moods only (with or without a note);
    ``kept_private`` is how many answered for facilitators or themselves. ``shared``
    holds circle-visible answers that have a note; ``for_facilitators`` every
    facilitators-only answer. Just-me answers appear nowhere but ``answered``.
    """

    answered: int
    distribution: dict[int, int]
    kept_private: int
    shared: tuple[SharedAnswer, ...]
    for_facilitators: tuple[SharedAnswer, ...]
    away: int
    missing: int


def latest_answers(answers: Iterable[CheckIn]) -> list[CheckIn]:
    """One answer per member (the latest), ordered by when it was given."""
    latest: dict[int, CheckIn] = {}
    for answer in answers:
        seen = latest.get(answer.member_id)
        if seen is None or answer.answered_at >= seen.answered_at:
            latest[answer.member_id] = answer
    return sorted(latest.values(), key=lambda a: (a.answered_at, a.member_id))


def summarize_round(
    answers: Sequence[CheckIn], member_ids: Sequence[int], away_ids: Collection[int]
) -> RoundSummary:
    """The summary of one round's answers against the circle's members.

    A member who answered is never counted away or missing, even if paused; an away
    member who did not answer is away, not missing.
    """
    final = latest_answers(answers)
    answered_ids = {a.member_id for a in final}
    distribution = dict.fromkeys(MOOD_WORDS, 0)
    shared: list[SharedAnswer] = []
    for_facilitators: list[SharedAnswer] = []
    for a in final:
        if a.visibility is Visibility.CIRCLE:
            distribution[a.mood] += 1
            if a.note:
                shared.append(SharedAnswer(a.member_id, a.mood, a.note))
        elif a.visibility is Visibility.FACILITATORS:
            for_facilitators.append(SharedAnswer(a.member_id, a.mood, a.note))
    members = set(member_ids)
    away = members & set(away_ids) - answered_ids
    return RoundSummary(
        answered=len(final),
        distribution=distribution,
        kept_private=len(final) - sum(distribution.values()),
        shared=tuple(shared),
        for_facilitators=tuple(for_facilitators),
        away=len(away),
        missing=len(members - answered_ids - away),
    )


def reminder_targets(
    member_ids: Sequence[int],
    answered_ids: Collection[int],
    opted_in_ids: Collection[int],
    away_ids: Collection[int],
    dms_closed_ids: Collection[int],
) -> list[int]:
    """Members to DM before close: opted in, not answered, not away, DMs not known
    closed. Order follows ``member_ids``, without duplicates."""
    skip = set(answered_ids) | set(away_ids) | set(dms_closed_ids)
    opted_in = set(opted_in_ids)
    return [m for m in dict.fromkeys(member_ids) if m in opted_in and m not in skip]
