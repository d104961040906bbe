"""Persisted timers: the scheduler is rebuilt from these rows at every start."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.storage.database import Tx
from bot.timeutil import from_db, to_db


@dataclass(frozen=True)
class StoredJob:
    job_id: str
    kind: str
    run_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


def _job(row: Any) -> StoredJob:
    return StoredJob(row["job_id"], row["kind"], from_db(row["run_at"]), json.loads(row["payload"]))


async def upsert(tx: Tx, job: StoredJob) -> None:
    await tx.execute(
        "INSERT INTO scheduled_jobs (job_id, kind, run_at, payload) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (job_id) DO UPDATE SET kind = excluded.kind, run_at = excluded.run_at, "
        "payload = excluded.payload",
        (job.job_id, job.kind, to_db(job.run_at), json.dumps(job.payload, sort_keys=True)),
    )


async def get(tx: Tx, job_id: str) -> StoredJob | None:
    row = await tx.fetchone("SELECT * FROM scheduled_jobs WHERE job_id = ?", (job_id,))
    return None if row is None else _job(row)


async def all_jobs(tx: Tx) -> list[StoredJob]:
    return [_job(r) for r in await tx.fetchall("SELECT * FROM scheduled_jobs ORDER BY run_at")]


async def due(tx: Tx, now: datetime) -> list[StoredJob]:
    rows = await tx.fetchall(
        "SELECT * FROM scheduled_jobs WHERE run_at <= ? ORDER BY run_at", (to_db(now),)
    )
    return [_job(r) for r in rows]


async def delete(tx: Tx, job_id: str) -> None:
    await tx.execute("DELETE FROM scheduled_jobs WHERE job_id = ?", (job_id,))


async def delete_if_unchanged(tx: Tx, job: StoredJob) -> None:
    """Remove a job that has run, unless its handler already rescheduled it."""
    await tx.execute(
        "DELETE FROM scheduled_jobs WHERE job_id = ? AND run_at = ?",
        (job.job_id, to_db(job.run_at)),
    )
