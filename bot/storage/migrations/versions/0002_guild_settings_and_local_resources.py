"""Per-server settings and the crisis resources a community adds for itself.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import RowId, Snowflake, Text, nocase

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", Snowflake, primary_key=True, autoincrement=False),
        sa.Column("facilitator_role_id", Snowflake),
        sa.Column("crisis_region", Text),
        sa.Column("alerts_channel_id", Snowflake),  # opt-in private note to facilitators
        sa.Column("default_timezone", Text),
    )
    op.create_table(
        "local_resources",
        sa.Column("id", RowId, primary_key=True),
        sa.Column("guild_id", Snowflake, nullable=False),
        sa.Column("name", Text, nullable=False),
        sa.Column("how", Text, nullable=False),
        sa.Column("url", Text),
        sa.Column("notes", Text),
    )
    dialect = op.get_bind().dialect.name
    op.create_index(
        "local_resources_guild_name",
        "local_resources",
        ["guild_id", nocase("name", dialect)],
        unique=True,
    )
