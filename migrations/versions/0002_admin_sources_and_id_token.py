"""Admin rights from two sources, and the last ID token for sign-out.

``person.is_admin`` becomes ``admin_granted`` (granted in Kudos, e.g. by
``kudos admins add``) beside ``admin_from_group`` (the identity provider's
admin group, refreshed at each sign-in), so a sign-in never takes away
rights granted in Kudos. ``identity.id_token`` keeps the last ID token
server-side for the provider's sign-out (``id_token_hint``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.alter_column("is_admin", new_column_name="admin_granted")
        batch.add_column(
            sa.Column("admin_from_group", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("identity") as batch:
        batch.add_column(sa.Column("id_token", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity") as batch:
        batch.drop_column("id_token")
    # Keep everyone who had admin rights from either source.
    op.execute(sa.text("UPDATE person SET admin_granted = admin_granted OR admin_from_group"))
    with op.batch_alter_table("person") as batch:
        batch.drop_column("admin_from_group")
        batch.alter_column("admin_granted", new_column_name="is_admin")
