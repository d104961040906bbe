"""Shared resources of a server (name, description, link and notes encrypted) and the
server's choice to approve entries before they are listed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.resources import Draft, Resource
from bot.storage.crypto import TextCipher
from bot.storage.database import Tx
from bot.timeutil import from_db, to_db


def _resource(cipher: TextCipher, row: Any) -> Resource:
    return Resource(
        kind=row["kind"],
        name=cipher.decrypt(bytes(row["name"])),
        offers=cipher.decrypt(bytes(row["offers"])),
        url=cipher.decrypt_optional(None if row["url"] is None else bytes(row["url"])),
        region=row["region"],
        notes=cipher.decrypt_optional(None if row["notes"] is None else bytes(row["notes"])),
        added_on=from_db(row["added_at"]).date(),
        confirmed_on=from_db(row["confirmed_at"]).date(),
        id=int(row["id"]),
        author_id=int(row["author_user_id"]),
        anonymous=bool(row["anonymous"]),
        approved=bool(row["approved"]),
    )


async def add(
    tx: Tx,
    cipher: TextCipher,
    guild_id: int,
    draft: Draft,
    author_id: int,
    anonymous: bool,
    approved: bool,
    at: datetime,
) -> int:
    row_id = await tx.insert(
        "INSERT INTO shared_resources (guild_id, kind, region, name, offers, url, notes, "
        "author_user_id, anonymous, approved, added_at, confirmed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id,
            draft.kind,
            draft.region,
            cipher.encrypt(draft.name),
            cipher.encrypt(draft.offers),
            cipher.encrypt_optional(draft.url),
            cipher.encrypt_optional(draft.notes),
            author_id,
            int(anonymous),
            int(approved),
            to_db(at),
            to_db(at),
        ),
    )
    assert row_id is not None
    return row_id


async def of_guild(tx: Tx, cipher: TextCipher, guild_id: int) -> list[Resource]:
    rows = await tx.fetchall(
        "SELECT * FROM shared_resources WHERE guild_id = ? ORDER BY id", (guild_id,)
    )
    return [_resource(cipher, r) for r in rows]


async def get(tx: Tx, cipher: TextCipher, guild_id: int, entry_id: int) -> Resource | None:
    row = await tx.fetchone(
        "SELECT * FROM shared_resources WHERE guild_id = ? AND id = ?", (guild_id, entry_id)
    )
    return None if row is None else _resource(cipher, row)


async def approve(tx: Tx, guild_id: int, entry_id: int, at: datetime) -> bool:
    changed = await tx.execute(
        "UPDATE shared_resources SET approved = 1, confirmed_at = ? "
        "WHERE guild_id = ? AND id = ? AND approved = 0",
        (to_db(at), guild_id, entry_id),
    )
    return changed > 0


async def remove(tx: Tx, guild_id: int, entry_id: int) -> bool:
    removed = await tx.execute(
        "DELETE FROM shared_resources WHERE guild_id = ? AND id = ?", (guild_id, entry_id)
    )
    return removed > 0


async def count(tx: Tx, guild_id: int) -> int:
    return int(
        await tx.scalar("SELECT COUNT(*) FROM shared_resources WHERE guild_id = ?", (guild_id,))
    )


async def approval_required(tx: Tx, guild_id: int) -> bool:
    value = await tx.scalar(
        "SELECT approval_required FROM resource_settings WHERE guild_id = ?", (guild_id,)
    )
    return bool(value)


async def set_approval_required(tx: Tx, guild_id: int, required: bool) -> None:
    await tx.execute(
        "INSERT INTO resource_settings (guild_id, approval_required) VALUES (?, ?) "
        "ON CONFLICT (guild_id) DO UPDATE SET approval_required = excluded.approval_required",
        (guild_id, int(required)),
    )
