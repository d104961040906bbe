"""Persisted timers: the scheduler is rebuilt from these rows at every start."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.sharding import Ownership
from bot.storage.database import Tx
from bot.storage.ownership import owned
from bot.timeutil import from_db, to_db


@dataclass(frozen=True)
class StoredJob:
    job_id: str
    kind: str
    run_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    guild_id: int | None = None  # the server it is about (routes it to a shard); None: DM-only
    claimed_by: str | None = field(default=None, compare=False)
    claimed_until: datetime | None = field(default=None, compare=False)


def _job(row: Any) -> StoredJob:
    until = row["claimed_until"]
    return StoredJob(
        row["job_id"],
        row["kind"],
        from_db(row["run_at"]),
        json.loads(row["payload"]),
        row["guild_id"],
        row["claimed_by"],
        None if until is None else from_db(until),
    )


async def upsert(tx: Tx, job: StoredJob) -> None:
    """Store a timer; a rescheduled timer is free to be claimed again at its new time."""
    await tx.execute(
        "INSERT INTO scheduled_jobs (job_id, kind, run_at, payload, guild_id) "
        "VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (job_id) DO UPDATE SET kind = excluded.kind, run_at = excluded.run_at, "
        "payload = excluded.payload, guild_id = excluded.guild_id, "
        "claimed_by = NULL, claimed_until = NULL",
        (
            job.job_id,
            job.kind,
            to_db(job.run_at),
            json.dumps(job.payload, sort_keys=True),
            job.guild_id,
        ),
    )


async def get(tx: Tx, job_id: str) -> StoredJob | None:
    row = await tx.fetchone("SELECT * FROM scheduled_jobs WHERE job_id = ?", (job_id,))
    return None if row is None else _job(row)


async def all_jobs(tx: Tx, ownership: Ownership | None = None) -> list[StoredJob]:
    """Every stored timer, or only those of the servers `ownership` covers."""
    where = owned("guild_id", ownership or Ownership())
    rows = await tx.fetchall(f"SELECT * FROM scheduled_jobs WHERE {where} ORDER BY run_at")
    return [_job(r) for r in rows]


async def due(tx: Tx, now: datetime, ownership: Ownership | None = None) -> list[StoredJob]:
    where = owned("guild_id", ownership or Ownership())
    rows = await tx.fetchall(
        f"SELECT * FROM scheduled_jobs WHERE run_at <= ? AND {where} ORDER BY run_at",
        (to_db(now),),
    )
    return [_job(r) for r in rows]


async def claim(
    tx: Tx, job: StoredJob, owner: str, now: datetime, until: datetime
) -> StoredJob | None:
    """Take the lease on this timer at this time; None if it is gone, was rescheduled, or
    another process holds an unexpired lease. The guard that makes a timer run once."""
    row = await tx.fetchone(
        "UPDATE scheduled_jobs SET claimed_by = ?, claimed_until = ? "
        "WHERE job_id = ? AND run_at = ? AND (claimed_until IS NULL OR claimed_until < ?) "
        "RETURNING *",
        (owner, to_db(until), job.job_id, to_db(job.run_at), to_db(now)),
    )
    return None if row is None else _job(row)


async def unclaim(tx: Tx, job_id: str, owner: str) -> None:
    """Give a lease back (the handler failed; the timer stays to run again)."""
    await tx.execute(
        "UPDATE scheduled_jobs SET claimed_by = NULL, claimed_until = NULL "
        "WHERE job_id = ? AND claimed_by = ?",
        (job_id, owner),
    )


async def release_claims(tx: Tx, owner: str) -> int:
    """At start: leases this process's previous run held (it died mid-job) hold nothing."""
    return await tx.execute(
        "UPDATE scheduled_jobs SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?",
        (owner,),
    )


async def delete(tx: Tx, job_id: str) -> None:
    await tx.execute("DELETE FROM scheduled_jobs WHERE job_id = ?", (job_id,))


async def delete_if_unchanged(tx: Tx, job: StoredJob) -> None:
    """Remove a job that has run, unless its handler already rescheduled it (a reschedule
    also clears the claim, so the timer is free again at its new time)."""
    await tx.execute(
        "DELETE FROM scheduled_jobs WHERE job_id = ? AND run_at = ?",
        (job.job_id, to_db(job.run_at)),
    )
