"""Members whose DMs are closed: never retried, told once when they next use a command."""

from __future__ import annotations

from datetime import datetime

from bot.storage.database import Tx
from bot.timeutil import to_db


async def mark_closed(tx: Tx, user_id: int, at: datetime) -> None:
    await tx.execute(
        "INSERT INTO dm_status (user_id, closed_at) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET closed_at = excluded.closed_at, told_member = 0",
        (user_id, to_db(at)),
    )


async def closed_ids(tx: Tx, user_ids: list[int]) -> set[int]:
    if not user_ids:
        return set()
    marks = ",".join("?" * len(user_ids))
    rows = await tx.fetchall(f"SELECT user_id FROM dm_status WHERE user_id IN ({marks})", user_ids)
    return {int(r["user_id"]) for r in rows}


async def has_untold(tx: Tx, user_id: int) -> bool:
    return (
        await tx.scalar("SELECT 1 FROM dm_status WHERE user_id = ? AND told_member = 0", (user_id,))
        is not None
    )


async def take_untold(tx: Tx, user_id: int) -> bool:
    """True once after DMs to this member failed: the caller tells them, then it is marked told."""
    return (
        await tx.execute(
            "UPDATE dm_status SET told_member = 1 WHERE user_id = ? AND told_member = 0", (user_id,)
        )
        > 0
    )


async def reopen(tx: Tx, user_id: int) -> None:
    await tx.execute("DELETE FROM dm_status WHERE user_id = ?", (user_id,))
