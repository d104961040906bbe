"""Buddy pairing: opt-ins, private avoid lists, cycles and who was grouped with whom.

- ``buddy_schedules``: a circle's recurring cycles (every N days from a weekday and time in
  the circle's zone).
- ``buddy_optins``: who takes part in a circle's pairing; a snooze date; silent cycles in a
  row (three pause the member, who resumes with ``/buddy join``).
- ``buddy_avoid``: private "don't pair me with" lists, per server. ``avoided_id`` is not a
  member-data column of the avoided member (it is the avoider's data): it is never exported
  to them, but erasing them removes these rows too.
- ``buddy_cycles``: one running cycle per circle (a partial unique index).
- ``buddy_members``: one row per member per cycle: their group number (NULL: nobody could
  be placed with them), and their answer. Group-mates are found through the group number,
  so erasing a member leaves no trace of them in others' rows.

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import Flag, RowId, Snowflake, Text, Time

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _circle_fk() -> sa.Column:
    return sa.Column(
        "circle_id", RowId, sa.ForeignKey("circles.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "buddy_schedules",
        sa.Column(
            "circle_id",
            RowId,
            sa.ForeignKey("circles.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("every_days", sa.Integer, nullable=False),
        sa.Column("weekday", sa.Integer, nullable=False),  # Mon=0
        sa.Column("time", Text, nullable=False),  # HH:MM in the circle's zone
    )
    op.create_table(
        "buddy_optins",
        _circle_fk(),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("joined_at", Time, nullable=False),
        sa.Column("snoozed_until", Text),  # a date (YYYY-MM-DD): skipped until then
        sa.Column("silent_cycles", sa.Integer, nullable=False, server_default="0"),
        sa.Column("paused", Flag, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("circle_id", "user_id"),
    )
    op.create_index("buddy_optins_user", "buddy_optins", ["user_id"])
    op.create_table(
        "buddy_avoid",
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("avoided_id", Snowflake, nullable=False),
        sa.Column("added_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", "avoided_id"),
    )
    op.create_index("buddy_avoid_avoided", "buddy_avoid", ["avoided_id"])
    op.create_table(
        "buddy_cycles",
        sa.Column("id", RowId, primary_key=True),
        _circle_fk(),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("slot", Text, nullable=False),  # scheduled start (UTC) or 'now:…'
        sa.Column("started_at", Time, nullable=False),
        sa.Column("ends_at", Time, nullable=False),
        sa.Column("ended_at", Time),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.UniqueConstraint("circle_id", "slot"),
    )
    running = sa.text("ended_at IS NULL")
    op.create_index(
        "buddy_cycles_one_running",
        "buddy_cycles",
        ["circle_id"],
        unique=True,
        sqlite_where=running,
        postgresql_where=running,
    )
    op.create_table(
        "buddy_members",
        sa.Column(
            "cycle_id",
            RowId,
            sa.ForeignKey("buddy_cycles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("group_no", sa.Integer),  # NULL: alone this cycle (told privately)
        sa.Column(
            "answer",
            Text,
            sa.CheckConstraint("answer IN ('connected', 'not_yet', 'skip')"),
        ),
        sa.Column("answered_at", Time),
        sa.PrimaryKeyConstraint("cycle_id", "user_id"),
    )
    op.create_index("buddy_members_user", "buddy_members", ["user_id"])


def downgrade() -> None:
    for table in (
        "buddy_members",
        "buddy_cycles",
        "buddy_avoid",
        "buddy_optins",
        "buddy_schedules",
    ):
        op.drop_table(table)
