"""Server-level bookkeeping: departures awaiting purge."""

from __future__ import annotations

from datetime import datetime

from bot.storage.database import Tx
from bot.timeutil import to_db


async def record_departure(tx: Tx, guild_id: int, left_at: datetime) -> None:
    await tx.execute(
        "INSERT OR REPLACE INTO guild_departures (guild_id, left_at) VALUES (?, ?)", (guild_id, to_db(left_at))
    )


async def clear_departure(tx: Tx, guild_id: int) -> bool:
    return await tx.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,)) > 0


async def has_departed(tx: Tx, guild_id: int) -> bool:
    return await tx.scalar("SELECT 1 FROM guild_departures WHERE guild_id = ?", (guild_id,)) is not None
