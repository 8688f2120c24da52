"""The service runs as a database role that owns nothing: what that needs of the schema.

- The draft's partition swap (DDL) moves into two functions owned by the schema owner
  (SECURITY DEFINER, `payouts.batch.partitions`): the service's role may execute
  them; it can neither drop a partition nor attach one for a closed period.
- Money facts and deal facts are never changed once written (a correction is a new
  fact, e.g. a credit note): the database refuses UPDATE and DELETE on them, for
  every role, like it does on the ledger.
- A closed period stays closed: its row cannot be reopened or deleted.

What the service's role may do table by table is granted by `payouts db upgrade`
after the migrations (`payouts.privileges`), since the role's name is deployment
configuration, not schema.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from payouts import append_only
from payouts.batch import partitions

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS = ("deals", "deal_roles", "invoices", "payments", "refunds", "cancellations", "campaigns")

PG_PERIOD_GUARD = """
CREATE OR REPLACE FUNCTION guard_closed_period() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'closed' AND (TG_OP = 'DELETE' OR NEW.status <> 'closed') THEN
        RAISE EXCEPTION 'append-only table periods: period % is closed, % refused',
            OLD.period, TG_OP USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(partitions.BEGIN_FUNCTION)
        op.execute(partitions.INSTALL_FUNCTION)
        for function in partitions.FUNCTIONS:
            op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(PG_PERIOD_GUARD)
        op.execute(
            "CREATE TRIGGER periods_closed BEFORE UPDATE OR DELETE ON periods "
            "FOR EACH ROW EXECUTE FUNCTION guard_closed_period()"
        )
    else:
        op.execute(
            "CREATE TRIGGER periods_closed_update BEFORE UPDATE ON periods "
            "WHEN OLD.status = 'closed' AND NEW.status <> 'closed' "
            "BEGIN SELECT RAISE(ABORT, 'append-only table periods: period is closed'); END"
        )
        op.execute(
            "CREATE TRIGGER periods_closed_delete BEFORE DELETE ON periods "
            "WHEN OLD.status = 'closed' "
            "BEGIN SELECT RAISE(ABORT, 'append-only table periods: period is closed'); END"
        )
    for table in FACTS:
        append_only.protect(op, table)


def downgrade() -> None:
    for table in FACTS:
        append_only.unprotect(op, table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS periods_closed ON periods")
        op.execute("DROP FUNCTION IF EXISTS guard_closed_period()")
        for function in partitions.FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    else:
        op.execute("DROP TRIGGER IF EXISTS periods_closed_update")
        op.execute("DROP TRIGGER IF EXISTS periods_closed_delete")
