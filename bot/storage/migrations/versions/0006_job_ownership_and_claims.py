"""Timers know their server, and a process claims a timer before running it.

`scheduled_jobs.guild_id` routes a timer to the process that runs the server's shard (NULL:
DM-only work, shard 0). `claimed_by`/`claimed_until` are a lease: two processes can never run
one timer at once, and a timer whose process died mid-run is run again once the lease ends
(or at once, when the same shard set restarts). Existing timers get their server from the
circle or round they are about.

Revision ID: 0006
Revises: 0005
"""

import json

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import Snowflake, Text, Time

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_GUILD_OF = {
    "guild_id": None,
    "circle_id": "SELECT guild_id FROM circles WHERE id = :id",
    "round_id": "SELECT guild_id FROM rounds WHERE id = :id",
}


def upgrade() -> None:
    op.add_column("scheduled_jobs", sa.Column("guild_id", Snowflake))
    op.add_column("scheduled_jobs", sa.Column("claimed_by", Text))
    op.add_column("scheduled_jobs", sa.Column("claimed_until", Time))
    conn = op.get_bind()
    for job_id, payload in conn.execute(sa.text("SELECT job_id, payload FROM scheduled_jobs")):
        data = json.loads(payload)
        guild_id = None
        for key, query in _GUILD_OF.items():
            if key not in data:
                continue
            if query is None:
                guild_id = int(data[key])
            else:
                guild_id = conn.execute(sa.text(query), {"id": int(data[key])}).scalar()
            break
        if guild_id is not None:
            conn.execute(
                sa.text("UPDATE scheduled_jobs SET guild_id = :g WHERE job_id = :j"),
                {"g": guild_id, "j": job_id},
            )
