"""Hashes of the last synced command definitions, so restarts do not re-sync needlessly."""

from __future__ import annotations

from datetime import datetime

from bot.storage.database import Tx
from bot.timeutil import to_db


async def last_hash(tx: Tx, scope: str) -> str | None:
    value = await tx.scalar("SELECT hash FROM command_sync WHERE scope = ?", (scope,))
    return None if value is None else str(value)


async def record(tx: Tx, scope: str, digest: str, at: datetime) -> None:
    await tx.execute(
        "INSERT INTO command_sync (scope, hash, synced_at) VALUES (?, ?, ?) "
        "ON CONFLICT (scope) DO UPDATE SET hash = excluded.hash, synced_at = excluded.synced_at",
        (scope, digest, to_db(at)),
    )
