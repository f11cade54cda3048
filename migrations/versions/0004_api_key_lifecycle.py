"""api key lifecycle: who created a key, when it was last used, expires and was revoked

The tokens printed by `admin create-workspace` and `admin create-superuser` need nothing more:
they are API keys of scope ADMIN (role admin) and operators' keys (role superuser) as they are,
without expiry and never revoked.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:01:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("last_used_at", app.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("expires_at", app.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("revoked_at", app.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_api_tokens_created_by_user_id_users", "users", ["created_by_user_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint("fk_api_tokens_created_by_user_id_users", type_="foreignkey")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("created_by_user_id")
