"""Crisis resources a server's facilitators added, shown after the shipped lines."""

from __future__ import annotations

from bot.domain.crisis import LocalResource
from bot.storage.database import Tx


async def list_for(tx: Tx, guild_id: int) -> list[LocalResource]:
    rows = await tx.fetchall(
        "SELECT name, how, url, notes FROM local_resources WHERE guild_id = ? ORDER BY id",
        (guild_id,),
    )
    return [LocalResource(r["name"], r["how"], r["url"], r["notes"]) for r in rows]


async def hold_guild(tx: Tx, guild_id: int) -> None:
    """One writer at a time for this server's list (its size limit is checked before adding)."""
    await tx.serialize(f"local_resources:{guild_id}")


async def add(tx: Tx, guild_id: int, resource: LocalResource) -> None:
    await tx.execute(
        "INSERT INTO local_resources (guild_id, name, how, url, notes) VALUES (?, ?, ?, ?, ?)",
        (guild_id, resource.name, resource.how, resource.url, resource.notes),
    )


async def remove(tx: Tx, guild_id: int, name: str) -> bool:
    return (
        await tx.execute(
            "DELETE FROM local_resources WHERE guild_id = ? AND lower(name) = lower(?)",
            (guild_id, name),
        )
        > 0
    )
