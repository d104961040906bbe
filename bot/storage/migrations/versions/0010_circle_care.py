"""Circle care: a member's personal crisis plan, a circle's rotating roles, shared resources.

A plan belongs to the member, not to a server: it has no guild column and a server's purge
leaves it alone; `/privacy delete` erases it. Its two parts (the two forms) are separate
encrypted columns, so saving one part never overwrites the other, however the saves race.

Revision ID: 0010
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import Blob, Flag, RowId, Snowflake, Text, Time

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_plans",
        sa.Column("user_id", Snowflake, primary_key=True, autoincrement=False),
        sa.Column("part1", Blob),  # encrypted JSON of sections 1–4; NULL until saved
        sa.Column("part2", Blob),  # encrypted JSON of sections 5–7
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
    )

    # Rotating roles. Who volunteered for which role, and when they last held it.
    op.create_table(
        "circle_role_volunteers",
        _circle_fk(),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("role", Text, nullable=False),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("volunteered_at", Time, nullable=False),
        sa.Column("last_turn_at", Time),
        sa.PrimaryKeyConstraint("circle_id", "role", "user_id"),
    )
    op.create_index("circle_role_volunteers_user", "circle_role_volunteers", ["user_id"])
    # One row per cycle: unique per circle and time, so a cycle runs once whatever re-runs.
    op.create_table(
        "circle_role_cycles",
        sa.Column("id", RowId, primary_key=True),
        _circle_fk(),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("cycle_key", Text, nullable=False),
        sa.Column("started_at", Time, nullable=False),
        sa.UniqueConstraint("circle_id", "cycle_key"),
    )
    op.create_table(
        "circle_role_holders",
        _cycle_fk(),
        sa.Column("circle_id", RowId, nullable=False),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("role", Text, nullable=False),
        sa.Column("user_id", Snowflake),  # NULL: nobody available this cycle
        sa.Column("note", Text),  # 'swapped' or 'skipped' when it changed hands
        sa.Column(
            "previous_turn_at", Time
        ),  # the holder's turn before this one (a swap restores it)
        sa.PrimaryKeyConstraint("cycle_id", "role"),
    )
    op.create_index("circle_role_holders_user", "circle_role_holders", ["user_id"])
    # Who handed a role on in a cycle (Swap or Skip): not offered it again that cycle.
    op.create_table(
        "circle_role_passes",
        _cycle_fk(),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("role", Text, nullable=False),
        sa.Column("user_id", Snowflake, nullable=False),
        sa.Column("action", Text, nullable=False),  # 'swap' or 'skip'
        sa.Column("at", Time, nullable=False),
        sa.PrimaryKeyConstraint("cycle_id", "role", "user_id"),
    )
    # The next round's question, set by this cycle's prompt holder (encrypted).
    op.create_table(
        "circle_next_prompts",
        sa.Column(
            "circle_id",
            RowId,
            sa.ForeignKey("circles.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("prompt", Blob, nullable=False),
        sa.Column("set_by_user_id", Snowflake, nullable=False),
        sa.Column("set_at", Time, nullable=False),
    )

    # The circle's shared knowledge: text members wrote is encrypted; kind and region are not
    # (lists filter on them). `author_user_id` is kept even for anonymous entries, so the
    # author's data rights reach them; it is never shown when they chose anonymity.
    op.create_table(
        "shared_resources",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("kind", Text, nullable=False),
        sa.Column("region", Text, nullable=False),
        sa.Column("name", Blob, nullable=False),
        sa.Column("offers", Blob, nullable=False),
        sa.Column("url", Blob),
        sa.Column("notes", Blob),
        sa.Column("author_user_id", Snowflake, nullable=False),
        sa.Column("anonymous", Flag, nullable=False, server_default="0"),
        sa.Column("approved", Flag, nullable=False, server_default="1"),
        sa.Column("added_at", Time, nullable=False),
        sa.Column("confirmed_at", Time, nullable=False),
    )
    op.create_index("shared_resources_guild", "shared_resources", ["guild_id", "approved"])
    op.create_table(
        "resource_settings",
        sa.Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
        sa.Column("approval_required", Flag, nullable=False, server_default="0"),
    )


def _cycle_fk() -> sa.Column:
    return sa.Column(
        "cycle_id",
        RowId,
        sa.ForeignKey("circle_role_cycles.id", ondelete="CASCADE"),
        nullable=False,
    )


def _circle_fk() -> sa.Column:
    return sa.Column(
        "circle_id", RowId, sa.ForeignKey("circles.id", ondelete="CASCADE"), nullable=False
    )


def downgrade() -> None:
    for table in (
        "resource_settings",
        "shared_resources",
        "circle_next_prompts",
        "circle_role_passes",
        "circle_role_holders",
        "circle_role_cycles",
        "circle_role_volunteers",
        "crisis_plans",
    ):
        op.drop_table(table)
