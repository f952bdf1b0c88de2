"""create registry and identity

Revision ID: 20261122_1200
Revises:
Create Date: 2026-11-22 13:06:34.477076+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261122_1200"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "life_situations",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_life_situations")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_at"), "login_attempts", ["at"], unique=False)
    op.create_index(op.f("ix_login_attempts_client"), "login_attempts", ["client"], unique=False)
    op.create_index(
        op.f("ix_login_attempts_key_hash"), "login_attempts", ["key_hash"], unique=False
    )
    op.create_table(
        "organization_types",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organization_types")),
    )
    op.create_table(
        "regions",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("okato", sa.String(length=2), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_genitive", sa.String(length=200), nullable=False),
        sa.Column("federal_district", sa.String(length=40), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
        sa.UniqueConstraint("name", name=op.f("uq_regions_name")),
    )
    op.create_table(
        "services",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("is_mszu", sa.Boolean(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("proactive", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_services")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=12), nullable=False),
        sa.Column("previous_key_hash", sa.String(length=64), nullable=True),
        sa.Column("previous_key_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_sources_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    op.create_table(
        "founders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("short_name", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=True),
        sa.Column("region_code", sa.String(length=2), nullable=True),
        sa.CheckConstraint(
            "(kind = 'regional') = (region_code IS NOT NULL)",
            name=op.f("ck_founders_region_if_regional"),
        ),
        sa.CheckConstraint("kind IN ('federal', 'regional')", name=op.f("ck_founders_kind")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_founders_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_founders")),
        sa.UniqueConstraint("code", name=op.f("uq_founders_code")),
    )
    op.create_index(op.f("ix_founders_region_code"), "founders", ["region_code"], unique=False)
    op.create_table(
        "life_situation_services",
        sa.Column("life_situation_code", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["life_situation_code"],
            ["life_situations.code"],
            name=op.f("fk_life_situation_services_life_situation_code_life_situations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["services.code"],
            name=op.f("fk_life_situation_services_service_code_services"),
        ),
        sa.PrimaryKeyConstraint(
            "life_situation_code", "position", name=op.f("pk_life_situation_services")
        ),
    )
    op.create_index(
        op.f("ix_life_situation_services_service_code"),
        "life_situation_services",
        ["service_code"],
        unique=False,
    )
    op.create_table(
        "service_organization_types",
        sa.Column("service_code", sa.String(length=100), nullable=False),
        sa.Column("type_code", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["services.code"],
            name=op.f("fk_service_organization_types_service_code_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["type_code"],
            ["organization_types.code"],
            name=op.f("fk_service_organization_types_type_code_organization_types"),
        ),
        sa.PrimaryKeyConstraint(
            "service_code", "type_code", name=op.f("pk_service_organization_types")
        ),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ogrn", sa.String(length=13), nullable=False),
        sa.Column("inn", sa.String(length=10), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.String(length=500), nullable=False),
        sa.Column("type_code", sa.String(length=60), nullable=False),
        sa.Column("region_code", sa.String(length=2), nullable=False),
        sa.Column("founder_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("participates_from", sa.Date(), nullable=True),
        sa.Column("participates_to", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("inn ~ '^[0-9]{10}$'", name=op.f("ck_organizations_inn_format")),
        sa.CheckConstraint("ogrn ~ '^[0-9]{13}$'", name=op.f("ck_organizations_ogrn_format")),
        sa.CheckConstraint(
            "participates_to IS NULL OR participates_from IS NULL OR participates_to >= participates_from",
            name=op.f("ck_organizations_participation_period"),
        ),
        sa.ForeignKeyConstraint(
            ["founder_id"], ["founders.id"], name=op.f("fk_organizations_founder_id_founders")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_organizations_region_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["type_code"],
            ["organization_types.code"],
            name=op.f("fk_organizations_type_code_organization_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("ogrn", name=op.f("uq_organizations_ogrn")),
    )
    op.create_index(
        op.f("ix_organizations_founder_id"), "organizations", ["founder_id"], unique=False
    )
    op.create_index(op.f("ix_organizations_inn"), "organizations", ["inn"], unique=False)
    op.create_index(
        op.f("ix_organizations_region_code"), "organizations", ["region_code"], unique=False
    )
    op.create_index(
        op.f("ix_organizations_type_code"), "organizations", ["type_code"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=300), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("scope_kind", sa.String(length=20), nullable=False),
        sa.Column("scope_organization_id", sa.BigInteger(), nullable=True),
        sa.Column("scope_region_code", sa.String(length=2), nullable=True),
        sa.Column("scope_founder_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(scope_kind = 'organization') = (scope_organization_id IS NOT NULL) AND (scope_kind = 'region') = (scope_region_code IS NOT NULL) AND (scope_kind = 'founder') = (scope_founder_id IS NOT NULL)",
            name=op.f("ck_users_scope_target"),
        ),
        sa.ForeignKeyConstraint(
            ["scope_founder_id"], ["founders.id"], name=op.f("fk_users_scope_founder_id_founders")
        ),
        sa.ForeignKeyConstraint(
            ["scope_organization_id"],
            ["organizations.id"],
            name=op.f("fk_users_scope_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["scope_region_code"], ["regions.code"], name=op.f("fk_users_scope_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_audit_log_actor_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        op.f("ix_audit_log_actor_user_id"), "audit_log", ["actor_user_id"], unique=False
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_user_sessions_expires_at"), "user_sessions", ["expires_at"], unique=False
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)

    # The audit log is append-only: the database itself refuses UPDATE and DELETE.
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only';
        END $$;
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_index(op.f("ix_user_sessions_expires_at"), table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor_user_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index(op.f("ix_organizations_type_code"), table_name="organizations")
    op.drop_index(op.f("ix_organizations_region_code"), table_name="organizations")
    op.drop_index(op.f("ix_organizations_inn"), table_name="organizations")
    op.drop_index(op.f("ix_organizations_founder_id"), table_name="organizations")
    op.drop_table("organizations")
    op.drop_table("service_organization_types")
    op.drop_index(
        op.f("ix_life_situation_services_service_code"), table_name="life_situation_services"
    )
    op.drop_table("life_situation_services")
    op.drop_index(op.f("ix_founders_region_code"), table_name="founders")
    op.drop_table("founders")
    op.drop_table("sources")
    op.drop_table("services")
    op.drop_table("regions")
    op.drop_table("organization_types")
    op.drop_index(op.f("ix_login_attempts_key_hash"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_client"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_at"), table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("life_situations")
