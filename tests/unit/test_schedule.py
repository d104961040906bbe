"""Parsing of schedule options and the round time math, including DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.schedule import (
    COMMON_ZONES,
    RoundSchedule,
    format_duration,
    parse_days,
    parse_duration,
    parse_time_of_day,
    parse_timezone,
    parse_until_date,
    resolve_local,
    timezone_choices,
)
from bot.errors import ValidationError

NY = "America/New_York"

# ------------------------------------------------------------------------ parse_days


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon,thu", (0, 3)),
        ("Mon, Thu", (0, 3)),
        ("monday thursday", (0, 3)),
        ("thu mon", (0, 3)),
        ("tue/fri", (1, 4)),
        ("Tues and Thurs", (1, 3)),
        ("wed;sat", (2, 5)),
        ("weekdays", (0, 1, 2, 3, 4)),
        ("weekends", (5, 6)),
        ("daily", (0, 1, 2, 3, 4, 5, 6)),
        ("every day", (0, 1, 2, 3, 4, 5, 6)),
        ("Every Day", (0, 1, 2, 3, 4, 5, 6)),
        ("mon,mon", (0,)),
        ("sun", (6,)),
        ("mon, weekends", (0, 5, 6)),
    ],
)
def test_parse_days_accepts(text: str, expected: tuple[int, ...]) -> None:
    assert parse_days(text) == expected


@pytest.mark.parametrize("text", ["", "   ", ",", ",,/", "funday", "mon,funday", "m", "1,4"])
def test_parse_days_refuses_with_example(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_days(text)
    assert info.value.example == "days:mon,thu"


# ---------------------------------------------------------------------- time of day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19:00", time(19, 0)),
        ("7:30", time(7, 30)),
        ("07:30", time(7, 30)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("7pm", time(19, 0)),
        ("7 PM", time(19, 0)),
        ("7:30 pm", time(19, 30)),
        ("7:30p.m.", time(19, 30)),
        ("9am", time(9, 0)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("19h", time(19, 0)),
        ("19h30", time(19, 30)),
        ("19.30", time(19, 30)),
        ("noon", time(12, 0)),
        ("midnight", time(0, 0)),
    ],
)
def test_parse_time_accepts(text: str, expected: time) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize(
    "text",
    ["25:00", "19:60", "24:00", "noonish", "", "7", "13pm", "0am", "7:5", "-1:00", "19:00:00"],
)
def test_parse_time_refuses(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_time_of_day(text)
    assert info.value.example in ("time:19:00", "time:7pm")


def test_25_00_names_the_range() -> None:
    with pytest.raises(ValidationError) as info:
        parse_time_of_day("25:00")
    assert "0–23" in info.value.message
    assert info.value.example == "time:19:00"


# ------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("36h", timedelta(hours=36)),
        ("15m", timedelta(minutes=15)),
        ("7d", timedelta(days=7)),
        ("1 day 6 hours", timedelta(days=1, hours=6)),
        ("2 Hours", timedelta(hours=2)),
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["0h", "-3h", "forever", "", "12", "14m", "7d1m", "8d", "1h1h", "h", "3x"]
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_duration(text)
    assert info.value.example == "close_after:12h"


@given(st.integers(min_value=15, max_value=7 * 24 * 60))
def test_format_duration_round_trips(minutes: int) -> None:
    delta = timedelta(minutes=minutes)
    assert parse_duration(format_duration(delta)) == delta


# ------------------------------------------------------------------------ time zones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("America/New_York", NY),
        ("america/new_york", NY),
        ("AMERICA/NEW YORK", NY),
        (" Europe/London ", "Europe/London"),
        ("utc", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_parse_timezone_accepts(text: str, expected: str) -> None:
    assert parse_timezone(text) == expected


@pytest.mark.parametrize("text", ["Mars/Base", "", "New York", "localtime", "America/"])
def test_parse_timezone_refuses(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_timezone(text)
    assert info.value.example == "timezone:America/New_York"


def test_timezone_choices_empty_gives_common_zones() -> None:
    assert timezone_choices("") == list(COMMON_ZONES[:25])
    assert timezone_choices("", limit=3) == ["UTC", NY, "America/Chicago"]


def test_timezone_choices_prefix_then_city_then_substring() -> None:
    choices = timezone_choices("new")
    assert choices[0] == NY  # city prefix, and a common zone
    assert "America/North_Dakota/New_Salem" in choices
    assert timezone_choices("europe/lo")[0] == "Europe/London"
    assert timezone_choices("london") == ["Europe/London"]
    assert timezone_choices("zzzz") == []
    assert len(timezone_choices("a")) == 25


def test_every_choice_parses() -> None:
    for text in ("", "am", "berl", "kol"):
        for zone in timezone_choices(text):
            assert parse_timezone(zone) == zone


# ----------------------------------------------------------------------- until dates

TODAY = date(2026, 5, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("dec 1", date(2026, 12, 1)),
        ("Dec 1", date(2026, 12, 1)),
        ("1 Dec", date(2026, 12, 1)),
        ("December 1st", date(2026, 12, 1)),
        ("may 11", date(2026, 5, 11)),
        ("may 10", date(2027, 5, 10)),  # today → next year's
        ("jan 5", date(2027, 1, 5)),
        ("3d", date(2026, 5, 13)),
        ("2w", date(2026, 5, 24)),
        ("in 2 weeks", date(2026, 5, 24)),
        ("10 days", date(2026, 5, 20)),
        ("tomorrow", date(2026, 5, 11)),
        ("2027-05-10", date(2027, 5, 10)),
    ],
)
def test_parse_until_accepts(text: str, expected: date) -> None:
    assert parse_until_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-05-10", "2026-01-01", "2027-05-11", "0d", "60w", "feb 30", "2026-02-30", "soon", ""],
)
def test_parse_until_refuses(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_until_date(text, TODAY)


def test_feb_29_waits_for_a_leap_year() -> None:
    assert parse_until_date("feb 29", date(2027, 6, 1)) == date(2028, 2, 29)
    with pytest.raises(ValidationError):  # more than a year away
        parse_until_date("feb 29", date(2026, 1, 1))


# -------------------------------------------------------------------------- schedule


def ny_schedule(days: tuple[int, ...] = (0, 3), at: time = time(19, 0)) -> RoundSchedule:
    return RoundSchedule(days, at, timedelta(hours=12), NY)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_describe() -> None:
    assert ny_schedule().describe() == "Mon and Thu at 19:00 (America/New_York), open 12h"
    assert (
        RoundSchedule((0, 2, 4), time(7, 5), timedelta(minutes=90), "UTC").describe()
        == "Mon, Wed and Fri at 07:05 (UTC), open 1h30m"
    )
    assert RoundSchedule((6,), time(9), timedelta(days=1), "UTC").describe().startswith("Sun at")
    assert RoundSchedule(tuple(range(7)), time(9), timedelta(hours=36), "UTC").describe() == (
        "Every day at 09:00 (UTC), open 1d12h"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": ()},
        {"days": (3, 0)},
        {"days": (0, 0)},
        {"days": (7,)},
        {"timezone": "Mars/Base"},
        {"close_after": timedelta()},
        {"time": time(19, tzinfo=UTC)},
    ],
)
def test_schedule_rejects_malformed_fields(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "days": (0,),
        "time": time(19),
        "close_after": timedelta(hours=1),
        "timezone": "UTC",
    } | kwargs
    with pytest.raises(Exception):  # noqa: B017 (ValueError or ZoneInfoNotFoundError)
        RoundSchedule(**fields)  # type: ignore[arg-type]


def test_next_open_is_strictly_after() -> None:
    schedule = ny_schedule()
    # Mon 2026-06-01 19:00 EDT = 23:00 UTC exactly: the next one is Thursday.
    assert schedule.next_open_after(utc(2026, 6, 1, 23, 0)) == utc(2026, 6, 4, 23, 0)
    assert schedule.next_open_after(utc(2026, 6, 1, 22, 59)) == utc(2026, 6, 1, 23, 0)


def test_next_open_requires_aware_datetime() -> None:
    with pytest.raises(ValueError):
        ny_schedule().next_open_after(datetime(2026, 6, 1))


@pytest.mark.parametrize(
    ("zone", "days", "at", "after", "expected_utc"),
    [
        # America/New_York keeps 19:00 local across the March change (EST→EDT).
        (NY, (3,), time(19), utc(2026, 3, 1), utc(2026, 3, 6, 0, 0)),  # Thu 3/5 EST
        (NY, (3,), time(19), utc(2026, 3, 6, 1), utc(2026, 3, 12, 23, 0)),  # Thu 3/12 EDT
        (NY, (6,), time(19), utc(2026, 3, 7), utc(2026, 3, 8, 23, 0)),  # the change day
        # ...and the November change (EDT→EST).
        (NY, (6,), time(19), utc(2026, 10, 20), utc(2026, 10, 25, 23, 0)),  # Sun 10/25 EDT
        (NY, (6,), time(19), utc(2026, 10, 30), utc(2026, 11, 2, 0, 0)),  # Sun 11/1 EST
        (NY, (0,), time(19), utc(2026, 10, 30), utc(2026, 11, 3, 0, 0)),  # Mon 11/2 EST
        # Gap: 02:30 does not exist on 2026-03-08 → the transition, 03:00 EDT.
        (NY, (6,), time(2, 30), utc(2026, 3, 7), utc(2026, 3, 8, 7, 0)),
        (NY, (6,), time(2, 0), utc(2026, 3, 7), utc(2026, 3, 8, 7, 0)),
        (NY, (6,), time(3, 0), utc(2026, 3, 7), utc(2026, 3, 8, 7, 0)),
        # Overlap: 01:30 happens twice on 2026-11-01 → once, the first (EDT).
        (NY, (6,), time(1, 30), utc(2026, 10, 31), utc(2026, 11, 1, 5, 30)),
        (NY, (6,), time(1, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30)),
        # Europe/London: 29 March 2026 01:30 is in the gap → 02:00 BST (01:00 UTC).
        ("Europe/London", (6,), time(1, 30), utc(2026, 3, 28), utc(2026, 3, 29, 1, 0)),
        ("Europe/London", (6,), time(19), utc(2026, 3, 28), utc(2026, 3, 29, 18, 0)),
        ("Europe/London", (6,), time(19), utc(2026, 3, 22), utc(2026, 3, 22, 19, 0)),
        # 25 October 2026 01:30 happens twice → first (BST, 00:30 UTC).
        ("Europe/London", (6,), time(1, 30), utc(2026, 10, 24), utc(2026, 10, 25, 0, 30)),
        ("Europe/London", (6,), time(19), utc(2026, 10, 24), utc(2026, 10, 25, 19, 0)),
    ],
)
def test_dst_table(
    zone: str, days: tuple[int, ...], at: time, after: datetime, expected_utc: datetime
) -> None:
    schedule = RoundSchedule(days, at, timedelta(hours=12), zone)
    assert schedule.next_open_after(after) == expected_utc


def test_ny_keeps_19_local_for_a_year() -> None:
    schedule = ny_schedule()
    at = utc(2026, 1, 1)
    offsets = set()
    for _ in range(104):
        at = schedule.next_open_after(at)
        local = at.astimezone(ZoneInfo(NY))
        assert (local.hour, local.minute, local.weekday() in (0, 3)) == (19, 0, True)
        offsets.add(local.utcoffset())
    assert offsets == {timedelta(hours=-5), timedelta(hours=-4)}


def test_a_whole_missing_day_opens_at_the_transition() -> None:
    # Samoa skipped 30 December 2011 entirely.
    opens = resolve_local(date(2011, 12, 30), time(19), ZoneInfo("Pacific/Apia"))
    assert opens.astimezone(ZoneInfo("Pacific/Apia")) == datetime(
        2011, 12, 31, 0, 0, tzinfo=ZoneInfo("Pacific/Apia")
    )


def test_closes_at_is_elapsed_time_across_dst() -> None:
    schedule = ny_schedule(days=(5,), at=time(19))
    opened = schedule.next_open_after(utc(2026, 10, 30))  # Sat 10/31 19:00 EDT
    closes = schedule.closes_at(opened)
    assert closes - opened == timedelta(hours=12)
    assert closes.tzinfo is UTC
    assert closes.astimezone(ZoneInfo(NY)).hour == 6  # 07:00 EDT would be 06:00 EST


def test_shortest_gap() -> None:
    assert ny_schedule((0, 3)).shortest_gap() == timedelta(days=3)
    assert ny_schedule((0,)).shortest_gap() == timedelta(days=7)
    assert ny_schedule((0, 6)).shortest_gap() == timedelta(days=1)
    assert RoundSchedule(tuple(range(7)), time(9), timedelta(hours=1), "UTC").shortest_gap() == (
        timedelta(days=1)
    )


# ------------------------------------------------------------------ property tests

ZONES = st.sampled_from(
    [NY, "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC", "Pacific/Apia"]
)
SCHEDULES = st.builds(
    RoundSchedule,
    days=st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))),
    time=st.times(),
    close_after=st.just(timedelta(hours=12)),
    timezone=ZONES,
)
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def is_gap(day: date, wall: time, zone: ZoneInfo) -> bool:
    naive = datetime.combine(day, wall)
    back = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return back != naive


@settings(max_examples=300)
@given(SCHEDULES, INSTANTS)
def test_next_open_lands_strictly_after_on_a_scheduled_day(
    schedule: RoundSchedule, after: datetime
) -> None:
    opens = schedule.next_open_after(after)
    assert opens > after
    assert opens.tzinfo is UTC
    zone = ZoneInfo(schedule.timezone)
    assert opens - after <= timedelta(days=8)
    local = opens.astimezone(zone)
    if local.weekday() in schedule.days and local.time() == schedule.time:
        return
    # Otherwise it must be the gap case: the scheduled wall time did not exist that day
    # (the opening then lands just after the gap, on that day or the one after).
    gap_day = next(
        d
        for d in (local.date(), local.date() - timedelta(days=1))
        if d.weekday() in schedule.days and is_gap(d, schedule.time, zone)
    )
    assert schedule.opening_on(gap_day) == opens


@settings(max_examples=150)
@given(SCHEDULES, INSTANTS, st.integers(min_value=1, max_value=30))
def test_consecutive_openings_never_skip_a_day(
    schedule: RoundSchedule, start: datetime, count: int
) -> None:
    zone = ZoneInfo(schedule.timezone)
    openings = [schedule.next_open_after(start)]
    for _ in range(count):
        openings.append(schedule.next_open_after(openings[-1]))
    assert openings == sorted(set(openings))
    # Every scheduled local day strictly between the first and last opening has its
    # own opening, and they come in order.
    first_day = openings[0].astimezone(zone).date()
    last_day = openings[-1].astimezone(zone).date()
    # (A set: in a whole-day gap two days can resolve to one instant, which runs once.)
    expected = {
        schedule.opening_on(first_day + timedelta(days=i))
        for i in range((last_day - first_day).days + 1)
        if (first_day + timedelta(days=i)).weekday() in schedule.days
    }
    assert [o for o in sorted(expected) if openings[0] <= o <= openings[-1]] == openings
