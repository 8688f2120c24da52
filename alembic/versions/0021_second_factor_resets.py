"""Resetting a lost second factor: the owner may remove an enrolled factor, with a
recorded reset; the service's role still cannot.

- `second_factor_resets`: append-only, one row per reset (whose factor, the
  `confirmed_at` of the factor removed, who, when). The service's role may only read
  it (`payouts.privileges`), so only the schema owner (`payouts users
  reset-second-factor`) records one.
- `second_factors`: an enrolled factor is deleted only when a reset of exactly that
  factor (same user, same `confirmed_at`) has been recorded: the triggers of 0018
  are replaced so. The service's role has no DELETE on the table either.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-21 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)

NOT_RESET = (
    "NOT EXISTS (SELECT 1 FROM second_factor_resets r WHERE r.user_id = OLD.user_id "
    "AND r.factor_confirmed_at = OLD.confirmed_at)"
)


def _pg_guard(delete_allowed_unless: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION guard_second_factor() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.confirmed_at IS NOT NULL AND {delete_allowed_unless} THEN
        RAISE EXCEPTION 'append-only table second_factors: an enrolled factor is not deleted'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.confirmed_at IS NOT NULL AND (
            NEW.user_id <> OLD.user_id OR NEW.secret <> OLD.secret
            OR NEW.confirmed_at IS DISTINCT FROM OLD.confirmed_at
            OR NEW.last_step IS NULL OR NEW.last_step <= COALESCE(OLD.last_step, -1)) THEN
        RAISE EXCEPTION 'append-only table second_factors: only a later step may be recorded'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
"""


def _sqlite_no_delete(condition: str) -> str:
    return (
        "CREATE TRIGGER second_factors_no_delete BEFORE DELETE ON second_factors "
        f"WHEN OLD.confirmed_at IS NOT NULL AND {condition} "
        "BEGIN SELECT RAISE(ABORT, 'append-only table second_factors: an enrolled factor is "
        "not deleted'); END"
    )


def upgrade() -> None:
    op.create_table(
        "second_factor_resets",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("factor_confirmed_at", WHEN, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name=op.f("fk_second_factor_resets_user_id_web_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_factor_resets")),
    )
    op.create_index(
        "ix_second_factor_resets_user", "second_factor_resets", ["user_id", "factor_confirmed_at"]
    )
    append_only.protect(op, "second_factor_resets")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_guard(NOT_RESET))
    else:
        op.execute("DROP TRIGGER IF EXISTS second_factors_no_delete")
        op.execute(_sqlite_no_delete(NOT_RESET))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_guard("TRUE"))
    else:
        op.execute("DROP TRIGGER IF EXISTS second_factors_no_delete")
        op.execute(_sqlite_no_delete("1"))
    append_only.unprotect(op, "second_factor_resets")
    op.drop_index("ix_second_factor_resets_user", table_name="second_factor_resets")
    op.drop_table("second_factor_resets")
