"""Help requests, capacity and gratitude.

Free text (an ask, an anonymous addition, a reveal's reason, a thank-you note) is stored
encrypted. The guards against a double click live here: one offer per member per ask (the
primary key), one routing per member per ask, one ledger entry per helper per ask.
Ids are never reused (AUTOINCREMENT on SQLite; PostgreSQL's sequences never reuse): what an
ask owes is keyed by its id in the outbox, which outlives an erased ask by a week.

Revision ID: 0009
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import Blob, Flag, RowId, Snowflake, Text, Time

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _ask_fk() -> sa.Column:
    return sa.Column(
        "ask_id", RowId, sa.ForeignKey("help_asks.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "help_circle_settings",
        sa.Column(
            "circle_id",
            RowId,
            sa.ForeignKey("circles.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("help_channel_id", Snowflake),  # NULL: the circle's channel
        sa.Column("gratitude_channel_id", Snowflake),  # NULL: the circle's channel
        sa.Column("idle_days", sa.Integer, nullable=False, server_default="3"),
        sa.Column("time_bank", Flag, nullable=False, server_default="1"),
    )
    op.create_table(
        "help_asks",
        sa.Column("id", RowId, primary_key=True),
        sa.Column(
            "circle_id", RowId, sa.ForeignKey("circles.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("requester_id", Snowflake, nullable=False),
        sa.Column("kind", Text, nullable=False),
        sa.Column("anonymous", Flag, nullable=False, server_default="0"),
        sa.Column("what", Blob, nullable=False),  # encrypted
        sa.Column("when_where", Blob),  # encrypted
        sa.Column("enough", Blob),  # encrypted
        sa.Column("flagged", Flag, nullable=False, server_default="0"),  # met the safety net
        sa.Column("channel_id", Snowflake, nullable=False),  # where its thread opens
        sa.Column("thread_id", Snowflake),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("last_activity_at", Time, nullable=False),
        sa.Column("care_asked_at", Time),
        sa.Column("closed_at", Time),
        sa.Column("outcome", Text),  # resolved / withdrawn / idle / left
        sqlite_autoincrement=True,  # ids never reused: outbox keys name them
    )
    op.create_index("help_asks_requester", "help_asks", ["requester_id", "created_at"])
    op.create_index("help_asks_circle", "help_asks", ["circle_id", "closed_at"])
    op.create_table(
        "help_additions",
        sa.Column("id", RowId, primary_key=True),
        _ask_fk(),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("requester_id", Snowflake, nullable=False),
        sa.Column("text", Blob, nullable=False),  # encrypted
        sa.Column("added_at", Time, nullable=False),
        sqlite_autoincrement=True,  # ids never reused: outbox keys name them
    )
    op.create_table(
        "help_offers",
        _ask_fk(),
        sa.Column("offerer_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("offered_at", Time, nullable=False),
        sa.Column("accepted_at", Time),
        sa.PrimaryKeyConstraint("ask_id", "offerer_id"),
    )
    op.create_index("help_offers_offerer", "help_offers", ["offerer_id", "accepted_at"])
    op.create_table(
        "help_routes",
        _ask_fk(),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("routed_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("ask_id", "user_id"),
    )
    op.create_table(
        "help_capacity",
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("state", Text, nullable=False),
        sa.Column("until", Text),  # YYYY-MM-DD, the last day it holds
        sa.Column("kinds", Text, nullable=False),  # 'practical,social'
        sa.Column("max_helps", sa.Integer, nullable=False, server_default="2"),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id"),
    )
    op.create_table(
        "help_reveals",
        sa.Column("id", RowId, primary_key=True),
        _ask_fk(),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("requester_id", Snowflake, nullable=False),
        sa.Column("revealed_by_user_id", Snowflake, nullable=False),
        sa.Column("reason", Blob, nullable=False),  # encrypted
        sa.Column("revealed_at", Time, nullable=False),
        sqlite_autoincrement=True,  # ids never reused: outbox keys name them
    )
    op.create_table(
        "help_thanks",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("circle_id", RowId, sa.ForeignKey("circles.id", ondelete="SET NULL")),
        sa.Column("giver_user_id", Snowflake, nullable=False),
        sa.Column("recipient_user_id", Snowflake, nullable=False),
        sa.Column("note", Blob),  # encrypted
        sa.Column("private", Flag, nullable=False, server_default="0"),
        sa.Column("given_at", Time, nullable=False),
        sqlite_autoincrement=True,  # ids never reused: outbox keys name them
    )
    op.create_index("help_thanks_giver", "help_thanks", ["giver_user_id", "given_at"])
    op.create_table(
        "help_ledger",
        _ask_fk(),
        sa.Column("helper_user_id", Snowflake, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("asker_minutes", sa.Integer),
        sa.Column("helper_minutes", sa.Integer),
        sa.PrimaryKeyConstraint("ask_id", "helper_user_id"),
    )
