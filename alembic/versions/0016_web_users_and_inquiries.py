"""Web users, their sessions and sign-in attempts; inquiries; the leaderboard's settings.

- `web_users` (the owner invites; the service may only set a password through a
  link) and `user_tokens` (single-use links: once used or voided, a link stays so;
  the database refuses any other change);
- `web_sessions` (the service starts, touches and ends them);
- `sign_in_attempts`, `inquiries` and `inquiry_messages` are append-only;
- `program_settings` and `leaderboard_choices`: the leaderboard switch and each
  partner's choice to be named on it.

What the service's role may do with each is `payouts.privileges`.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
APPEND_ONLY = ("sign_in_attempts", "inquiries", "inquiry_messages")

# A link once used (or voided by a newer one) stays used, and nothing else of it changes.
PG_TOKEN_GUARD = """
CREATE OR REPLACE FUNCTION guard_user_token() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.used_at IS NOT NULL OR NEW.used_at IS NULL
            OR NEW.user_id <> OLD.user_id OR NEW.purpose <> OLD.purpose
            OR NEW.secret_hash <> OLD.secret_hash OR NEW.expires_at <> OLD.expires_at THEN
        RAISE EXCEPTION 'append-only table user_tokens: a link is used once, and only that'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""
SQLITE_TOKEN_GUARD = (
    "CREATE TRIGGER user_tokens_used_once BEFORE UPDATE ON user_tokens "
    "WHEN OLD.used_at IS NOT NULL OR NEW.used_at IS NULL OR NEW.user_id <> OLD.user_id "
    "OR NEW.purpose <> OLD.purpose OR NEW.secret_hash <> OLD.secret_hash "
    "OR NEW.expires_at <> OLD.expires_at "
    "BEGIN SELECT RAISE(ABORT, 'append-only table user_tokens: a link is used once, and "
    "only that'); END"
)


def _partner_id(nullable: bool) -> sa.Column[str]:
    return sa.Column("partner_id", sa.String(length=64), nullable=nullable)


def _users() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _partner_id(nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("password_set_at", WHEN, nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("disabled_at", WHEN, nullable=True),
        sa.CheckConstraint(
            "role IN ('finance', 'partner', 'sales_ops')", name=op.f("ck_web_users_role")
        ),
        sa.CheckConstraint(
            "(role = 'partner' AND partner_id IS NOT NULL) "
            "OR (role != 'partner' AND partner_id IS NULL)",
            name=op.f("ck_web_users_partner_user_names_partner"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_web_users_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_users")),
    )
    op.create_index("uq_web_users_email", "web_users", ["email"], unique=True)
    op.create_index(op.f("ix_web_users_partner_id"), "web_users", ["partner_id"])
    op.create_table(
        "user_tokens",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.CheckConstraint(
            "purpose IN ('invitation', 'reset')", name=op.f("ck_user_tokens_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name=op.f("fk_user_tokens_user_id_web_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_tokens")),
    )
    op.create_index("uq_user_tokens_secret_hash", "user_tokens", ["secret_hash"], unique=True)
    op.create_index(op.f("ix_user_tokens_user_id"), "user_tokens", ["user_id"])


def _sessions() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("second_factor_at", WHEN, nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name=op.f("fk_web_sessions_user_id_web_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"])
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('success', 'failure', 'refused', 'account_locked', 'address_locked')",
            name=op.f("ck_sign_in_attempts_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name=op.f("fk_sign_in_attempts_user_id_web_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    op.create_index("ix_sign_in_attempts_email_at", "sign_in_attempts", ["email", "at"])
    op.create_index("ix_sign_in_attempts_address_at", "sign_in_attempts", ["address", "at"])


def _inquiries() -> None:
    op.create_table(
        "inquiries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        _partner_id(nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("line_id", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("raised_by", sa.String(length=200), nullable=False),
        sa.Column("raised_at", WHEN, nullable=False),
        sa.CheckConstraint("kind IN ('line', 'missing_credit')", name=op.f("ck_inquiries_kind")),
        sa.CheckConstraint(
            "(kind = 'line' AND period IS NOT NULL AND line_id IS NOT NULL) "
            "OR (kind = 'missing_credit' AND reference IS NOT NULL)",
            name=op.f("ck_inquiries_points_at_something"),
        ),
        sa.CheckConstraint(
            "(period IS NULL) = (content_hash IS NULL)", name=op.f("ck_inquiries_period_has_hash")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_inquiries_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiries")),
    )
    op.create_index("ix_inquiries_partner", "inquiries", ["partner_id", "id"])
    op.create_table(
        "inquiry_messages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("inquiry_id", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.CheckConstraint("side IN ('partner', 'finance')", name=op.f("ck_inquiry_messages_side")),
        sa.CheckConstraint(
            "kind IN ('message', 'resolution')", name=op.f("ck_inquiry_messages_kind")
        ),
        sa.CheckConstraint(
            "kind = 'message' OR side = 'finance'",
            name=op.f("ck_inquiry_messages_finance_resolves"),
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_inquiry_messages_inquiry_id_inquiries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_messages")),
    )
    op.create_index(op.f("ix_inquiry_messages_inquiry_id"), "inquiry_messages", ["inquiry_id"])


def _leaderboard() -> None:
    op.create_table(
        "program_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_program_settings")),
    )
    op.create_table(
        "leaderboard_choices",
        _partner_id(nullable=False),
        sa.Column("named", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_leaderboard_choices_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_leaderboard_choices")),
    )


def upgrade() -> None:
    _users()
    _sessions()
    _inquiries()
    _leaderboard()
    for table in APPEND_ONLY:
        append_only.protect(op, table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TOKEN_GUARD)
        op.execute(
            "CREATE TRIGGER user_tokens_used_once BEFORE UPDATE OR DELETE ON user_tokens "
            "FOR EACH ROW EXECUTE FUNCTION guard_user_token()"
        )
    else:
        op.execute(SQLITE_TOKEN_GUARD)
        op.execute(
            "CREATE TRIGGER user_tokens_no_delete BEFORE DELETE ON user_tokens "
            "BEGIN SELECT RAISE(ABORT, 'append-only table user_tokens: DELETE refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS user_tokens_used_once ON user_tokens")
        op.execute("DROP FUNCTION IF EXISTS guard_user_token()")
    else:
        op.execute("DROP TRIGGER IF EXISTS user_tokens_used_once")
        op.execute("DROP TRIGGER IF EXISTS user_tokens_no_delete")
    for table in APPEND_ONLY:
        append_only.unprotect(op, table)
    for table in (
        "leaderboard_choices",
        "program_settings",
        "inquiry_messages",
        "inquiries",
        "sign_in_attempts",
        "web_sessions",
        "user_tokens",
        "web_users",
    ):
        op.drop_table(table)
