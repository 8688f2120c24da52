"""Second factors of finance users, their recovery codes and attempts; manual
adjustments; partner holds.

- `second_factors`: one TOTP secret per finance user. Until confirmed, the service may
  replace it; once confirmed, the database lets only `last_step` move forward (a code
  is never accepted twice) and refuses DELETE (resetting is the owner's, with the
  triggers' owner rights: it drops and re-adds nothing here, see `payouts users`).
- `recovery_codes`: each is used once (like a password link); no DELETE.
- `second_factor_attempts`, `manual_adjustments` and `adjustment_decisions` are
  append-only. A decision by the adjustment's proposer (the same holder, as
  `actor_holder()` of migration 0014 reads an actor) is refused by the database.
- `partner_holds`: finance's holds and releases of a partner's payouts, with the
  reason (append-only; the partner's status carries the current one).
- `ledger_entries`: a manual adjustment's line (`source_fact` 'manual:<id>') can be
  posted once only (a unique partial index).

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0018"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
APPEND_ONLY = (
    "second_factor_attempts",
    "manual_adjustments",
    "adjustment_decisions",
    "partner_holds",
)
MANUAL_LINES = "source_fact LIKE 'manual:%'"

PG_FACTOR_GUARD = """
CREATE OR REPLACE FUNCTION guard_second_factor() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.confirmed_at IS NOT NULL THEN
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
SQLITE_FACTOR_GUARD = (
    "CREATE TRIGGER second_factors_enrolled BEFORE UPDATE ON second_factors "
    "WHEN OLD.confirmed_at IS NOT NULL AND (NEW.user_id <> OLD.user_id "
    "OR NEW.secret <> OLD.secret OR NEW.confirmed_at IS NOT OLD.confirmed_at "
    "OR NEW.last_step IS NULL OR NEW.last_step <= COALESCE(OLD.last_step, -1)) "
    "BEGIN SELECT RAISE(ABORT, 'append-only table second_factors: only a later step may be "
    "recorded'); END"
)
SQLITE_FACTOR_NO_DELETE = (
    "CREATE TRIGGER second_factors_no_delete BEFORE DELETE ON second_factors "
    "WHEN OLD.confirmed_at IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, 'append-only table second_factors: an enrolled factor is not "
    "deleted'); END"
)
PG_CODE_GUARD = """
CREATE OR REPLACE FUNCTION guard_recovery_code() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.used_at IS NOT NULL OR NEW.used_at IS NULL
            OR NEW.user_id <> OLD.user_id OR NEW.code_hash <> OLD.code_hash THEN
        RAISE EXCEPTION 'append-only table recovery_codes: a code is used once, and only that'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""
SQLITE_CODE_GUARD = (
    "CREATE TRIGGER recovery_codes_used_once BEFORE UPDATE ON recovery_codes "
    "WHEN OLD.used_at IS NOT NULL OR NEW.used_at IS NULL OR NEW.user_id <> OLD.user_id "
    "OR NEW.code_hash <> OLD.code_hash "
    "BEGIN SELECT RAISE(ABORT, 'append-only table recovery_codes: a code is used once, and "
    "only that'); END"
)
PG_DECISION_CHECK = """
CREATE OR REPLACE FUNCTION check_adjustment_decision() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    proposer text;
BEGIN
    SELECT proposed_by INTO proposer FROM manual_adjustments WHERE id = NEW.adjustment_id;
    IF actor_holder(NEW.decided_by) = actor_holder(proposer) THEN
        RAISE EXCEPTION 'adjustment decision refused: % proposed % and cannot also decide it',
            proposer, NEW.adjustment_id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""
SQLITE_HOLDER = """lower(CASE
    WHEN instr({a}, ':') > 0 AND instr(substr({a}, instr({a}, ':') + 1), ':') > 0
    THEN substr({a}, instr({a}, ':') + instr(substr({a}, instr({a}, ':') + 1), ':') + 1)
    ELSE {a} END)"""


