"""Foundation: bookkeeping, persisted jobs, command-sync hashes, server departures, DM status.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import Blob, Flag, Snowflake, Text, Time

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta", sa.Column("key", Text, primary_key=True), sa.Column("value", Blob, nullable=False)
    )
    # The database is the source of truth for every timer; the scheduler is rebuilt from it.
    op.create_table(
        "scheduled_jobs",
        sa.Column("job_id", Text, primary_key=True),
        sa.Column("kind", Text, nullable=False),
        sa.Column("run_at", Time, nullable=False),
        sa.Column("payload", Text, nullable=False, server_default="{}"),
    )
    op.create_index("scheduled_jobs_run_at", "scheduled_jobs", ["run_at"])
    op.create_table(
        "command_sync",
        sa.Column("scope", Text, primary_key=True),  # 'global' or a guild id
        sa.Column("hash", Text, nullable=False),
        sa.Column("synced_at", Time, nullable=False),
    )
    # When the bot leaves a server, its data is erased after a grace period.
    op.create_table(
        "guild_departures",
        sa.Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
        sa.Column("left_at", Time, nullable=False),
    )
    # Members whose DMs are closed: remembered so the bot never retries.
    op.create_table(
        "dm_status",
        sa.Column("user_id", Snowflake, primary_key=True, autoincrement=False),
        sa.Column("closed_at", Time, nullable=False),
        sa.Column("told_member", Flag, nullable=False, server_default="0"),
    )
