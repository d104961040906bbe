"""The talking piece: live gatherings (one per channel, as a database guard), the airtime
each member had once a gathering ended, and the voice mutes the bot itself placed.

A gathering's state (seats, order, holder, deadline, hands) is one JSON document with a
version: every change is a compare-and-set on that version, so two presses of one button
can never both apply.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import RowId, Snowflake, Text, Time

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "talk_gatherings",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column(
            "circle_id", RowId, sa.ForeignKey("circles.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("channel_id", Snowflake, nullable=False),
        sa.Column("message_id", Snowflake),  # the board, once posted
        sa.Column("live", sa.Integer),  # 1 while live, NULL once ended
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", Text, nullable=False),  # JSON; member ids only while live
        sa.Column("created_at", Time, nullable=False),
        sa.Column("ended_at", Time),
    )
    live_only = sa.text("live IS NOT NULL")
    op.create_index(
        "talk_one_live_per_channel",
        "talk_gatherings",
        ["channel_id"],
        unique=True,
        sqlite_where=live_only,
        postgresql_where=live_only,
    )
    op.create_table(
        "talk_airtime",
        sa.Column(
            "gathering_id",
            RowId,
            sa.ForeignKey("talk_gatherings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("turns", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("gathering_id", "user_id"),
    )
    op.create_table(
        "talk_mutes",
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("gathering_id", RowId, nullable=False),
        sa.Column("muted_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id"),
    )
