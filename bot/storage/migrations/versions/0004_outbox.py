"""The outbox: what a state change owes Discord (a post, a DM, an edit).

Written in the same transaction as the change and delivered by the outbox worker, after a
restart too. Payloads carry ids, never member text: a delivery renders from the database
when it runs.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import RowId, Snowflake, Text, Time

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("kind", Text, nullable=False),
        # one delivery per fact, e.g. 'round-summary:42'
        sa.Column("dedupe_key", Text, nullable=False, unique=True),
        sa.Column("guild_id", Snowflake),  # NULL: not about one server
        sa.Column("user_id", Snowflake),  # the member a DM is for, if any
        sa.Column("payload", Text, nullable=False, server_default="{}"),
        sa.Column("nonce", Text, nullable=False),  # Discord message nonce base (enforce_nonce)
        sa.Column("created_at", Time, nullable=False),
        sa.Column("next_at", Time, nullable=False),  # earliest next attempt (UTC)
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_until", Time),  # a worker's lease while it delivers
        sa.Column("steps", Text, nullable=False, server_default="{}"),  # step -> result done
        sa.Column("delivered_at", Time),
        sa.Column("failed_at", Time),
        sa.Column("failure", Text),  # an HTTP status and code, never text
    )
    op.create_index("outbox_pending", "outbox", ["delivered_at", "failed_at", "next_at"])
    op.create_index("outbox_user", "outbox", ["user_id"])
