"""Rotating roles: volunteers, cycles, holders, and the prompt holder's next question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.circles import Circle
from bot.domain.roles import Volunteer
from bot.storage.crypto import TextCipher
from bot.storage.database import Tx
from bot.timeutil import from_db, to_db


def _time(value: Any) -> datetime | None:
    return None if value is None else from_db(value)


@dataclass(frozen=True)
class Holder:
    cycle_id: int
    circle_id: int
    role: str
    user_id: int | None
    note: str | None
    previous_turn_at: datetime | None


@dataclass(frozen=True)
class Cycle:
    id: int
    circle_id: int
    guild_id: int
    cycle_key: str
    started_at: datetime


def _holder(row: Any) -> Holder:
    return Holder(
        int(row["cycle_id"]),
        int(row["circle_id"]),
        row["role"],
        None if row["user_id"] is None else int(row["user_id"]),
        row["note"],
        _time(row["previous_turn_at"]),
    )


def _cycle(row: Any) -> Cycle:
    return Cycle(
        int(row["id"]),
        int(row["circle_id"]),
        int(row["guild_id"]),
        row["cycle_key"],
        from_db(row["started_at"]),
    )


# -- volunteers


async def add_volunteer(tx: Tx, circle: Circle, role: str, user_id: int, at: datetime) -> bool:
    row = await tx.fetchone(
        "INSERT INTO circle_role_volunteers (circle_id, guild_id, role, user_id, volunteered_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING user_id",
        (circle.id, circle.guild_id, role, user_id, to_db(at)),
    )
    return row is not None


async def remove_volunteer(tx: Tx, circle_id: int, role: str, user_id: int) -> bool:
    removed = await tx.execute(
        "DELETE FROM circle_role_volunteers WHERE circle_id = ? AND role = ? AND user_id = ?",
        (circle_id, role, user_id),
    )
    return removed > 0


async def volunteers(tx: Tx, circle_id: int) -> list[Volunteer]:
    rows = await tx.fetchall(
        "SELECT * FROM circle_role_volunteers WHERE circle_id = ? ORDER BY volunteered_at, user_id",
        (circle_id,),
    )
    return [
        Volunteer(
            int(r["user_id"]), r["role"], from_db(r["volunteered_at"]), _time(r["last_turn_at"])
        )
        for r in rows
    ]


async def set_last_turn(
    tx: Tx, circle_id: int, role: str, user_id: int, at: datetime | None
) -> None:
    await tx.execute(
        "UPDATE circle_role_volunteers SET last_turn_at = ? "
        "WHERE circle_id = ? AND role = ? AND user_id = ?",
        (None if at is None else to_db(at), circle_id, role, user_id),
    )


# -- cycles and holders


async def start_cycle(tx: Tx, circle: Circle, cycle_key: str, at: datetime) -> Cycle | None:
    """The new cycle, or None if this circle already had the cycle (a re-run)."""
    row = await tx.fetchone(
        "INSERT INTO circle_role_cycles (circle_id, guild_id, cycle_key, started_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (circle.id, circle.guild_id, cycle_key, to_db(at)),
    )
    return None if row is None else await get_cycle(tx, int(row["id"]))


async def get_cycle(tx: Tx, cycle_id: int) -> Cycle | None:
    row = await tx.fetchone("SELECT * FROM circle_role_cycles WHERE id = ?", (cycle_id,))
    return None if row is None else _cycle(row)


async def latest_cycles(tx: Tx, circle_id: int, count: int) -> list[Cycle]:
    rows = await tx.fetchall(
        "SELECT * FROM circle_role_cycles WHERE circle_id = ? ORDER BY started_at DESC, id DESC "
        "LIMIT ?",
        (circle_id, count),
    )
    return [_cycle(r) for r in rows]


async def hold_cycle(tx: Tx, cycle_id: int) -> None:
    """Serialise changes to one cycle's holders (two presses of Swap at once)."""
    await tx.execute(
        "UPDATE circle_role_cycles SET started_at = started_at WHERE id = ?", (cycle_id,)
    )


async def set_holder(
    tx: Tx,
    cycle: Cycle,
    role: str,
    user_id: int | None,
    note: str | None,
    previous_turn_at: datetime | None,
) -> None:
    await tx.execute(
        "INSERT INTO circle_role_holders "
        "(cycle_id, circle_id, guild_id, role, user_id, note, previous_turn_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cycle_id, role) DO UPDATE SET "
        "user_id = excluded.user_id, note = excluded.note, "
        "previous_turn_at = excluded.previous_turn_at",
        (
            cycle.id,
            cycle.circle_id,
            cycle.guild_id,
            role,
            user_id,
            note,
            None if previous_turn_at is None else to_db(previous_turn_at),
        ),
    )


async def holders(tx: Tx, cycle_id: int) -> dict[str, Holder]:
    rows = await tx.fetchall("SELECT * FROM circle_role_holders WHERE cycle_id = ?", (cycle_id,))
    return {r["role"]: _holder(r) for r in rows}


async def add_pass(
    tx: Tx, cycle: Cycle, role: str, user_id: int, action: str, at: datetime
) -> None:
    await tx.execute(
        "INSERT INTO circle_role_passes (cycle_id, guild_id, role, user_id, action, at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (cycle.id, cycle.guild_id, role, user_id, action, to_db(at)),
    )


async def passed(tx: Tx, cycle_id: int, role: str) -> set[int]:
    rows = await tx.fetchall(
        "SELECT user_id FROM circle_role_passes WHERE cycle_id = ? AND role = ?", (cycle_id, role)
    )
    return {int(r["user_id"]) for r in rows}


# -- the next round's question


async def set_next_prompt(
    tx: Tx, cipher: TextCipher, circle: Circle, prompt: str, user_id: int, at: datetime
) -> None:
    await tx.execute(
        "INSERT INTO circle_next_prompts (circle_id, guild_id, prompt, set_by_user_id, set_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (circle_id) DO UPDATE SET prompt = excluded.prompt, "
        "set_by_user_id = excluded.set_by_user_id, set_at = excluded.set_at",
        (circle.id, circle.guild_id, cipher.encrypt(prompt), user_id, to_db(at)),
    )


async def take_next_prompt(tx: Tx, cipher: TextCipher, circle_id: int) -> str | None:
    """The question set for the next round, removed as it is used (inside the round's open)."""
    row = await tx.fetchone(
        "SELECT prompt FROM circle_next_prompts WHERE circle_id = ?", (circle_id,)
    )
    if row is None:
        return None
    await tx.execute("DELETE FROM circle_next_prompts WHERE circle_id = ?", (circle_id,))
    return cipher.decrypt(bytes(row["prompt"]))


async def next_prompt(tx: Tx, cipher: TextCipher, circle_id: int) -> str | None:
    row = await tx.fetchone(
        "SELECT prompt FROM circle_next_prompts WHERE circle_id = ?", (circle_id,)
    )
    return None if row is None else cipher.decrypt(bytes(row["prompt"]))
