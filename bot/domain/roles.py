"""Rotating responsibilities in a circle: who holds each role this cycle.

Shared leadership prevents burnout: each cycle the circle's roles pass among the members
who volunteered for them. Rules (pure; the caller passes who is unavailable and the time):

- the longest-waiting volunteer goes first (never held, then the oldest turn, then who
  volunteered first);
- nobody holds a role twice running when someone else can;
- nobody holds two roles in one cycle when someone else can;
- nobody unavailable (paused, snoozed, resting) is given a role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.schedule import RoundSchedule
from bot.errors import ValidationError

CYCLE_WITHOUT_SCHEDULE = timedelta(days=7)
PROMPT_MIN, PROMPT_MAX = 5, 200
_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RoleInfo:
    key: str
    title: str
    duty: str


ROLES: tuple[RoleInfo, ...] = (
    RoleInfo("keeper", "Keeper", "opens and holds the live meeting"),
    RoleInfo("reminder", "Reminder", "nudges people before the meeting"),
    RoleInfo("prompt", "Prompt", "picks the next check-in question"),
)
ROLE_KEYS: tuple[str, ...] = tuple(role.key for role in ROLES)
VOLUNTEER_EXAMPLE = "/circle volunteer role:keeper"


def role_info(key: str) -> RoleInfo:
    return next(role for role in ROLES if role.key == key)


def parse_role(text: str | None) -> str:
    """A role by its name in any case; ValidationError naming the roles otherwise."""
    key = (text or "").strip().casefold()
    for role in ROLES:
        if key in (role.key, role.title.casefold()):
            return role.key
    names = ", ".join(ROLE_KEYS)
    raise ValidationError(
        f"There's no role by that name. The roles are: {names}.", VOLUNTEER_EXAMPLE
    )


@dataclass(frozen=True, slots=True)
class Volunteer:
    user_id: int
    role: str
    volunteered_at: datetime
    last_turn_at: datetime | None = None


def _waiting_order(volunteer: Volunteer) -> tuple[bool, datetime, datetime, int]:
    last = volunteer.last_turn_at
    return (
        last is not None,
        last or volunteer.volunteered_at,
        volunteer.volunteered_at,
        volunteer.user_id,
    )


def next_in_line(
    volunteers: Iterable[Volunteer],
    *,
    unavailable: Iterable[int] = (),
    avoid: Iterable[int] = (),
    exclude: Iterable[int] = (),
) -> int | None:
    """The longest-waiting available volunteer; one in `avoid` only if nobody else is.
    `exclude` never (the member handing the role on)."""
    never = set(unavailable) | set(exclude)
    shunned = set(avoid)
    ordered = sorted((v for v in volunteers if v.user_id not in never), key=_waiting_order)
    preferred = [v for v in ordered if v.user_id not in shunned]
    chosen = preferred or ordered
    return chosen[0].user_id if chosen else None


def choose_holders(
    volunteers: Sequence[Volunteer],
    previous: Mapping[str, int | None],
    unavailable: Iterable[int] = (),
) -> dict[str, int | None]:
    """This cycle's holder of each role (None: nobody available volunteered for it)."""
    away = set(unavailable)
    holders: dict[str, int | None] = {}
    for role in ROLE_KEYS:
        pool = [v for v in volunteers if v.role == role]
        taken = {h for h in holders.values() if h is not None}
        last = previous.get(role)
        # First choice avoids both a second turn running and a second role; then only the
        # second turn running is avoided; then anyone available.
        holder = next_in_line([v for v in pool if v.user_id != last], unavailable=away, avoid=taken)
        if holder is None:
            holder = next_in_line(pool, unavailable=away, avoid=taken)
        holders[role] = holder
    return holders


def next_cycle_at(schedule: RoundSchedule | None, after: datetime) -> datetime:
    """Cycles follow the circle's check-in schedule, else one a week."""
    if schedule is not None:
        return schedule.next_open_after(after)
    return after + CYCLE_WITHOUT_SCHEDULE


def validate_prompt(text: str | None) -> str:
    """The prompt holder's own question: one line, 5–200 characters, no mentions."""
    prompt = " ".join((text or "").split())
    example = "What helped you rest this week?"
    if len(prompt) < PROMPT_MIN or len(prompt) > PROMPT_MAX:
        raise ValidationError(
            f"A question is {PROMPT_MIN}–{PROMPT_MAX} characters (yours is {len(prompt):,}). "
            "Nothing was saved.",
            example,
        )
    if _MENTION.search(prompt):
        raise ValidationError(
            "A question can't contain @everyone, @here or mentions. Nothing was saved.", example
        )
    return prompt
