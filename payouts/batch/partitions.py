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
ACCESS EXCLUSIVE lock without deadlocking another run. The database role that runs
batches owns the tables (the same role that migrates them), as ATTACH requires.

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


def begin(session: Executor, period: str) -> str:
    """Wait for any other run, then create the empty table the new draft is written
    into, and return its name. It has the columns of `draft_lines` and a check that
    every row is of `period` (which lets `install` attach it without a scan)."""
    staging = f"{partition_of(period)}_next"
    session.execute(text(f"LOCK TABLE {TABLE} IN SHARE UPDATE EXCLUSIVE MODE"))
    session.execute(
        text(
            f"CREATE TABLE {staging} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
            f"CONSTRAINT in_period CHECK (period = {_literal(period)}))"
        )
    )
    return staging


def install(session: Executor, period: str) -> None:
    """Index the table `begin` created and make it the period's partition, replacing
    the draft there was (the caller has refused a closed period), guarded against
    changes once the period closes."""
    name = partition_of(period)
    staging = f"{name}_next"
    session.execute(
        text(f"ALTER TABLE {staging} ADD CONSTRAINT {staging}_pkey PRIMARY KEY ({KEY})")
    )
    if session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name}):
        session.execute(text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"))
        session.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {name}"))
        session.execute(text(f"DROP TABLE {name}"))
    session.execute(text(f"ALTER TABLE {staging} RENAME TO {name}"))
    session.execute(text(f"ALTER INDEX {staging}_pkey RENAME TO {name}_pkey"))
    session.execute(
        text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES IN ({_literal(period)})")
    )
    session.execute(
        text(
            f"CREATE TRIGGER {name}_closed_period "
            f"BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION "
            f"refuse_closed_partition_change({_literal(period)})"
        )
    )


def _literal(period: str) -> str:
    """A period as an SQL literal; only ever a parsed month, so nothing to escape."""
    return f"'{Month.parse(period)}'"
