"""SCIM provisioning: a SCIM id for every person and team, the provisioning
client's tokens, what the identity provider sent about the people and teams
it manages, and audit entries by a non-person actor ("provisioning").

Everyone already there gets a random SCIM id, so a provider connecting to
an existing directory finds them rather than creating them again.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _give_scim_ids(table: str) -> None:
    connection = op.get_bind()
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column("scim_id", sa.String))
    ids = connection.execute(sa.select(rows.c.id)).scalars().all()
    if ids:
        connection.execute(
            rows.update().where(rows.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, "scim_id": str(uuid.uuid4())} for row_id in ids],
        )


def upgrade() -> None:
    for table in ("person", "team"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("scim_id", sa.String(length=36), nullable=True))
        _give_scim_ids(table)
        with op.batch_alter_table(table) as batch:
            batch.create_unique_constraint(op.f(f"uq_{table}_scim_id"), ["scim_id"])
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("actor_label", sa.String(length=40), nullable=True))
    op.create_table(
        "scim_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_token_token_hash")),
    )
    op.create_table(
        "scim_user",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=320), nullable=False),
        sa.Column("user_name_key", sa.String(length=320), nullable=False),
        sa.Column("external_id", sa.String(length=320), nullable=True),
        sa.Column("manager_ref", sa.String(length=320), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_scim_user_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_scim_user")),
        sa.UniqueConstraint("user_name_key", name=op.f("uq_scim_user_user_name_key")),
    )
    op.create_index(op.f("ix_scim_user_external_id"), "scim_user", ["external_id"])
    op.create_index(
        "ix_scim_user_manager_ref",
        "scim_user",
        ["manager_ref"],
        postgresql_where=sa.text("manager_ref IS NOT NULL"),
        sqlite_where=sa.text("manager_ref IS NOT NULL"),
    )
    op.create_table(
        "scim_group",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_scim_group_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_scim_group")),
    )
    op.create_index(op.f("ix_scim_group_external_id"), "scim_group", ["external_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_scim_group_external_id"), table_name="scim_group")
    op.drop_table("scim_group")
    op.drop_index("ix_scim_user_manager_ref", table_name="scim_user")
    op.drop_index(op.f("ix_scim_user_external_id"), table_name="scim_user")
    op.drop_table("scim_user")
    op.drop_table("scim_token")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("actor_label")
    for table in ("team", "person"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"uq_{table}_scim_id"), type_="unique")
            batch.drop_column("scim_id")
