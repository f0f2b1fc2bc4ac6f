"""Slack: linked users, the posts made about kudos, Slack messages in the
outbox, and two preferences (a Slack direct message for each kudos; named
in the channel post of a public kudos, or told privately instead).

Every message already queued is an e-mail. People already there are not
sent Slack messages until they choose to, and are named in channel posts
as public kudos are shown on the web.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_link",
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_slack_link_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("slack_user_id", name=op.f("pk_slack_link")),
        sa.UniqueConstraint("person_id", name=op.f("uq_slack_link_person_id")),
    )
    op.create_table(
        "slack_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('channel', 'team_channel', 'direct')", name=op.f("ck_slack_post_kind")
        ),
        sa.ForeignKeyConstraint(
            ["kudos_id"],
            ["kudos.id"],
            name=op.f("fk_slack_post_kudos_id_kudos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_post")),
        sa.UniqueConstraint("channel", "ts", name=op.f("uq_slack_post_channel_ts")),
    )
    op.create_index(op.f("ix_slack_post_kudos_id"), "slack_post", ["kudos_id"])
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(
            sa.Column("transport", sa.String(length=8), server_default="email", nullable=False)
        )
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.create_check_constraint("transport", "transport IN ('email', 'slack')")
    with op.batch_alter_table("recognition_preference") as batch:
        batch.add_column(
            sa.Column("slack_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("in_slack_channel", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("recognition_preference") as batch:
        batch.drop_column("in_slack_channel")
        batch.drop_column("slack_opt_in")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_constraint("transport", type_="check")
        batch.drop_column("payload")
        batch.drop_column("transport")
    op.drop_index(op.f("ix_slack_post_kudos_id"), table_name="slack_post")
    op.drop_table("slack_post")
    op.drop_table("slack_link")
