"""Remember when a person's last sign-in came with an unconfirmed e-mail address.

``person.unverified_sign_in`` is written at every sign-in: true when the
provider did not confirm the address it sent (no ``email_verified``, and
the operator does not trust every address with ``KUDOS_OIDC_TRUST_EMAIL``).
The directory import refuses to take over such a person (see
``kudos/people/directory.py``). False for everyone before this revision:
not known.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(
            sa.Column("unverified_sign_in", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.drop_column("unverified_sign_in")
