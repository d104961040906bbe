"""One open round per circle, as a database guard.

Two facilitators opening a round at the same moment get one round, not two. Rounds left
open side by side by older versions are closed first (all but the newest).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE rounds SET closed_at = opened_at WHERE closed_at IS NULL AND id NOT IN "
        "(SELECT MAX(id) FROM rounds WHERE closed_at IS NULL GROUP BY circle_id)"
    )
    open_only = sa.text("closed_at IS NULL")
    op.create_index(
        "rounds_one_open",
        "rounds",
        ["circle_id"],
        unique=True,
        sqlite_where=open_only,
        postgresql_where=open_only,
    )
