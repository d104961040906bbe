"""Circles, their members, check-in rounds and answers.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import Blob, Flag, RowId, Snowflake, Text, Time, nocase

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _circle_fk() -> sa.Column:
    return sa.Column(
        "circle_id", RowId, sa.ForeignKey("circles.id", ondelete="CASCADE"), nullable=False
    )


def _round_fk() -> sa.Column:
    return sa.Column(
        "round_id", RowId, sa.ForeignKey("rounds.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "circles",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("name", Text, nullable=False),
        sa.Column("channel_id", Snowflake, nullable=False),
        sa.Column("timezone", Text, nullable=False, server_default="UTC"),
        sa.Column("agreement", Text),  # NULL = the default text
        sa.Column("schedule_days", Text),  # '0,3' (Mon=0); NULL = no schedule
        sa.Column("schedule_time", Text),  # 'HH:MM' in the circle's zone
        sa.Column("close_after_minutes", sa.Integer, nullable=False, server_default="1440"),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index(
        "circles_guild_name", "circles", ["guild_id", nocase("name", dialect)], unique=True
    )
    op.create_index("circles_channel", "circles", ["channel_id"])

    op.create_table(
        "circle_members",
        _circle_fk(),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("joined_at", Time, nullable=False),
        sa.Column("is_facilitator", Flag, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("circle_id", "user_id"),
    )
    op.create_index("circle_members_user", "circle_members", ["user_id"])

    op.create_table(
        "rounds",
        sa.Column("id", RowId, primary_key=True),
        _circle_fk(),
        sa.Column("guild_id", Snowflake, nullable=False),
        # scheduled open time (UTC), or 'now:<time>': one round per slot
        sa.Column("slot", Text, nullable=False),
        sa.Column("prompt", Text, nullable=False),
        sa.Column("channel_id", Snowflake, nullable=False),
        sa.Column("message_id", Snowflake),
        sa.Column("opened_at", Time, nullable=False),
        sa.Column("closes_at", Time, nullable=False),
        sa.Column("closed_at", Time),
        sa.UniqueConstraint("circle_id", "slot"),
    )
    op.create_index("rounds_open", "rounds", ["circle_id", "closed_at"])

    op.create_table(
        "checkins",
        _round_fk(),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("mood", sa.Integer, sa.CheckConstraint("mood BETWEEN 1 AND 5"), nullable=False),
        sa.Column("note", Blob),  # encrypted at rest
        sa.Column(
            "visibility",
            Text,
            sa.CheckConstraint("visibility IN ('circle', 'facilitators', 'self')"),
            nullable=False,
        ),
        sa.Column("answered_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("round_id", "user_id"),
    )
    op.create_index("checkins_user_time", "checkins", ["user_id", "answered_at"])

    op.create_table(
        "reminders_sent",
        _round_fk(),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.PrimaryKeyConstraint("round_id", "user_id"),
    )
    op.create_table(
        "circle_prompts",
        sa.Column("id", RowId, primary_key=True),
        _circle_fk(),
        sa.Column("prompt", Text, nullable=False),
    )
    op.create_table(
        "prompts_used",
        _circle_fk(),
        sa.Column("prompt", Text, nullable=False),
        sa.PrimaryKeyConstraint("circle_id", "prompt"),
    )
    op.create_table(
        "member_prefs",
        sa.Column("user_id", Snowflake, primary_key=True, autoincrement=False),
        sa.Column("reminders", Flag, nullable=False, server_default="0"),
        sa.Column("paused_until", Text),  # a date (YYYY-MM-DD); away until then
    )
    # Facilitators who have run a facilitator command for a circle: who receives
    # facilitators-only answers at close.
    op.create_table(
        "circle_facilitators",
        _circle_fk(),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("seen_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("circle_id", "user_id"),
    )
