"""Crisis plans: one row per member, each form's part encrypted in its own column."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.crisisplan import CrisisPlan, decode_parts
from bot.storage.crypto import TextCipher
from bot.storage.database import Tx
from bot.timeutil import from_db, to_db

_PART_COLUMNS = {1: "part1", 2: "part2"}


async def save_part(
    tx: Tx, cipher: TextCipher, user_id: int, part: int, encoded: str, now: datetime
) -> None:
    """Write one part; the other part is untouched (one statement, so saves never race)."""
    column = _PART_COLUMNS[part]
    await tx.execute(
        f"INSERT INTO crisis_plans (user_id, {column}, created_at, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
        f"{column} = excluded.{column}, updated_at = excluded.updated_at",
        (user_id, cipher.encrypt(encoded), to_db(now), to_db(now)),
    )


def _plan(cipher: TextCipher, row: Any) -> CrisisPlan:
    parts = (cipher.decrypt_optional(row["part1"]), cipher.decrypt_optional(row["part2"]))
    return CrisisPlan(int(row["user_id"]), decode_parts(parts), from_db(row["updated_at"]))


async def get(tx: Tx, cipher: TextCipher, user_id: int) -> CrisisPlan | None:
    row = await tx.fetchone("SELECT * FROM crisis_plans WHERE user_id = ?", (user_id,))
    return None if row is None else _plan(cipher, row)


async def exists(tx: Tx, user_id: int) -> bool:
    row = await tx.fetchone("SELECT 1 FROM crisis_plans WHERE user_id = ?", (user_id,))
    return row is not None


async def delete(tx: Tx, user_id: int) -> bool:
    return await tx.execute("DELETE FROM crisis_plans WHERE user_id = ?", (user_id,)) > 0
