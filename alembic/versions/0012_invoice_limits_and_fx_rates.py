"""The database refuses money past an invoice, and changes to a closed month's FX rates.

- Payments, and separately refunds (and credit notes), never add up to more than their
  invoice's amount. The service checks what remains under a lock; these triggers are
  the last line against any other writer. On PostgreSQL a statement trigger checks the
  invoices of the inserted (or updated) rows once per statement, after taking the same
  transaction-level advisory locks as the service (`lock_invoice_money`), so two
  concurrent inserts cannot both pass; advisory locks need no privilege on the tables.
  On SQLite, which serialises writers, a row trigger checks each row.
- An FX rate whose month is closed cannot be updated: the closed month was calculated
  with it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_TABLES = ("payments", "refunds")

# Any constant: a two-key advisory lock never meets the batch's one-key period locks.
# Invoices share 256 locks (by a hash of their id), so a file of a million payments
# takes at most 256 of them: PostgreSQL's lock table is sized for a few dozen a
# transaction, and two requests on different invoices rarely wait for each other.
LOCK_FUNCTION = """
CREATE OR REPLACE FUNCTION lock_invoice_money(invoice_ids text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    stripe integer;
BEGIN
    -- In one order, so that two transactions never wait for each other in a cycle.
    FOR stripe IN
        SELECT DISTINCT hashtext(id) & 255 FROM unnest(invoice_ids) AS id ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(4217, stripe);
    END LOOP;
END
$$;
"""

PG_CHECK = """
CREATE OR REPLACE FUNCTION refuse_{table}_past_invoice() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    over record;
BEGIN
    PERFORM lock_invoice_money(ARRAY(SELECT DISTINCT invoice_id FROM changed_rows));
    SELECT i.id, i.amount_minor, t.total INTO over
    FROM (
        SELECT f.invoice_id, SUM(f.amount_minor) AS total
        FROM {table} f
        WHERE f.invoice_id IN (SELECT invoice_id FROM changed_rows)
        GROUP BY f.invoice_id
    ) t
    JOIN invoices i ON i.id = t.invoice_id
    WHERE t.total > i.amount_minor
    ORDER BY i.id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '{table} of invoice % would total % minor units, past its amount %',
            over.id, over.total, over.amount_minor USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
"""

SQLITE_CHECK = """
CREATE TRIGGER {table}_within_invoice_{verb} BEFORE {verb} ON {table}
WHEN NEW.amount_minor + (
    SELECT COALESCE(SUM(amount_minor), 0) FROM {table}
    WHERE invoice_id = NEW.invoice_id AND {others}
) > (SELECT amount_minor FROM invoices WHERE id = NEW.invoice_id)
BEGIN
    SELECT RAISE(ABORT, '{table} would take an invoice past its amount');
END
"""

PG_FX_CLOSED = """
CREATE OR REPLACE FUNCTION refuse_closed_month_fx_rate_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM periods
        WHERE status = 'closed'
          AND period IN (to_char(OLD.date, 'YYYY-MM'), to_char(NEW.date, 'YYYY-MM'))
    ) THEN
        RAISE EXCEPTION 'append-only table fx_rates: the month of rate % is closed, % refused',
            OLD.id, TG_OP USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""

SQLITE_FX_CLOSED = """
CREATE TRIGGER fx_rates_closed_update BEFORE UPDATE ON fx_rates
WHEN EXISTS (
    SELECT 1 FROM periods
    WHERE status = 'closed' AND period IN (substr(OLD.date, 1, 7), substr(NEW.date, 1, 7))
)
BEGIN
    SELECT RAISE(ABORT, 'append-only table fx_rates: the month is closed, UPDATE refused');
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LOCK_FUNCTION)
        for table in MONEY_TABLES:
            op.execute(PG_CHECK.format(table=table))
            # A transition table belongs to one event: one trigger each.
            for verb in ("INSERT", "UPDATE"):
                op.execute(
                    f"CREATE TRIGGER {table}_within_invoice_{verb.lower()} AFTER {verb} "
                    f"ON {table} REFERENCING NEW TABLE AS changed_rows "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_{table}_past_invoice()"
                )
        op.execute(PG_FX_CLOSED)
        op.execute(
            "CREATE TRIGGER fx_rates_closed_update BEFORE UPDATE ON fx_rates "
            "FOR EACH ROW EXECUTE FUNCTION refuse_closed_month_fx_rate_change()"
        )
        return
    for table in MONEY_TABLES:
        op.execute(SQLITE_CHECK.format(table=table, verb="INSERT", others="1"))
        op.execute(SQLITE_CHECK.format(table=table, verb="UPDATE", others="id != OLD.id"))
    op.execute(SQLITE_FX_CLOSED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS fx_rates_closed_update ON fx_rates")
        op.execute("DROP FUNCTION IF EXISTS refuse_closed_month_fx_rate_change()")
        for table in MONEY_TABLES:
            for verb in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_within_invoice_{verb} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS refuse_{table}_past_invoice()")
        op.execute("DROP FUNCTION IF EXISTS lock_invoice_money(text[])")
        return
    op.execute("DROP TRIGGER IF EXISTS fx_rates_closed_update")
    for table in MONEY_TABLES:
        for verb in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_within_invoice_{verb}")
