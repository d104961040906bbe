"""Buddy pairing: schedules, opt-ins, private avoid lists, cycles and their groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from bot.domain.buddies import Answer, Cycle, CycleSchedule, CycleStats, PastGroup
from bot.storage.database import Tx
from bot.timeutil import from_db, to_db

# -- schedules


async def set_schedule(
    tx: Tx, circle_id: int, guild_id: int, every_weeks: int, weekday: int, at: time
) -> None:
    await tx.execute(
        "INSERT INTO buddy_schedules (circle_id, guild_id, every_days, weekday, time) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (circle_id) DO UPDATE SET "
        "every_days = excluded.every_days, weekday = excluded.weekday, time = excluded.time",
        (circle_id, guild_id, every_weeks * 7, weekday, f"{at:%H:%M}"),
    )


async def clear_schedule(tx: Tx, circle_id: int) -> bool:
    return await tx.execute("DELETE FROM buddy_schedules WHERE circle_id = ?", (circle_id,)) > 0


async def get_schedule(tx: Tx, circle_id: int, timezone: str) -> CycleSchedule | None:
    row = await tx.fetchone("SELECT * FROM buddy_schedules WHERE circle_id = ?", (circle_id,))
    if row is None:
        return None
    hours, minutes = (int(x) for x in row["time"].split(":"))
    return CycleSchedule(
        int(row["every_days"]) // 7, int(row["weekday"]), time(hours, minutes), timezone
    )


# -- opt-ins


@dataclass(frozen=True)
class OptIn:
    user_id: int
    snoozed_until: date | None
    silent_cycles: int
    paused: bool


def _optin(row: Any) -> OptIn:
    return OptIn(
        int(row["user_id"]),
        None if row["snoozed_until"] is None else date.fromisoformat(row["snoozed_until"]),
        int(row["silent_cycles"]),
        bool(row["paused"]),
    )


async def get_optin(tx: Tx, circle_id: int, user_id: int) -> OptIn | None:
    row = await tx.fetchone(
        "SELECT * FROM buddy_optins WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
    )
    return None if row is None else _optin(row)


async def join(tx: Tx, circle_id: int, guild_id: int, user_id: int, at: datetime) -> None:
    """Opt in, or resume after a pause or a snooze."""
    await tx.execute(
        "INSERT INTO buddy_optins (circle_id, user_id, guild_id, joined_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (circle_id, user_id) DO UPDATE SET paused = 0, silent_cycles = 0, "
        "snoozed_until = NULL",
        (circle_id, user_id, guild_id, to_db(at)),
    )


async def leave(tx: Tx, circle_id: int, user_id: int) -> bool:
    return (
        await tx.execute(
            "DELETE FROM buddy_optins WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
        )
        > 0
    )


async def snooze(tx: Tx, guild_id: int, user_id: int, until: date) -> int:
    """Skip every circle of this server until `until`; how many opt-ins it touched."""
    return await tx.execute(
        "UPDATE buddy_optins SET snoozed_until = ? WHERE guild_id = ? AND user_id = ?",
        (until.isoformat(), guild_id, user_id),
    )


async def optins(tx: Tx, circle_id: int) -> list[OptIn]:
    rows = await tx.fetchall(
        "SELECT * FROM buddy_optins WHERE circle_id = ? ORDER BY user_id", (circle_id,)
    )
    return [_optin(r) for r in rows]


async def optin_circle_ids(tx: Tx, guild_id: int, user_id: int) -> list[int]:
    rows = await tx.fetchall(
        "SELECT circle_id FROM buddy_optins WHERE guild_id = ? AND user_id = ? ORDER BY circle_id",
        (guild_id, user_id),
    )
    return [int(r["circle_id"]) for r in rows]


async def count_silence(tx: Tx, cycle_id: int, circle_id: int, pause_after: int) -> list[int]:
    """After a cycle: members who answered start again at 0, the silent count up; those
    reaching `pause_after` are paused. Returns the newly paused."""
    await tx.execute(
        "UPDATE buddy_optins SET silent_cycles = 0 WHERE circle_id = ? AND user_id IN "
        "(SELECT user_id FROM buddy_members WHERE cycle_id = ? AND answer IS NOT NULL)",
        (circle_id, cycle_id),
    )
    await tx.execute(
        "UPDATE buddy_optins SET silent_cycles = silent_cycles + 1 WHERE circle_id = ? AND "
        "user_id IN (SELECT user_id FROM buddy_members WHERE cycle_id = ? AND answer IS NULL "
        "AND group_no IS NOT NULL)",
        (circle_id, cycle_id),
    )
    rows = await tx.fetchall(
        "UPDATE buddy_optins SET paused = 1 WHERE circle_id = ? AND paused = 0 "
        "AND silent_cycles >= ? RETURNING user_id",
        (circle_id, pause_after),
    )
    return sorted(int(r["user_id"]) for r in rows)


# -- avoid lists (private: read only to pair, and by their owner)


async def add_avoid(tx: Tx, guild_id: int, user_id: int, avoided_id: int, at: datetime) -> bool:
    row = await tx.fetchone(
        "INSERT INTO buddy_avoid (guild_id, user_id, avoided_id, added_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING user_id",
        (guild_id, user_id, avoided_id, to_db(at)),
    )
    return row is not None


async def remove_avoid(tx: Tx, guild_id: int, user_id: int, avoided_id: int) -> bool:
    return (
        await tx.execute(
            "DELETE FROM buddy_avoid WHERE guild_id = ? AND user_id = ? AND avoided_id = ?",
            (guild_id, user_id, avoided_id),
        )
        > 0
    )


async def avoid_pairs(tx: Tx, guild_id: int) -> list[tuple[int, int]]:
    rows = await tx.fetchall(
        "SELECT user_id, avoided_id FROM buddy_avoid WHERE guild_id = ?", (guild_id,)
    )
    return [(int(r["user_id"]), int(r["avoided_id"])) for r in rows]


# -- cycles


def _cycle(row: Any) -> Cycle:
    return Cycle(
        id=int(row["id"]),
        circle_id=int(row["circle_id"]),
        guild_id=int(row["guild_id"]),
        slot=row["slot"],
        started_at=from_db(row["started_at"]),
        ends_at=from_db(row["ends_at"]),
        ended_at=None if row["ended_at"] is None else from_db(row["ended_at"]),
        seed=int(row["seed"]),
    )


async def start_cycle(
    tx: Tx,
    circle_id: int,
    guild_id: int,
    slot: str,
    started_at: datetime,
    ends_at: datetime,
    seed: int,
) -> Cycle | None:
    """A new running cycle; None if this slot has one or another cycle is running."""
    cycle_id = await tx.insert(
        "INSERT INTO buddy_cycles (circle_id, guild_id, slot, started_at, ends_at, seed) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (circle_id, guild_id, slot, to_db(started_at), to_db(ends_at), seed),
    )
    return None if cycle_id is None else await get_cycle(tx, cycle_id)


async def get_cycle(tx: Tx, cycle_id: int, hold: bool = False) -> Cycle | None:
    """`hold`: keep the cycle from ending until this transaction ends (PostgreSQL; SQLite's
    writes run one at a time), so an answer stored while it ran is counted at its end."""
    row = await tx.fetchone(
        "SELECT * FROM buddy_cycles WHERE id = ?" + (tx.for_share("buddy_cycles") if hold else ""),
        (cycle_id,),
    )
    return None if row is None else _cycle(row)


async def running_cycle(tx: Tx, circle_id: int) -> Cycle | None:
    row = await tx.fetchone(
        "SELECT * FROM buddy_cycles WHERE circle_id = ? AND ended_at IS NULL", (circle_id,)
    )
    return None if row is None else _cycle(row)


async def end_cycle(tx: Tx, cycle_id: int, at: datetime) -> bool:
    """End once: False when it had already ended."""
    return (
        await tx.execute(
            "UPDATE buddy_cycles SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            (to_db(at), cycle_id),
        )
        > 0
    )


async def add_members(
    tx: Tx,
    cycle: Cycle,
    groups: Sequence[Sequence[int]],
    lone: Sequence[int],
) -> None:
    rows = [
        (cycle.id, user_id, cycle.guild_id, number)
        for number, group in enumerate(groups, 1)
        for user_id in group
    ] + [(cycle.id, user_id, cycle.guild_id, None) for user_id in lone]
    await tx.executemany(
        "INSERT INTO buddy_members (cycle_id, user_id, guild_id, group_no) VALUES (?, ?, ?, ?)",
        rows,
    )


@dataclass(frozen=True)
class Placement:
    """A member's place in a cycle: their group-mates (empty: alone) and their answer."""

    cycle: Cycle
    user_id: int
    group_no: int | None
    mates: tuple[int, ...]
    answer: Answer | None


