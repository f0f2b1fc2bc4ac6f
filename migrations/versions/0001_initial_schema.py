"""Initial schema: the whole data model, and the default eight values.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 05:30:08.588736
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=140), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("name", name=op.f("uq_department_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_department_slug")),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=140), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("name", name=op.f("uq_team_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_team_slug")),
    )
    op.create_table(
        "value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("emoji", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value")),
        sa.UniqueConstraint("name", name=op.f("uq_value_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_value_slug")),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("session_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("onboarding_postponed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_person_email_lowercase")),
        sa.CheckConstraint(
            "manager_id IS NULL OR manager_id <> id", name=op.f("ck_person_not_own_manager")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_person_department_id_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["person.id"],
            name=op.f("fk_person_manager_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_person_team_id_team"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("email", name=op.f("uq_person_email")),
    )
    op.create_index(op.f("ix_person_department_id"), "person", ["department_id"], unique=False)
    op.create_index(op.f("ix_person_manager_id"), "person", ["manager_id"], unique=False)
    op.create_index(op.f("ix_person_team_id"), "person", ["team_id"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_api_token_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_person_id"), "api_token", ["person_id"], unique=False)

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["person.id"],
            name=op.f("fk_audit_entry_actor_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    op.create_index(op.f("ix_audit_entry_actor_id"), "audit_entry", ["actor_id"], unique=False)
    op.create_index(op.f("ix_audit_entry_created_at"), "audit_entry", ["created_at"], unique=False)
    op.create_index(
        "ix_audit_entry_target_type_target_id",
        "audit_entry",
        ["target_type", "target_id"],
        unique=False,
    )

    op.create_table(
        "identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_identity_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_identity_issuer_subject")),
    )
    op.create_index(op.f("ix_identity_person_id"), "identity", ["person_id"], unique=False)

    op.create_table(
        "kudos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("requested_visibility", sa.String(length=16), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by_id", sa.Integer(), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "requested_visibility IN ('public', 'team', 'private')",
            name=op.f("ck_kudos_requested_visibility"),
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'team', 'private')", name=op.f("ck_kudos_visibility")
        ),
        sa.CheckConstraint(
            "hidden_at IS NULL OR hidden_reason IS NOT NULL", name=op.f("ck_kudos_hidden_reason")
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_id"],
            ["person.id"],
            name=op.f("fk_kudos_hidden_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["person.id"],
            name=op.f("fk_kudos_sender_id_person"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kudos")),
        sa.UniqueConstraint(
            "sender_id", "idempotency_key", name=op.f("uq_kudos_sender_id_idempotency_key")
        ),
    )
    op.create_index("ix_kudos_created_at_id", "kudos", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_kudos_sender_id_created_at", "kudos", ["sender_id", "created_at"], unique=False
    )

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_outbox_message_status")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["person.id"],
            name=op.f("fk_outbox_message_recipient_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_message_dedupe_key")),
    )
    op.create_index(
        op.f("ix_outbox_message_recipient_id"), "outbox_message", ["recipient_id"], unique=False
    )
    op.create_index(
        "ix_outbox_message_status_next_attempt_at",
        "outbox_message",
        ["status", "next_attempt_at"],
        unique=False,
    )

    op.create_table(
        "recognition_preference",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("email_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("on_leaderboards", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("best_way_to_thank", sa.String(length=280), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "audience IN ('public', 'team', 'private')",
            name=op.f("ck_recognition_preference_audience"),
        ),
        sa.CheckConstraint(
            "style IN ('low_key', 'celebratory')", name=op.f("ck_recognition_preference_style")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_recognition_preference_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_recognition_preference")),
    )
    op.create_table(
        "favourite_value",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("value_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("position BETWEEN 1 AND 3", name=op.f("ck_favourite_value_position")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["recognition_preference.person_id"],
            name=op.f("fk_favourite_value_person_id_recognition_preference"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["value_id"],
            ["value.id"],
            name=op.f("fk_favourite_value_value_id_value"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "value_id", name=op.f("pk_favourite_value")),
    )
    op.create_index(
        op.f("ix_favourite_value_value_id"), "favourite_value", ["value_id"], unique=False
    )

    op.create_table(
        "kudos_value",
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("value_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kudos_id"],
            ["kudos.id"],
            name=op.f("fk_kudos_value_kudos_id_kudos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["value_id"],
            ["value.id"],
            name=op.f("fk_kudos_value_value_id_value"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("kudos_id", "value_id", name=op.f("pk_kudos_value")),
    )
    op.create_index(op.f("ix_kudos_value_value_id"), "kudos_value", ["value_id"], unique=False)

    op.create_table(
        "reaction",
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kudos_id"], ["kudos.id"], name=op.f("fk_reaction_kudos_id_kudos"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_reaction_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kudos_id", "person_id", name=op.f("pk_reaction")),
    )
    op.create_index(op.f("ix_reaction_person_id"), "reaction", ["person_id"], unique=False)

    op.create_table(
        "recognition",
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("recipient_id <> sender_id", name=op.f("ck_recognition_not_self")),
        sa.ForeignKeyConstraint(
            ["kudos_id"],
            ["kudos.id"],
            name=op.f("fk_recognition_kudos_id_kudos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["person.id"],
            name=op.f("fk_recognition_recipient_id_person"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["person.id"],
            name=op.f("fk_recognition_sender_id_person"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("kudos_id", "recipient_id", name=op.f("pk_recognition")),
    )
    op.create_index("ix_recognition_created_at", "recognition", ["created_at"], unique=False)
    op.create_index(
        "ix_recognition_recipient_id_created_at",
        "recognition",
        ["recipient_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_recognition_sender_id_created_at",
        "recognition",
        ["sender_id", "created_at"],
        unique=False,
    )
    seed_default_values()


def downgrade() -> None:
    op.drop_table("recognition")
    op.drop_table("reaction")
    op.drop_table("kudos_value")
    op.drop_table("favourite_value")
    op.drop_table("recognition_preference")
    op.drop_table("outbox_message")
    op.drop_table("kudos")
    op.drop_table("identity")
    op.drop_table("audit_entry")
    op.drop_table("api_token")
    op.drop_table("person")
    op.drop_table("value")
    op.drop_table("team")
    op.drop_table("department")


# The default values, from the internal-customer-service research in
# PRODUCT.md. Admins may rename, reorder or retire them later.
DEFAULT_VALUES = [
    (
        "responsive",
        "Responsive",
        "⚡",
        "Answered fast and set clear expectations. Never ghosted a coworker.",
    ),
    ("caring", "Caring", "💛", "Listened, showed they cared about the person and the problem."),
    ("competent", "Competent", "🛠️", "Knew their stuff and solved it properly the first time."),
    ("integrity", "Integrity", "🧭", "Did what they said they would, honestly and openly."),
    (
        "collaborative",
        "Collaborative",
        "🤝",
        "Worked across teams and broke down silos to get it done.",
    ),
    (
        "clear-communicator",
        "Clear communicator",
        "💬",
        "Explained things simply and kept everyone in the loop.",
    ),
    ("ownership", "Ownership", "🏁", "Took it on and saw it through to the end."),
    ("mentor", "Mentor", "🌱", "Shared what they know and helped someone grow."),
]


def seed_default_values() -> None:
    value = sa.table(
        "value",
        sa.column("slug", sa.String),
        sa.column("name", sa.String),
        sa.column("emoji", sa.String),
        sa.column("description", sa.String),
        sa.column("position", sa.Integer),
        sa.column("active", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    # SQLite keeps naive UTC (as kudos.db.UTCDateTime writes it); PostgreSQL keeps the zone.
    stamp = now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now
    op.bulk_insert(
        value,
        [
            {
                "slug": slug,
                "name": name,
                "emoji": emoji,
                "description": description,
                "position": position,
                "active": True,
                "created_at": stamp,
            }
            for position, (slug, name, emoji, description) in enumerate(DEFAULT_VALUES, start=1)
        ],
    )
