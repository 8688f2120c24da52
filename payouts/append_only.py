"""Database-enforced append-only tables.

The rule "posted records are never changed" is promised by the code and enforced by
the database too: a trigger refuses UPDATE and DELETE (PostgreSQL and SQLite), so a
bug, a script or a hand-typed SQL statement cannot rewrite history. Migrations call
these helpers to install the triggers.
"""

from __future__ import annotations

from alembic.operations import Operations

REFUSAL_MARKER = "append-only"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION refuse_append_only_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL_MARKER} table %: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def install_function(op: Operations) -> None:
    """Create the shared PostgreSQL trigger function (no-op on SQLite)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)


def drop_function(op: Operations) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_append_only_change()")


def protect(op: Operations, table: str) -> None:
    """Refuse every UPDATE and DELETE on `table` (and TRUNCATE on PostgreSQL)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL_MARKER} table {table}: {verb} refused'); END"
        )


def unprotect(op: Operations, table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


PG_CLOSED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION refuse_closed_period_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        target := OLD.period;
    ELSE
        target := NEW.period;
    END IF;
    IF EXISTS (SELECT 1 FROM periods WHERE period = target AND status = 'closed') THEN
        RAISE EXCEPTION '{REFUSAL_MARKER} table %: period % is closed, % refused',
            TG_TABLE_NAME, target, TG_OP USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
"""


def freeze_closed_periods(op: Operations, table: str, verbs: tuple[str, ...]) -> None:
    """Refuse `verbs` (INSERT, UPDATE, DELETE) on rows of `table` in a closed period."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_CLOSED_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {table}_closed_period BEFORE {' OR '.join(verbs)} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_closed_period_change()"
        )
        return
    for verb in verbs:
        row = "OLD" if verb == "DELETE" else "NEW"
        op.execute(
            f"CREATE TRIGGER {table}_closed_{verb.lower()} BEFORE {verb} ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM periods WHERE period = {row}.period "
            "AND status = 'closed') "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL_MARKER} table {table}: period is closed, "
            f"{verb} refused'); END"
        )


def unfreeze_closed_periods(op: Operations, table: str, verbs: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_closed_period ON {table}")
        return
    for verb in verbs:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_closed_{verb.lower()}")


PG_CLOSED_STATEMENT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION refuse_closed_period_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target text;
BEGIN
    SELECT c.period INTO target
    FROM changed_rows c JOIN periods p ON p.period = c.period
    WHERE p.status = 'closed'
    LIMIT 1;
    IF target IS NOT NULL THEN
        RAISE EXCEPTION '{REFUSAL_MARKER} table %: period % is closed, % refused',
            TG_TABLE_NAME, target, TG_OP USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END
$$;
"""


def freeze_closed_periods_per_statement(op: Operations, table: str, verbs: tuple[str, ...]) -> None:
    """Like `freeze_closed_periods`, but on PostgreSQL INSERT and DELETE are checked once
    per statement over its transition table instead of once per row.

    Why: a batch writes (and replaces) a million draft lines; a row trigger ran a query
    per line, a third of the time of storing them. UPDATE stays a row trigger (a
    transition-table trigger covers one event, and drafts are never updated). A no-op
    on SQLite, which has only row triggers: `freeze_closed_periods` installs those."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PG_CLOSED_FUNCTION)
    op.execute(PG_CLOSED_STATEMENT_FUNCTION)
    for verb in verbs:
        if verb == "UPDATE":
            op.execute(
                f"CREATE TRIGGER {table}_closed_update BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_closed_period_change()"
            )
            continue
        rows = "OLD" if verb == "DELETE" else "NEW"
        op.execute(
            f"CREATE TRIGGER {table}_closed_{verb.lower()} AFTER {verb} ON {table} "
            f"REFERENCING {rows} TABLE AS changed_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_closed_period_rows()"
        )


def unfreeze_closed_periods_per_statement(
    op: Operations, table: str, verbs: tuple[str, ...]
) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for verb in verbs:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_closed_{verb.lower()} ON {table}")


def freeze_columns(op: Operations, table: str, columns: tuple[str, ...]) -> None:
    """Refuse any UPDATE that changes one of `columns` (the money of a record)."""
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_frozen_columns BEFORE UPDATE ON {table} "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION refuse_append_only_change()"
        )
        return
    sqlite_changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
    op.execute(
        f"CREATE TRIGGER {table}_frozen_columns BEFORE UPDATE ON {table} "
        f"WHEN {sqlite_changed} "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL_MARKER} table {table}: "
        f"{', '.join(columns)} cannot change'); END"
    )


def unfreeze_columns(op: Operations, table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen_columns ON {table}")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen_columns")
