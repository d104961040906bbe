"""Circles, memberships, facilitators and per-server settings."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from bot.domain.circles import Circle
from bot.domain.schedule import RoundSchedule
from bot.storage.database import Tx
from bot.timeutil import from_db, to_db


def _schedule(row: Any) -> RoundSchedule | None:
    if row["schedule_days"] is None:
        return None
    hours, minutes = (int(part) for part in row["schedule_time"].split(":"))
    return RoundSchedule(
        days=tuple(int(d) for d in row["schedule_days"].split(",")),
        time=time(hours, minutes),
        close_after=timedelta(minutes=row["close_after_minutes"]),
        timezone=row["timezone"],
    )


def _circle(row: Any) -> Circle:
    return Circle(
        id=row["id"],
        guild_id=row["guild_id"],
        name=row["name"],
        channel_id=row["channel_id"],
        timezone=row["timezone"],
        agreement=row["agreement"],
        schedule=_schedule(row),
        created_at=from_db(row["created_at"]),
    )


class DuplicateCircle(Exception):
    pass


async def create(
    tx: Tx, guild_id: int, name: str, channel_id: int, timezone: str, at: datetime
) -> Circle:
    circle_id = await tx.insert(
        "INSERT INTO circles (guild_id, name, channel_id, timezone, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING id",
        (guild_id, name, channel_id, timezone, to_db(at)),
    )
    if circle_id is None:
        raise DuplicateCircle(name)
    circle = await get(tx, circle_id)
    assert circle is not None
    return circle


async def get(tx: Tx, circle_id: int) -> Circle | None:
    row = await tx.fetchone("SELECT * FROM circles WHERE id = ?", (circle_id,))
    return None if row is None else _circle(row)


async def by_name(tx: Tx, guild_id: int, name: str) -> Circle | None:
    row = await tx.fetchone(
        "SELECT * FROM circles WHERE guild_id = ? AND lower(name) = lower(?)",
        (guild_id, name.strip()),
    )
    return None if row is None else _circle(row)


async def by_channel(tx: Tx, guild_id: int, channel_id: int) -> list[Circle]:
    rows = await tx.fetchall(
        "SELECT * FROM circles WHERE guild_id = ? AND channel_id = ? ORDER BY id",
        (guild_id, channel_id),
    )
    return [_circle(r) for r in rows]


async def names(tx: Tx, guild_id: int, containing: str, limit: int = 25) -> list[str]:
    rows = await tx.fetchall(
        "SELECT name FROM circles WHERE guild_id = ? AND lower(name) LIKE lower(?) ESCAPE '\\' "
        "ORDER BY lower(name) LIMIT ?",
        (
            guild_id,
            "%" + containing.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
            limit,
        ),
    )
    return [r["name"] for r in rows]


async def scheduled(tx: Tx) -> list[Circle]:
    return [
        _circle(r)
        for r in await tx.fetchall("SELECT * FROM circles WHERE schedule_days IS NOT NULL")
    ]


async def set_schedule(tx: Tx, circle_id: int, schedule: RoundSchedule | None) -> None:
    if schedule is None:
        await tx.execute(
            "UPDATE circles SET schedule_days = NULL, schedule_time = NULL WHERE id = ?",
            (circle_id,),
        )
        return
    await tx.execute(
        "UPDATE circles SET schedule_days = ?, schedule_time = ?, close_after_minutes = ?, timezone = ? "
        "WHERE id = ?",
        (
            ",".join(str(d) for d in schedule.days),
            schedule.time.strftime("%H:%M"),
            int(schedule.close_after.total_seconds() // 60),
            schedule.timezone,
            circle_id,
        ),
    )


async def set_agreement(tx: Tx, circle_id: int, agreement: str) -> None:
    await tx.execute("UPDATE circles SET agreement = ? WHERE id = ?", (agreement, circle_id))


async def hold(tx: Tx, circle_id: int) -> None:
    """Hold the circle's row until this transaction ends (a read-then-write on its rounds)."""
    await tx.execute("SELECT id FROM circles WHERE id = ?" + tx.for_update(), (circle_id,))


# -- membership


async def add_member(tx: Tx, circle: Circle, user_id: int, at: datetime) -> bool:
    return (
        await tx.execute(
            "INSERT INTO circle_members (circle_id, user_id, guild_id, joined_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (circle.id, user_id, circle.guild_id, to_db(at)),
        )
        > 0
    )


async def remove_member(tx: Tx, circle_id: int, user_id: int) -> bool:
    return (
        await tx.execute(
            "DELETE FROM circle_members WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
        )
        > 0
    )


async def is_member(tx: Tx, circle_id: int, user_id: int) -> bool:
    return (
        await tx.scalar(
            "SELECT 1 FROM circle_members WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
        )
        is not None
    )


async def member_ids(tx: Tx, circle_id: int) -> list[int]:
    rows = await tx.fetchall(
        "SELECT user_id FROM circle_members WHERE circle_id = ? ORDER BY joined_at, user_id",
        (circle_id,),
    )
    return [int(r["user_id"]) for r in rows]


async def member_count(tx: Tx, circle_id: int) -> int:
    return int(
        await tx.scalar("SELECT COUNT(*) FROM circle_members WHERE circle_id = ?", (circle_id,))
    )


async def circles_of(tx: Tx, user_id: int) -> list[Circle]:
    rows = await tx.fetchall(
        "SELECT c.* FROM circles c JOIN circle_members m ON m.circle_id = c.id WHERE m.user_id = ? ORDER BY c.id",
        (user_id,),
    )
    return [_circle(r) for r in rows]


async def note_facilitator(tx: Tx, circle: Circle, user_id: int, at: datetime) -> None:
    await tx.execute(
        "INSERT INTO circle_facilitators (circle_id, user_id, guild_id, seen_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (circle_id, user_id) DO UPDATE SET seen_at = excluded.seen_at",
        (circle.id, user_id, circle.guild_id, to_db(at)),
    )


async def facilitator_ids(tx: Tx, circle_id: int) -> list[int]:
    rows = await tx.fetchall(
        "SELECT user_id FROM circle_facilitators WHERE circle_id = ? ORDER BY seen_at DESC",
        (circle_id,),
    )
    return [int(r["user_id"]) for r in rows]
