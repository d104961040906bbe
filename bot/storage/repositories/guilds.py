"""Server-level settings and bookkeeping: departures awaiting purge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.storage.database import Tx
from bot.timeutil import to_db


async def record_departure(tx: Tx, guild_id: int, left_at: datetime) -> None:
    await tx.execute(
        "INSERT INTO guild_departures (guild_id, left_at) VALUES (?, ?) "
        "ON CONFLICT (guild_id) DO UPDATE SET left_at = excluded.left_at",
        (guild_id, to_db(left_at)),
    )


async def clear_departure(tx: Tx, guild_id: int) -> bool:
    return await tx.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,)) > 0


async def has_departed(tx: Tx, guild_id: int) -> bool:
    return (
        await tx.scalar("SELECT 1 FROM guild_departures WHERE guild_id = ?", (guild_id,))
        is not None
    )


GUILD_SETTINGS = frozenset(
    {"facilitator_role_id", "crisis_region", "alerts_channel_id", "default_timezone"}
)


async def guild_setting(tx: Tx, guild_id: int, column: str) -> Any:
    if column not in GUILD_SETTINGS:
        raise ValueError(column)
    return await tx.scalar(f"SELECT {column} FROM guild_settings WHERE guild_id = ?", (guild_id,))


async def set_guild_setting(tx: Tx, guild_id: int, column: str, value: Any) -> None:
    if column not in GUILD_SETTINGS:
        raise ValueError(column)
    await tx.execute(
        f"INSERT INTO guild_settings (guild_id, {column}) VALUES (?, ?) "
        f"ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column}",
        (guild_id, value),
    )