def _second_factors() -> None:
    op.create_table(
        "second_factors",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("confirmed_at", WHEN, nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name=op.f("fk_second_factors_user_id_web_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_second_factors")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name=op.f("fk_recovery_codes_user_id_web_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])
    op.create_index(
        "uq_recovery_codes_code_hash", "recovery_codes", ["user_id", "code_hash"], unique=True
    )
    op.create_table(
        "second_factor_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('success', 'failure', 'refused')",
            name=op.f("ck_second_factor_attempts_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["web_users.id"],
            name=op.f("fk_second_factor_attempts_user_id_web_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_factor_attempts")),
    )
    op.create_index(
        "ix_second_factor_attempts_user_at", "second_factor_attempts", ["user_id", "at"]
    )


def _adjustments() -> None:
    op.create_table(
        "manual_adjustments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("inquiry_id", sa.BigInteger(), nullable=True),
        sa.Column("statement_period", sa.String(length=7), nullable=True),
        sa.Column("line_id", sa.String(length=64), nullable=True),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("proposed_at", WHEN, nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_manual_adjustments_not_zero")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_manual_adjustments_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_manual_adjustments_inquiry_id_inquiries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_adjustments")),
    )
    op.create_index("ix_manual_adjustments_partner", "manual_adjustments", ["partner_id", "id"])
    op.create_table(
        "adjustment_decisions",
        sa.Column("adjustment_id", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "decision IN ('approved', 'refused')", name=op.f("ck_adjustment_decisions_decision")
        ),
        sa.CheckConstraint(
            "decision = 'approved' OR reason IS NOT NULL",
            name=op.f("ck_adjustment_decisions_refusal_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["adjustment_id"],
            ["manual_adjustments.id"],
            name=op.f("fk_adjustment_decisions_adjustment_id_manual_adjustments"),
        ),
        sa.PrimaryKeyConstraint("adjustment_id", name=op.f("pk_adjustment_decisions")),
    )
    op.create_index(
        "uq_ledger_entries_manual",
        "ledger_entries",
        ["source_fact"],
        unique=True,
        postgresql_where=sa.text(MANUAL_LINES),
        sqlite_where=sa.text(MANUAL_LINES),
    )


def _holds() -> None:
    op.create_table(
        "partner_holds",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.CheckConstraint("action IN ('hold', 'release')", name=op.f("ck_partner_holds_action")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_holds_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_holds")),
    )
    op.create_index("ix_partner_holds_partner", "partner_holds", ["partner_id", "id"])


def _pg_triggers() -> None:
    op.execute(PG_FACTOR_GUARD)
    op.execute(
        "CREATE TRIGGER second_factors_enrolled BEFORE UPDATE OR DELETE ON second_factors "
        "FOR EACH ROW EXECUTE FUNCTION guard_second_factor()"
    )
    op.execute(PG_CODE_GUARD)
    op.execute(
        "CREATE TRIGGER recovery_codes_used_once BEFORE UPDATE OR DELETE ON recovery_codes "
        "FOR EACH ROW EXECUTE FUNCTION guard_recovery_code()"
    )
    op.execute(PG_DECISION_CHECK)
    op.execute(
        "CREATE TRIGGER adjustment_decisions_maker_checker BEFORE INSERT ON "
        "adjustment_decisions FOR EACH ROW EXECUTE FUNCTION check_adjustment_decision()"
    )


def _sqlite_triggers() -> None:
    op.execute(SQLITE_FACTOR_GUARD)
    op.execute(SQLITE_FACTOR_NO_DELETE)
    op.execute(SQLITE_CODE_GUARD)
    op.execute(
        "CREATE TRIGGER recovery_codes_no_delete BEFORE DELETE ON recovery_codes "
        "BEGIN SELECT RAISE(ABORT, 'append-only table recovery_codes: DELETE refused'); END"
    )
    decided = SQLITE_HOLDER.format(a="NEW.decided_by")
    proposed = SQLITE_HOLDER.format(a="a.proposed_by")
    op.execute(
        "CREATE TRIGGER adjustment_decisions_maker_checker BEFORE INSERT ON "  # noqa: S608 (constant text)
        "adjustment_decisions WHEN EXISTS (SELECT 1 FROM manual_adjustments a "
        f"WHERE a.id = NEW.adjustment_id AND {decided} = {proposed}) "
        "BEGIN SELECT RAISE(ABORT, 'adjustment decision refused: its proposer cannot also "
        "decide it'); END"
    )


def upgrade() -> None:
    _second_factors()
    _adjustments()
    _holds()
    for table in APPEND_ONLY:
        append_only.protect(op, table)
    if op.get_bind().dialect.name == "postgresql":
        _pg_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS second_factors_enrolled ON second_factors")
        op.execute("DROP TRIGGER IF EXISTS recovery_codes_used_once ON recovery_codes")
        op.execute(
            "DROP TRIGGER IF EXISTS adjustment_decisions_maker_checker ON adjustment_decisions"
        )
        for function in (
            "guard_second_factor()",
            "guard_recovery_code()",
            "check_adjustment_decision()",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    else:
        for trigger in (
            "second_factors_enrolled",
            "second_factors_no_delete",
            "recovery_codes_used_once",
            "recovery_codes_no_delete",
            "adjustment_decisions_maker_checker",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for table in APPEND_ONLY:
        append_only.unprotect(op, table)
    op.drop_index("uq_ledger_entries_manual", table_name="ledger_entries")
    for table in (
        "partner_holds",
        "adjustment_decisions",
        "manual_adjustments",
        "second_factor_attempts",
        "recovery_codes",
        "second_factors",
    ):
        op.drop_table(table)
