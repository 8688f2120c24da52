"""Frozen approvals: append-only approvals, payee details frozen with the draft,
unique payout references and append-only payout results.

Before, an approval was three columns of `batches`, which the service's role could
rewrite; the bank details of a payout were read from the partner at export time, so
an amendment after the close changed where a closed month's money went; payout
references were cut at 35 characters and could collide; and mark-paid rewrote the
payout instruction. Now:

- `batch_approvals` (append-only) names the run and the draft hash approved; the
  database refuses an approval by the holder who calculated the run, a batch marked
  approved or closed without a matching approval, and any change to a closed batch;
- `draft_payees` holds every partner's payee details as they stood at the run (hashed
  with the draft); the close copies them onto the payout instruction;
- `payout_instructions` is append-only and its `end_to_end_id` unique;
- `payout_results` (append-only, one per instruction) records what the bank did.

Existing instructions get the payee details their partner has now (the best that is
known); existing results move to `payout_results`.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
VERBS = ("INSERT", "UPDATE", "DELETE")

# The holder behind an actor: `key:<id>:<holder>` -> holder (what maker-checker compares).
PG_HOLDER = """
CREATE OR REPLACE FUNCTION actor_holder(actor text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(CASE WHEN actor ~ '^[^:]+:[^:]*:' THEN regexp_replace(actor, '^[^:]+:[^:]*:', '')
                      ELSE actor END)
$$;
"""
PG_APPROVAL_CHECK = """
CREATE OR REPLACE FUNCTION check_batch_approval() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    b batches%ROWTYPE;
BEGIN
    SELECT * INTO b FROM batches WHERE period = NEW.period;
    IF NOT FOUND OR b.run_no <> NEW.run_no OR b.draft_hash <> NEW.draft_hash
            OR b.status <> 'draft' THEN
        RAISE EXCEPTION 'batch approval refused: % run % with draft % is not the current draft',
            NEW.period, NEW.run_no, NEW.draft_hash USING ERRCODE = 'restrict_violation';
    END IF;
    IF actor_holder(NEW.approved_by) = actor_holder(b.calculated_by) THEN
        RAISE EXCEPTION 'batch approval refused: % calculated % and cannot also approve it',
            b.calculated_by, NEW.period USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""
PG_BATCH_GUARD = """
CREATE OR REPLACE FUNCTION guard_batch_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status = 'closed' THEN
        RAISE EXCEPTION 'append-only table batches: % of the % batch refused', TG_OP, OLD.period
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status IN ('approved', 'closed') AND NOT EXISTS (
        SELECT 1 FROM batch_approvals a
        WHERE a.period = NEW.period AND a.run_no = NEW.run_no AND a.draft_hash = NEW.draft_hash
    ) THEN
        RAISE EXCEPTION 'batch % cannot be % without an approval of run % (draft %)',
            NEW.period, NEW.status, NEW.run_no, NEW.draft_hash
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""
SQLITE_HOLDER = """lower(CASE
    WHEN instr({a}, ':') > 0 AND instr(substr({a}, instr({a}, ':') + 1), ':') > 0
    THEN substr({a}, instr({a}, ':') + instr(substr({a}, instr({a}, ':') + 1), ':') + 1)
    ELSE {a} END)"""


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    _approvals()
    _payees()
    _instructions(postgres)
    _results()
    if postgres:
        op.execute(PG_HOLDER)
        op.execute(PG_APPROVAL_CHECK)
        op.execute(PG_BATCH_GUARD)
        op.execute(
            "CREATE TRIGGER batch_approvals_check BEFORE INSERT ON batch_approvals "
            "FOR EACH ROW EXECUTE FUNCTION check_batch_approval()"
        )
        op.execute(
            "CREATE TRIGGER batches_guard BEFORE UPDATE OR DELETE ON batches "
            "FOR EACH ROW EXECUTE FUNCTION guard_batch_change()"
        )
    else:
        _sqlite_batch_triggers()
    for table in ("batch_approvals", "payout_instructions", "payout_results"):
        append_only.protect(op, table)
    append_only.freeze_closed_periods(op, "draft_payees", VERBS)


def _approvals() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_no", sa.BigInteger(), nullable=True))
    op.execute("UPDATE batches SET run_no = 1")
    op.create_table(
        "batch_approvals",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("run_no", sa.BigInteger(), nullable=False),
        sa.Column("draft_hash", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["period"], ["batches.period"], name=op.f("fk_batch_approvals_period_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_approvals")),
    )
    with op.batch_alter_table("batch_approvals", schema=None) as batch_op:
        batch_op.create_index("uq_batch_approvals_run", ["period", "run_no"], unique=True)
    op.execute(
        "INSERT INTO batch_approvals (period, run_no, draft_hash, approved_by, approved_at) "
        "SELECT period, 1, approved_hash, approved_by, approved_at FROM batches "
        "WHERE approved_by IS NOT NULL AND approved_hash IS NOT NULL "
        "AND approved_at IS NOT NULL ORDER BY period"
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.alter_column("run_no", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_constraint("maker_checker", type_="check")
        batch_op.drop_column("approved_hash")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by")


def _payees() -> None:
    partner_id = sa.String(length=64).with_variant(
        sa.String(length=64, collation="C"), "postgresql"
    )
    op.create_table(
        "draft_payees",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("partner_id", partner_id, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("account_holder", sa.String(length=200), nullable=True),
        sa.Column("iban", sa.String(length=42), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.PrimaryKeyConstraint("period", "partner_id", name=op.f("pk_draft_payees")),
    )


def _instructions(postgres: bool) -> None:
    append_only.unfreeze_columns(op, "payout_instructions")
    with op.batch_alter_table("payout_instructions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payee_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("account_holder", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("iban", sa.String(length=42), nullable=True))
        batch_op.add_column(sa.Column("bic", sa.String(length=11), nullable=True))

    def detail(key: str) -> str:
        if postgres:
            return f"(SELECT p.payout_details->>'{key}' FROM partners p WHERE p.id = partner_id)"  # noqa: S608
        return (
            f"(SELECT json_extract(p.payout_details, '$.{key}') FROM partners p "  # noqa: S608
            "WHERE p.id = partner_id)"
        )

    op.execute(
        "UPDATE payout_instructions SET "  # noqa: S608 - fixed column names
        "payee_name = (SELECT p.name FROM partners p WHERE p.id = partner_id), "
        f"account_holder = {detail('account_holder')}, iban = {detail('iban')}, "
        f"bic = {detail('bic')}"
    )


def _results() -> None:
    op.create_table(
        "payout_results",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("instruction_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('paid', 'failed')", name=op.f("ck_payout_results_status")),
        sa.CheckConstraint(
            "status = 'paid' OR reason IS NOT NULL", name=op.f("ck_payout_results_failure_reason")
        ),
        sa.ForeignKeyConstraint(
            ["instruction_id"],
            ["payout_instructions.id"],
            name=op.f("fk_payout_results_instruction_id_payout_instructions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_results")),
        sa.UniqueConstraint("instruction_id", name=op.f("uq_payout_results_instruction_id")),
    )
    op.execute(
        "INSERT INTO payout_results "
        "(instruction_id, status, bank_reference, reason, recorded_by, recorded_at) "
        "SELECT id, status, bank_reference, "
        "CASE WHEN status = 'failed' THEN coalesce(failure_reason, 'not recorded') "
        "ELSE failure_reason END, "
        "coalesce(recorded_by, 'unknown (recorded before revision 0014)'), "
        "coalesce(recorded_at, CURRENT_TIMESTAMP) "
        "FROM payout_instructions WHERE status <> 'pending' ORDER BY id"
    )
    with op.batch_alter_table("payout_instructions", schema=None) as batch_op:
        batch_op.alter_column("payee_name", existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint("status", type_="check")
        batch_op.drop_column("recorded_at")
        batch_op.drop_column("recorded_by")
        batch_op.drop_column("failure_reason")
        batch_op.drop_column("bank_reference")
        batch_op.drop_column("status")
        batch_op.create_index(
            "uq_payout_instructions_end_to_end_id", ["end_to_end_id"], unique=True
        )


def _sqlite_batch_triggers() -> None:
    holder_new = SQLITE_HOLDER.format(a="NEW.approved_by")
    holder_calc = SQLITE_HOLDER.format(a="b.calculated_by")
    op.execute(
        "CREATE TRIGGER batch_approvals_check BEFORE INSERT ON batch_approvals "
        "WHEN NOT EXISTS (SELECT 1 FROM batches b WHERE b.period = NEW.period "
        "AND b.run_no = NEW.run_no AND b.draft_hash = NEW.draft_hash AND b.status = 'draft') "
        "BEGIN SELECT RAISE(ABORT, 'batch approval refused: not the current draft'); END"
    )
    op.execute(
        "CREATE TRIGGER batch_approvals_maker_checker BEFORE INSERT ON batch_approvals "  # noqa: S608
        f"WHEN EXISTS (SELECT 1 FROM batches b WHERE b.period = NEW.period "
        f"AND {holder_calc} = {holder_new}) "
        "BEGIN SELECT RAISE(ABORT, 'batch approval refused: the holder who calculated the "
        "batch cannot also approve it'); END"
    )
    op.execute(
        "CREATE TRIGGER batches_closed BEFORE UPDATE ON batches WHEN OLD.status = 'closed' "
        "BEGIN SELECT RAISE(ABORT, 'append-only table batches: the batch is closed'); END"
    )
    op.execute(
        "CREATE TRIGGER batches_no_delete BEFORE DELETE ON batches "
        "BEGIN SELECT RAISE(ABORT, 'append-only table batches: DELETE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER batches_need_approval BEFORE UPDATE ON batches "
        "WHEN NEW.status IN ('approved', 'closed') AND NOT EXISTS (SELECT 1 FROM "
        "batch_approvals a WHERE a.period = NEW.period AND a.run_no = NEW.run_no "
        "AND a.draft_hash = NEW.draft_hash) "
        "BEGIN SELECT RAISE(ABORT, 'a batch cannot be approved or closed without an approval "
        "of its current run'); END"
    )


def downgrade() -> None:
    """Back to approvals and results as columns (for development databases).

    The payee details frozen with each draft and payout are dropped: a draft must be
    run again to be approved, and payout files are read from the partners again."""
    postgres = op.get_bind().dialect.name == "postgresql"
    append_only.unfreeze_closed_periods(op, "draft_payees", VERBS)
    for table in ("batch_approvals", "payout_instructions", "payout_results"):
        append_only.unprotect(op, table)
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS batches_guard ON batches")
        op.execute("DROP TRIGGER IF EXISTS batch_approvals_check ON batch_approvals")
        for function in ("guard_batch_change()", "check_batch_approval()", "actor_holder(text)"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    else:
        for trigger in (
            "batch_approvals_check",
            "batch_approvals_maker_checker",
            "batches_closed",
            "batches_no_delete",
            "batches_need_approval",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    with op.batch_alter_table("payout_instructions", schema=None) as batch_op:
        batch_op.drop_index("uq_payout_instructions_end_to_end_id")
        batch_op.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="pending")
        )
        batch_op.add_column(sa.Column("bank_reference", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("failure_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    for column, source in (
        ("status", "status"),
        ("bank_reference", "bank_reference"),
        ("failure_reason", "reason"),
        ("recorded_by", "recorded_by"),
        ("recorded_at", "recorded_at"),
    ):
        op.execute(
            f"UPDATE payout_instructions SET {column} = (SELECT r.{source} "  # noqa: S608
            "FROM payout_results r WHERE r.instruction_id = payout_instructions.id) "
            "WHERE EXISTS (SELECT 1 FROM payout_results r "
            "WHERE r.instruction_id = payout_instructions.id)"
        )
    with op.batch_alter_table("payout_instructions", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)
        batch_op.create_check_constraint("status", "status IN ('pending', 'paid', 'failed')")
        for column in ("bic", "iban", "account_holder", "payee_name"):
            batch_op.drop_column(column)
    append_only.freeze_columns(
        op, "payout_instructions", ("period", "partner_id", "amount_minor", "currency")
    )
    op.drop_table("payout_results")
    op.drop_table("draft_payees")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("approved_hash", sa.String(length=64), nullable=True))
    for column, source in (
        ("approved_by", "approved_by"),
        ("approved_at", "approved_at"),
        ("approved_hash", "draft_hash"),
    ):
        op.execute(
            f"UPDATE batches SET {column} = (SELECT a.{source} FROM batch_approvals a "  # noqa: S608
            "WHERE a.period = batches.period AND a.run_no = batches.run_no "
            "AND a.draft_hash = batches.draft_hash)"
        )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "maker_checker", "approved_by IS NULL OR approved_by != calculated_by"
        )
        batch_op.drop_column("run_no")
    op.drop_table("batch_approvals")
