"""sealed app secrets: app signing secrets encrypted with SAAS_TRACKER_SECRET_KEY

Widens the secret columns for the ciphertext, then seals every secret still in clear (the
keys: SAAS_TRACKER_SECRET_KEY, else the data folder's key file; see app.accounts.sealing). A
database without apps needs no key. The downgrade opens them again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:02:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.accounts import sealing

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_apps = sa.table(
    "apps",
    sa.column("uuid"),
    *(sa.column(name, sa.String()) for name in sealing.SEALED_COLUMNS),
)


def _rewrite(seal: bool) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_apps.c.uuid, *(_apps.c[name] for name in sealing.SEALED_COLUMNS))
    ).all()
    keyring: sealing.Keyring | None = None
    for row in rows:
        values: dict[str, str] = {}
        for name, value in zip(sealing.SEALED_COLUMNS, row[1:], strict=True):
            if value is None or sealing.is_sealed(value) == seal:
                continue
            keyring = keyring or sealing.current()
            values[name] = keyring.seal(value) if seal else keyring.open(value)
        if values:
            connection.execute(sa.update(_apps).where(_apps.c.uuid == row[0]).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("apps", schema=None) as batch_op:
        for name in sealing.SEALED_COLUMNS:
            batch_op.alter_column(
                name, existing_type=sa.String(length=128), type_=sa.String(sealing.SEALED_LENGTH)
            )
    _rewrite(seal=True)


def downgrade() -> None:
    _rewrite(seal=False)
    with op.batch_alter_table("apps", schema=None) as batch_op:
        for name in sealing.SEALED_COLUMNS:
            batch_op.alter_column(
                name, existing_type=sa.String(sealing.SEALED_LENGTH), type_=sa.String(length=128)
            )
