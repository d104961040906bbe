"""Recurring check-in rounds: parsing what facilitators type, and the time math.

Everything here is pure: the current time and "today" are passed in. Instants are
timezone-aware and returned in UTC; wall-clock rules (days, time of day) live in the
circle's IANA zone so that 19:00 stays 19:00 across daylight-saving changes.

DST rules for a scheduled local time:

* **Gap** (spring forward, the wall time does not exist that day): the round opens at
  the first valid instant after the gap, i.e. the transition itself. In
  America/New_York a 02:30 round on 2026-03-08 opens at 03:00 EDT (07:00 UTC).
* **Overlap** (fall back, the wall time happens twice): the round opens once, at the
  first occurrence (``fold=0``, the pre-transition offset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from bot.errors import ValidationError

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAYS_EXAMPLE = "days:mon,thu"
TIME_EXAMPLE = "time:19:00"
DURATION_EXAMPLE = "close_after:12h"
TIMEZONE_EXAMPLE = "timezone:America/New_York"
UNTIL_EXAMPLE = "until:2026-12-01 (or dec 1, 2w, 10d)"

MIN_CLOSE_AFTER = timedelta(minutes=15)
MAX_CLOSE_AFTER = timedelta(days=7)
DEFAULT_CLOSE_AFTER = timedelta(hours=24)

# ---------------------------------------------------------------------------- days

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DAY_TOKENS: dict[str, tuple[int, ...]] = {
    # Every prefix of two letters or more ("mo", "tues", "thurs") is unambiguous.
    **{full[:n]: (i,) for i, full in enumerate(_WEEKDAYS) for n in range(2, len(full) + 1)},
    **{f"{full}s": (i,) for i, full in enumerate(_WEEKDAYS)},
    "weds": (2,),
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
    "weekends": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
    "everyday": (0, 1, 2, 3, 4, 5, 6),
}
_DAY_SEPARATORS = re.compile(r"(?:[\s,;/&+|]+|\band\b)+")


def parse_days(text: str) -> tuple[int, ...]:
    """Weekdays (Mon=0) from "mon,thu", "Monday Thursday", "tue/fri", "weekdays", "daily".

    Names may be abbreviated to any unambiguous prefix ("we", "thurs"); repeats are
    collapsed. Empty input or any unknown word is refused.
    """
    cleaned = re.sub(r"\bevery\s*day\b", "daily", text.strip().lower())
    tokens = [t for t in _DAY_SEPARATORS.split(cleaned) if t]
    if not tokens:
        raise ValidationError("Say which days the round runs.", DAYS_EXAMPLE)
    days: set[int] = set()
    for token in tokens:
        found = _DAY_TOKENS.get(token.rstrip("."))
        if found is None:
            raise ValidationError(
                f"I don't know the day {token[:30]!r}: use day names like mon, tue, wed, "
                "or weekdays / daily.",
                DAYS_EXAMPLE,
            )
        days.update(found)
    return tuple(sorted(days))


def format_days(days: tuple[int, ...]) -> str:
    """Day list for people: Mon and Thu; Mon, Wed and Fri; Weekdays; Every day."""
    if days == (0, 1, 2, 3, 4, 5, 6):
        return "Every day"
    if days == (0, 1, 2, 3, 4):
        return "Weekdays"
    names = [DAY_NAMES[d] for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------------- time of day

_TIME_RE = re.compile(
    r"""^(?P<h>\d{1,2})
        (?:(?::|\.|h)(?P<m>\d{2})|(?P<hsuffix>h))?
        \s*(?P<ampm>a\.?m\.?|p\.?m\.?)?$""",
    re.VERBOSE,
)


def parse_time_of_day(text: str) -> time:
    """A wall-clock time: "19:00", "7:30", "07.30", "7pm", "7:30 pm", "19h", "19h30",
    "noon", "midnight".

    A bare number ("7") is refused as ambiguous (morning or evening?).
    """
    raw = text.strip().lower()
    if raw in ("noon", "midday"):
        return time(12, 0)
    if raw == "midnight":
        return time(0, 0)
    match = _TIME_RE.match(raw)
    if match is None or not (match["m"] or match["hsuffix"] or match["ampm"]):
        raise ValidationError(
            f"I can't read {text.strip()[:30]!r} as a time of day: use 24-hour HH:MM or 7pm.",
            TIME_EXAMPLE,
        )
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12 or match["hsuffix"]:
            raise ValidationError("With am/pm the hour goes from 1 to 12.", "time:7pm")
        hour = hour % 12 + (12 if match["ampm"].startswith("p") else 0)
    if hour > 23 or minute > 59:
        raise ValidationError(
            f"{text.strip()!r} is not a time on a clock: hours go 0–23 and minutes 0–59.",
            TIME_EXAMPLE,
        )
    return time(hour, minute)


# ------------------------------------------------------------------------ durations

_DURATION_UNITS = {
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
}
_DURATION_PART = re.compile(r"(\d{1,4})\s*([a-z]+)\s*")


def parse_duration(text: str) -> timedelta:
    """How long a round stays open: "12h", "90m", "1d", "1h30m", "1 day 6 hours".

    Between 15 minutes and 7 days inclusive; each unit may appear once.
    """
    raw = text.strip().lower()
    total = timedelta()
    seen: set[str] = set()
    pos = 0
    while pos < len(raw):
        match = _DURATION_PART.match(raw, pos)
        unit = _DURATION_UNITS.get(match[2]) if match else None
        if match is None or unit is None or unit in seen:
            raise ValidationError(
                f"I can't read {text.strip()[:30]!r} as a length of time: use a number "
                "with d, h or m.",
                DURATION_EXAMPLE,
            )
        seen.add(unit)
        amount = int(match[1])
        total += {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(minutes=amount)
        )
        pos = match.end()
    if not seen:
        raise ValidationError("Say how long the round stays open.", DURATION_EXAMPLE)
    if not MIN_CLOSE_AFTER <= total <= MAX_CLOSE_AFTER:
        raise ValidationError(
            f"A round stays open between 15 minutes and 7 days, not {text.strip()[:30]}.",
            DURATION_EXAMPLE,
        )
    return total


def format_duration(delta: timedelta) -> str:
    """Compact and re-parseable: 12h, 1h30m, 1d12h, 0m."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return "".join(parts) or "0m"


