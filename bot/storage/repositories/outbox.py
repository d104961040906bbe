"""The outbox: deliveries owed to Discord, stored with the state change that owes them."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.sharding import Ownership
from bot.storage.database import Tx
from bot.storage.ownership import owned
from bot.timeutil import from_db, to_db


@dataclass(frozen=True)
class Delivery:
    id: int
    kind: str
    dedupe_key: str
    guild_id: int | None
    user_id: int | None
    payload: dict[str, Any]
    nonce: str
    attempts: int
    steps: dict[str, Any] = field(default_factory=dict)
    delivered: bool = False
    failed: bool = False


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=int(row["id"]),
        kind=row["kind"],
        dedupe_key=row["dedupe_key"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        payload=json.loads(row["payload"]),
        nonce=row["nonce"],
        attempts=int(row["attempts"]),
        steps=json.loads(row["steps"]),
        delivered=row["delivered_at"] is not None,
        failed=row["failed_at"] is not None,
    )


async def enqueue(
    tx: Tx,
    kind: str,
    dedupe_key: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    *,
    guild_id: int | None = None,
    user_id: int | None = None,
) -> int | None:
    """Owe a delivery; None if this fact was already owed (its key exists)."""
    row = await tx.fetchone(
        "INSERT INTO outbox (kind, dedupe_key, guild_id, user_id, payload, nonce, created_at, next_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        (
            kind,
            dedupe_key,
            guild_id,
            user_id,
            json.dumps(payload or {}, sort_keys=True),
            secrets.token_hex(6),
            to_db(now),
            to_db(now),
        ),
    )
    return None if row is None else int(row["id"])


async def get(tx: Tx, delivery_id: int) -> Delivery | None:
    row = await tx.fetchone("SELECT * FROM outbox WHERE id = ?", (delivery_id,))
    return None if row is None else _delivery(row)


async def by_key(tx: Tx, dedupe_key: str) -> Delivery | None:
    row = await tx.fetchone("SELECT * FROM outbox WHERE dedupe_key = ?", (dedupe_key,))
    return None if row is None else _delivery(row)


async def due(
    tx: Tx, now: datetime, limit: int = 200, *, ownership: Ownership | None = None
) -> list[Delivery]:
    """Pending deliveries whose time has come and that no worker holds, oldest first
    (only those of the servers `ownership` covers, when given)."""
    where = owned("guild_id", ownership or Ownership())
    rows = await tx.fetchall(
        "SELECT * FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= ? "
        f"AND (claimed_until IS NULL OR claimed_until < ?) AND {where} ORDER BY id LIMIT ?",
        (to_db(now), to_db(now), limit),
    )
    return [_delivery(r) for r in rows]


async def pending_count(tx: Tx) -> int:
    value = await tx.scalar(
        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL"
    )
    return int(value or 0)


async def next_due_at(tx: Tx, ownership: Ownership | None = None) -> datetime | None:
    where = owned("guild_id", ownership or Ownership())
    value = await tx.scalar(
        "SELECT MIN(next_at) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL "
        f"AND {where}"
    )
    return None if value is None else from_db(value)


async def claim(tx: Tx, delivery_id: int, now: datetime, until: datetime) -> bool:
    """Take the lease; False if another worker holds it or it is no longer pending."""
    return (
        await tx.execute(
            "UPDATE outbox SET claimed_until = ?, attempts = attempts + 1 WHERE id = ? "
            "AND delivered_at IS NULL AND failed_at IS NULL "
            "AND (claimed_until IS NULL OR claimed_until < ?)",
            (to_db(until), delivery_id, to_db(now)),
        )
        > 0
    )


async def release_claims(tx: Tx, ownership: Ownership | None = None) -> int:
    """At start: leases held by this process's previous run (it died) no longer hold
    anything. With shard processes, only rows of the servers `ownership` covers: the
    others belong to processes that are still running."""
    where = owned("guild_id", ownership or Ownership())
    return await tx.execute(
        "UPDATE outbox SET claimed_until = NULL WHERE claimed_until IS NOT NULL "
        f"AND delivered_at IS NULL AND {where}"
    )


async def record_step(tx: Tx, delivery_id: int, step: str, result: Any) -> None:
    row = await tx.fetchone(
        "SELECT steps FROM outbox WHERE id = ?" + tx.for_update(), (delivery_id,)
    )
    if row is None:
        return
    steps = json.loads(row["steps"])
    steps[step] = result
    await tx.execute(
        "UPDATE outbox SET steps = ? WHERE id = ?", (json.dumps(steps, sort_keys=True), delivery_id)
    )


async def mark_delivered(tx: Tx, delivery_id: int, at: datetime) -> None:
    await tx.execute(
        "UPDATE outbox SET delivered_at = ?, claimed_until = NULL WHERE id = ?",
        (to_db(at), delivery_id),
    )


async def mark_failed(tx: Tx, delivery_id: int, at: datetime, failure: str) -> None:
    await tx.execute(
        "UPDATE outbox SET failed_at = ?, failure = ?, claimed_until = NULL WHERE id = ?",
        (to_db(at), failure, delivery_id),
    )


async def retry_later(tx: Tx, delivery_id: int, at: datetime, failure: str) -> None:
    await tx.execute(
        "UPDATE outbox SET next_at = ?, failure = ?, claimed_until = NULL WHERE id = ?",
        (to_db(at), failure, delivery_id),
    )


async def revive(tx: Tx, dedupe_key: str, now: datetime) -> int | None:
    """Try a failed or waiting delivery again now (a facilitator asked for a repair)."""
    row = await tx.fetchone(
        "UPDATE outbox SET failed_at = NULL, failure = NULL, next_at = ?, attempts = 0 "
        "WHERE dedupe_key = ? AND delivered_at IS NULL RETURNING id",
        (to_db(now), dedupe_key),
    )
    return None if row is None else int(row["id"])


async def prune_delivered(tx: Tx, before: datetime) -> int:
    return await tx.execute(
        "DELETE FROM outbox WHERE (delivered_at IS NOT NULL AND delivered_at < ?) "
        "OR (failed_at IS NOT NULL AND failed_at < ?)",
        (to_db(before), to_db(before)),
    )
