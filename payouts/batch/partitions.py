"""On PostgreSQL, each period's draft lines live in a partition of their own.

`draft_lines` is partitioned by period (migration 0011). A run writes the new draft
into a fresh table with no index, builds the primary key once, by sorting, and puts
the table in place of the period's partition. Why:

- a draft of a million lines is written into an empty heap: measured with 819,096
  lines, COPY plus one index build took 3.3 s of database CPU against 4.5-4.9 s for
  COPY into an indexed table;
- running a draft again no longer DELETEs a million lines and then inserts beside
  their dead index entries (3 s, then 8 s for the COPY) nor leaves them to vacuum:
  the old partition is dropped whole;
- the draft is swapped at the very end of the run's transaction: readers of other
  periods are held up only for that instant (detaching takes an ACCESS EXCLUSIVE
  lock on `draft_lines`); until the commit everyone sees the old draft.

Runs serialise on a SHARE UPDATE EXCLUSIVE lock on `draft_lines` (which ATTACH
needs anyway): it does not block readers, and a run that holds it can take the
ACCESS EXCLUSIVE lock without deadlocking another run.

This is the one place where the batch changes the schema at run time, and it does
so only through two functions that belong to the schema owner (SECURITY DEFINER,
created by migration 0015): the service's database role owns nothing, may execute
these two, and they refuse a closed period. Nothing else of the service does DDL.

A closed period's partition refuses every change, in statements on `draft_lines`
(its triggers, per statement) and on the partition itself (the statement trigger
installed here). SQLite keeps one table: there the run deletes and inserts.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from payouts.periods import Month

TABLE = "draft_lines"
KEY = "period, partner_id, line_no"
Executor = Session | Connection
"""Runs use their session; migration 0011 its connection."""
_NAME = re.compile(rf"{TABLE}_(\d{{4}})_(\d{{2}})(_next)?")

GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_closed_partition_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM periods WHERE period = TG_ARGV[0] AND status = 'closed') THEN
        RAISE EXCEPTION 'append-only table %: period % is closed, % refused',
            TG_TABLE_NAME, TG_ARGV[0], TG_OP USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END
$$;
"""
"""A partition holds one period, named in the trigger's argument: one query a statement."""


def partition_of(period: str) -> str:
    """The name of the period's partition: draft_lines_2026_01 for 2026-01."""
    month = Month.parse(period)
    return f"{TABLE}_{month.year:04d}_{month.month:02d}"


def is_partition(name: str) -> bool:
    """Whether a table is one period's draft lines (not a table of the models)."""
    return _NAME.fullmatch(name) is not None


BEGIN_FUNCTION = """
CREATE OR REPLACE FUNCTION draft_partition_begin(p text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    staging text;
BEGIN
    IF p !~ '^[12][0-9]{3}-(0[1-9]|1[0-2])$' THEN
        RAISE EXCEPTION 'draft_partition_begin: % is not a period YYYY-MM', p;
    END IF;
    IF EXISTS (SELECT 1 FROM periods WHERE period = p AND status = 'closed') THEN
        RAISE EXCEPTION 'append-only table draft_lines: period % is closed, a new draft refused',
            p USING ERRCODE = 'restrict_violation';
    END IF;
    staging := 'draft_lines_' || replace(p, '-', '_') || '_next';
    LOCK TABLE draft_lines IN SHARE UPDATE EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE %I (LIKE draft_lines INCLUDING DEFAULTS INCLUDING CONSTRAINTS, '
                   'CONSTRAINT in_period CHECK (period = %L))', staging, p);
    IF session_user <> current_user THEN
        EXECUTE format('GRANT SELECT, INSERT ON %I TO %I', staging, session_user);
    END IF;
    RETURN staging;
END
$$;
"""
"""Create the empty table a run writes its draft into (and let the caller write it)."""

INSTALL_FUNCTION = """
CREATE OR REPLACE FUNCTION draft_partition_install(p text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    name text;
    staging text;
BEGIN
    IF p !~ '^[12][0-9]{3}-(0[1-9]|1[0-2])$' THEN
        RAISE EXCEPTION 'draft_partition_install: % is not a period YYYY-MM', p;
    END IF;
    IF EXISTS (SELECT 1 FROM periods WHERE period = p AND status = 'closed') THEN
        RAISE EXCEPTION 'append-only table draft_lines: period % is closed, its draft stays',
            p USING ERRCODE = 'restrict_violation';
    END IF;
    name := 'draft_lines_' || replace(p, '-', '_');
    staging := name || '_next';
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (period, partner_id, line_no)',
                   staging, staging || '_pkey');
    IF to_regclass(name) IS NOT NULL THEN
        LOCK TABLE draft_lines IN ACCESS EXCLUSIVE MODE;
        EXECUTE format('ALTER TABLE draft_lines DETACH PARTITION %I', name);
        EXECUTE format('DROP TABLE %I', name);
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', staging, name);
    EXECUTE format('ALTER INDEX %I RENAME TO %I', staging || '_pkey', name || '_pkey');
    EXECUTE format('ALTER TABLE draft_lines ATTACH PARTITION %I FOR VALUES IN (%L)', name, p);
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION refuse_closed_partition_change(%L)',
                   name || '_closed_period', name, p);
    IF session_user <> current_user THEN
        -- Written: from now on the draft is read through draft_lines only.
        EXECUTE format('REVOKE ALL ON %I FROM %I', name, session_user);
    END IF;
END
$$;
"""
"""Key the table `draft_partition_begin` made and put it in place of the period's
partition, replacing the draft there was; refused for a closed period."""

FUNCTIONS = ("draft_partition_begin(text)", "draft_partition_install(text)")
"""What the service's role may execute (`payouts.privileges`)."""

STATISTICS_FUNCTION = """
CREATE OR REPLACE FUNCTION draft_partition_analyse(p text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p !~ '^[12][0-9]{3}-(0[1-9]|1[0-2])$' THEN
        RAISE EXCEPTION 'draft_partition_analyse: % is not a period YYYY-MM', p;
    END IF;
    EXECUTE format('ANALYZE %I', 'draft_lines_' || replace(p, '-', '_'));
END
$$;
"""
"""Analyse a period's partition as its owner (migration 0026): see `install`."""

STATISTICS_FUNCTIONS = ("draft_partition_analyse(text)",)
"""What the service's role may execute besides `FUNCTIONS` (a later migration's)."""


def begin(session: Executor, period: str) -> str:
    """Wait for any other run, then create the empty table the new draft is written
    into, and return its name. It has the columns of `draft_lines` and a check that
    every row is of `period` (which lets `install` attach it without a scan)."""
    staging = session.scalar(
        text("SELECT draft_partition_begin(:period)"), {"period": str(Month.parse(period))}
    )
    return str(staging)


def install(session: Executor, period: str) -> None:
    """Index the table `begin` created and make it the period's partition, replacing
    the draft there was, guarded against changes once the period closes; then have it
    analysed. A close reads the whole draft in key order twice (to check it against
    the approval, and to post it); a planner that knows nothing of the new table
    sorts the month on disk instead of reading it through its key."""
    period = str(Month.parse(period))
    session.execute(text("SELECT draft_partition_install(:period)"), {"period": period})
    session.execute(text("SELECT draft_partition_analyse(:period)"), {"period": period})