# ------------------------------------------------------------------------ time zones

_NOT_ZONES = {"factory", "localtime", "posixrules"}
COMMON_ZONES = tuple(
    [
        "UTC",
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Phoenix",
        "America/Anchorage",
        "Pacific/Honolulu",
        "America/Toronto",
        "America/Vancouver",
        "America/Mexico_City",
        "America/Sao_Paulo",
        "America/Argentina/Buenos_Aires",
        "Europe/London",
        "Europe/Dublin",
        "Europe/Paris",
        "Europe/Berlin",
        "Europe/Madrid",
        "Europe/Amsterdam",
        "Europe/Stockholm",
        "Africa/Lagos",
        "Africa/Johannesburg",
        "Asia/Kolkata",
        "Asia/Singapore",
        "Asia/Tokyo",
        "Australia/Sydney",
        "Pacific/Auckland",
    ]
)


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """Lower-cased name → canonical IANA name, read once."""
    return {z.lower(): z for z in available_timezones() if z.lower() not in _NOT_ZONES}


def parse_timezone(name: str) -> str:
    """The canonical IANA name for ``name``, matched case-insensitively; spaces may
    stand for underscores ("america/new york")."""
    key = re.sub(r"\s*/\s*", "/", name.strip()).replace(" ", "_").lower()
    zone = _zones().get(key)
    if zone is None:
        raise ValidationError(
            f"{name.strip()[:40]!r} is not a time zone I know: pick one from the list "
            "(an IANA name, Region/City).",
            TIMEZONE_EXAMPLE,
        )
    return zone


def timezone_choices(current: str, limit: int = 25) -> list[str]:
    """Autocomplete: common zones when nothing is typed; otherwise names starting with
    the text, then names with a part (city) starting with it, then any containing it."""
    needle = current.strip().replace(" ", "_").lower()
    if not needle:
        return list(COMMON_ZONES[:limit])
    common = {z: i for i, z in enumerate(COMMON_ZONES)}
    ranked: list[tuple[int, int, str]] = []
    for lower, zone in _zones().items():
        if lower.startswith(needle):
            rank = 0
        elif any(part.startswith(needle) for part in re.split(r"[/_-]", lower)):
            rank = 1
        elif needle in lower:
            rank = 2
        else:
            continue
        ranked.append((rank, common.get(zone, len(common)), zone))
    return [zone for *_, zone in sorted(ranked)[:limit]]


# --------------------------------------------------------------------- pause dates