async def placement(tx: Tx, cycle_id: int, user_id: int) -> Placement | None:
    row = await tx.fetchone(
        "SELECT * FROM buddy_members WHERE cycle_id = ? AND user_id = ?", (cycle_id, user_id)
    )
    cycle = await get_cycle(tx, cycle_id)
    if row is None or cycle is None:
        return None
    mates: tuple[int, ...] = ()
    if row["group_no"] is not None:
        others = await tx.fetchall(
            "SELECT user_id FROM buddy_members WHERE cycle_id = ? AND group_no = ? AND user_id != ? "
            "ORDER BY user_id",
            (cycle_id, row["group_no"], user_id),
        )
        mates = tuple(int(r["user_id"]) for r in others)
    answer = None if row["answer"] is None else Answer(row["answer"])
    return Placement(cycle, user_id, row["group_no"], mates, answer)


async def members_of(tx: Tx, cycle_id: int) -> list[tuple[int, int | None, Answer | None]]:
    rows = await tx.fetchall(
        "SELECT user_id, group_no, answer FROM buddy_members WHERE cycle_id = ? ORDER BY user_id",
        (cycle_id,),
    )
    return [
        (
            int(r["user_id"]),
            None if r["group_no"] is None else int(r["group_no"]),
            None if r["answer"] is None else Answer(r["answer"]),
        )
        for r in rows
    ]


