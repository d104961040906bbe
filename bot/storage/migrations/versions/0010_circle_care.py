"""Circle care: a member's personal crisis plan.

A plan belongs to the member, not to a server: it has no guild column and a server's purge
leaves it alone; `/privacy delete` erases it. Its two parts (the two forms) are separate
encrypted columns, so saving one part never overwrites the other, however the saves race.

Revision ID: 0010
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.migrations.types import Blob, Snowflake, Time

revision = "0010"
down_revision = "0006"
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


def downgrade() -> None:
    op.drop_table("crisis_plans")