_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTHS = {name: i for i, full in enumerate(_MONTH_NAMES, 1) for name in {full, full[:3], full[:4]}}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH_DAY = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?$")
_RELATIVE = re.compile(r"^(?:in\s+)?(\d{1,3})\s*(d|days?|w|wks?|weeks?)$")


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def parse_until_date(text: str, today: date) -> date:
    """The date a pause lasts until: "2026-12-01", "Dec 1" / "1 December" (the next
    such date after today), "10d", "2w", "in 3 weeks", "tomorrow".

    It must be after ``today`` and at most one year ahead.
    """
    raw = text.strip().lower()
    result: date | None = None
    try:
        if raw == "tomorrow":
            result = today + timedelta(days=1)
        elif m := _ISO_DATE.match(raw):
            result = date(int(m[1]), int(m[2]), int(m[3]))
        elif m := _RELATIVE.match(raw):
            per = 7 if m[2].startswith("w") else 1
            result = today + timedelta(days=int(m[1]) * per)
        elif (m := _MONTH_DAY.match(raw)) or (m := _DAY_MONTH.match(raw)):
            month_word, day_num = (m[1], m[2]) if m.re is _MONTH_DAY else (m[2], m[1])
            month = _MONTHS.get(month_word)
            if month is not None:
                result = _next_month_day(month, int(day_num), today)
    except ValueError:  # e.g. 2026-02-30 or "Feb 30"
        result = None
    if result is None:
        raise ValidationError(
            f"I can't read {text.strip()[:30]!r} as a date: use YYYY-MM-DD, a month and "
            "day, or a number of days or weeks.",
            UNTIL_EXAMPLE,
        )
    if result <= today:
        raise ValidationError("That date is not in the future: pick a later day.", UNTIL_EXAMPLE)
    if result > _one_year_after(today):
        raise ValidationError("A pause can last up to one year.", UNTIL_EXAMPLE)
    return result


def _next_month_day(month: int, day_num: int, today: date) -> date:
    """The first (month, day) strictly after today; Feb 29 waits for a leap year."""
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day_num)
        except ValueError:
            if month == 2 and day_num == 29:
                continue
            raise
        if candidate > today:
            return candidate
    raise ValueError("no such date")


# ------------------------------------------------------------------------ schedule


@dataclass(frozen=True)
class RoundSchedule:
    """When a circle's rounds open (local days and time) and how long they stay open.

    ``close_after`` is elapsed time: a 12h round that spans a DST change is open for
    12 real hours, so its local closing time shifts by an hour.
    """

    days: tuple[int, ...]
    time: time
    close_after: timedelta
    timezone: str

    def __post_init__(self) -> None:
        if not self.days or tuple(sorted(set(self.days))) != self.days:
            raise ValueError(f"days must be sorted, unique and non-empty: {self.days!r}")
        if not all(0 <= d <= 6 for d in self.days):
            raise ValueError(f"days must be weekdays 0..6: {self.days!r}")
        if self.time.tzinfo is not None:
            raise ValueError("time is a wall-clock time in `timezone`: no tzinfo")
        if self.close_after <= timedelta():
            raise ValueError("close_after must be positive")
        ZoneInfo(self.timezone)  # raises for an unknown zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_open_after(self, after_utc: datetime) -> datetime:
        """The first scheduled opening strictly after ``after_utc``, in UTC.

        To catch up after downtime, a service can compare
        ``next_open_after(last_opened_at)`` with now and its grace window.
        """
        if after_utc.tzinfo is None:
            raise ValueError("after_utc must be timezone-aware")
        local_day = after_utc.astimezone(self.zone).date()
        # Start a day early: a gap can move an opening forward past midnight.
        for offset in range(-1, 9):
            day = local_day + timedelta(days=offset)
            if day.weekday() in self.days:
                opens = self.opening_on(day)
                if opens > after_utc:
                    return opens
        raise AssertionError("unreachable: every week has a scheduled day")

    def opening_on(self, day: date) -> datetime:
        """The UTC instant of the round scheduled on local ``day`` (any weekday)."""
        return resolve_local(day, self.time, self.zone)

    def closes_at(self, opened_at_utc: datetime) -> datetime:
        if opened_at_utc.tzinfo is None:
            raise ValueError("opened_at_utc must be timezone-aware")
        return (opened_at_utc + self.close_after).astimezone(UTC)

    def shortest_gap(self) -> timedelta:
        """The shortest time between two openings (ignoring DST's hour): a close_after
        longer than this would leave two rounds open at once."""
        gaps = [
            (b - a) % 7 or 7 for a, b in zip(self.days, (*self.days[1:], self.days[0]), strict=True)
        ]
        return timedelta(days=min(gaps))

    def describe(self) -> str:
        """For people, e.g. Mon and Thu at 19:00 (America/New_York), open 12h."""
        return (
            f"{format_days(self.days)} at {self.time:%H:%M} ({self.timezone}), "
            f"open {format_duration(self.close_after)}"
        )


def resolve_local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant for wall time ``wall`` on ``day`` in ``zone``.

    Ambiguous (fall back): the first occurrence. Non-existent (spring forward): the
    transition instant, i.e. the first valid local time after the gap.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap, fold=0 uses the offset before the transition (the later UTC instant)
    # and fold=1 the offset after (the earlier one); the transition lies between.
    low = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp())
    after_offset = first.astimezone(zone).utcoffset()
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == after_offset:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)