async def set_answer(
    tx: Tx, cycle_id: int, user_id: int, answer: Answer, at: datetime
) -> Answer | bool | None:
    """Record an answer; returns the previous one (None), or False when not in the cycle."""
    row = await tx.fetchone(
        "SELECT answer FROM buddy_members WHERE cycle_id = ? AND user_id = ?" + tx.for_update(),
        (cycle_id, user_id),
    )
    if row is None:
        return False
    await tx.execute(
        "UPDATE buddy_members SET answer = ?, answered_at = ? WHERE cycle_id = ? AND user_id = ?",
        (answer.value, to_db(at), cycle_id, user_id),
    )
    return None if row["answer"] is None else Answer(row["answer"])


async def current_placements(tx: Tx, guild_id: int, user_id: int) -> list[Placement]:
    """The member's place in every running cycle of this server."""
    rows = await tx.fetchall(
        "SELECT c.id FROM buddy_cycles c JOIN buddy_members m ON m.cycle_id = c.id "
        "WHERE c.guild_id = ? AND c.ended_at IS NULL AND m.user_id = ? ORDER BY c.id",
        (guild_id, user_id),
    )
    found = [await placement(tx, int(r["id"]), user_id) for r in rows]
    return [p for p in found if p is not None]


async def history(tx: Tx, circle_id: int, cycles: int) -> list[PastGroup]:
    """Groups of the circle's last `cycles` cycles (1 = the latest), met if anyone in the
    group answered "We connected". Erased members are simply absent."""
    recent = await tx.fetchall(
        "SELECT id FROM buddy_cycles WHERE circle_id = ? ORDER BY started_at DESC, id DESC LIMIT ?",
        (circle_id, cycles),
    )
    ago = {int(r["id"]): index for index, r in enumerate(recent, 1)}
    if not ago:
        return []
    marks = ",".join("?" * len(ago))
    rows = await tx.fetchall(
        f"SELECT cycle_id, group_no, user_id, answer FROM buddy_members WHERE cycle_id IN ({marks}) "
        "AND group_no IS NOT NULL",
        list(ago),
    )
    groups: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(int(r["cycle_id"]), int(r["group_no"]))].append(r)
    return [
        PastGroup(
            frozenset(int(r["user_id"]) for r in members),
            ago[cycle_id],
            any(r["answer"] == Answer.CONNECTED.value for r in members),
        )
        for (cycle_id, _), members in groups.items()
        if len(members) >= 2
    ]


async def stats(tx: Tx, circle_id: int, cycles: int) -> tuple[int, list[CycleStats]]:
    """Opted in now, and per recent cycle: placed, groups, groups where someone connected."""
    opted = int(
        await tx.scalar(
            "SELECT COUNT(*) FROM buddy_optins WHERE circle_id = ? AND paused = 0", (circle_id,)
        )
    )
    rows = await tx.fetchall(
        "SELECT c.id, c.started_at, "
        "(SELECT COUNT(*) FROM buddy_members m WHERE m.cycle_id = c.id AND m.group_no IS NOT NULL) AS placed, "
        "(SELECT COUNT(DISTINCT m.group_no) FROM buddy_members m WHERE m.cycle_id = c.id) AS groups, "
        "(SELECT COUNT(DISTINCT m.group_no) FROM buddy_members m WHERE m.cycle_id = c.id "
        " AND m.answer = 'connected') AS connected "
        "FROM buddy_cycles c WHERE c.circle_id = ? ORDER BY c.started_at DESC, c.id DESC LIMIT ?",
        (circle_id, cycles),
    )
    return opted, [
        CycleStats(
            from_db(r["started_at"]), int(r["placed"]), int(r["groups"]), int(r["connected"])
        )
        for r in rows
    ]


async def scheduled_circle_ids(tx: Tx) -> list[int]:
    rows = await tx.fetchall("SELECT circle_id FROM buddy_schedules ORDER BY circle_id")
    return [int(r["circle_id"]) for r in rows]


async def in_a_circle(tx: Tx, guild_id: int, user_id: int) -> bool:
    """Whether this member belongs to any circle of the server (so could ever be paired)."""
    return (
        await tx.scalar(
            "SELECT 1 FROM circle_members WHERE guild_id = ? AND user_id = ? LIMIT 1",
            (guild_id, user_id),
        )
        is not None
    )


async def snoozed(tx: Tx, guild_id: int, user_ids: list[int], today: date) -> set[int]:
    """Who of these members is snoozed past today (skipped until their date)."""
    if not user_ids:
        return set()
    marks = ",".join("?" * len(user_ids))
    rows = await tx.fetchall(
        "SELECT DISTINCT user_id FROM buddy_optins"
        f" WHERE guild_id = ? AND snoozed_until > ? AND user_id IN ({marks})",
        [guild_id, today.isoformat(), *user_ids],
    )
    return {int(r["user_id"]) for r in rows}
