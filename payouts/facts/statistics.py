"""The planner statistics of the fact tables, refreshed before a run reads them.

A run reads a slice of partners' facts through indexes (`payouts.batch.repository`).
On tables loaded in bulk and never analysed since, PostgreSQL has no statistics to
plan with and reads each slice through nested loops over the role index: a run of
600 partners took 17 s instead of 1.8 s (0.72 s once analysed). Autovacuum would
analyse them, but only a minute or so later. So a run first has analysed the fact
tables autovacuum is due to analyse: never analysed, or changed since their last
analysis by more than autovacuum's own threshold (`autovacuum_analyze_threshold` plus
`autovacuum_analyze_scale_factor` of their rows; the changes of a transaction count
once it has committed). Tables whose statistics are current are left alone: a copied database
(`CREATE DATABASE ... TEMPLATE`) keeps the statistics of its template.

ANALYZE is the owner's: `fact_statistics_refresh()` (SECURITY DEFINER, migration
0025) lets the service's role, which may execute it (`payouts.privileges`), have it
done. It changes no row, and returns the tables it analysed.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from payouts import snapshots

TABLES = (
    "cancellations", "campaigns", "certifications", "customers", "deal_registrations",
    "deal_roles", "deals", "fx_rates", "invoices", "partners", "payments", "refunds", "reps",
)  # fmt: skip
"""The tables of facts a run reads (`payouts.facts.models`, `payouts.reference.models`)."""

STATISTICS_FUNCTION = """
CREATE OR REPLACE FUNCTION fact_statistics_refresh() RETURNS text[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    stale text[];
    name text;
BEGIN
    SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') INTO stale
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.relkind = 'r' AND c.relname = ANY (ARRAY[{tables}])
      AND (c.reltuples < 0
           OR coalesce(s.n_mod_since_analyze, 0)
              > current_setting('autovacuum_analyze_threshold')::float8
                + current_setting('autovacuum_analyze_scale_factor')::float8 * c.reltuples);
    FOREACH name IN ARRAY stale LOOP
        EXECUTE format('ANALYZE %I', name);
    END LOOP;
    RETURN stale;
END
$$;
""".replace("{tables}", ", ".join(f"'{table}'" for table in TABLES))
"""Analyse the fact tables that need it, as their owner (migration 0025): see `refresh`."""

FUNCTIONS = ("fact_statistics_refresh()",)
"""What the service's role may execute (`payouts.privileges`)."""


def refresh(session: Session) -> list[str]:
    """Have PostgreSQL analyse the fact tables whose statistics are missing or stale
    (see the module); return those it analysed. Nothing on SQLite.

    A run that splits its work reads under its snapshot in other sessions, whose
    planner sees only committed statistics; so when this transaction has written
    nothing yet (the only case in which a run splits), the tables are analysed on a
    connection of their own, which commits them. A transaction that has written facts
    of its own has them analysed within it instead, where they are seen, and by this
    session only (such a run calculates in this process)."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    refreshed = text("SELECT fact_statistics_refresh()")
    if not snapshots.untouched(session):
        return list(session.scalar(refreshed) or [])
    # Off the pool: a connection that a forked worker would inherit is one too many.
    with session.get_bind().engine.connect() as own:
        own.detach()
        analysed = list(own.scalar(refreshed) or [])
        own.commit()
    return analysed
