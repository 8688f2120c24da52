"""A run has the fact tables analysed that autovacuum has not analysed yet (PostgreSQL).

Facts loaded in bulk and not analysed since leave the planner without statistics, and
it reads a slice's facts through nested loops (a run of 600 partners: 17 s instead of
1.8 s). Autovacuum is switched off on the fact tables here, so that nothing but the run
analyses them, whatever the timing. Statistics are looked for in `pg_stats`, which
shows what the planner of the session asking would plan with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from demo import program as demo
from payouts.batch import service as batch
from payouts.db import make_engine, unit_of_work
from payouts.facts import statistics
from tests.conftest import owner_url_for

pytestmark = [pytest.mark.postgres_only]

READ_MOST = {"deal_roles", "deals", "invoices", "partners", "payments"}
"""Tables every run reads, which the demo program fills."""


def with_statistics(connection: Connection) -> set[str]:
    """The fact tables the planner of `connection`'s session has statistics of."""
    found = connection.execute(
        text("SELECT DISTINCT tablename FROM pg_stats WHERE tablename = ANY(:tables)"),
        {"tables": list(statistics.TABLES)},
    )
    return set(found.scalars())


def analyses(engine: Engine) -> dict[str, int]:
    """How many times each fact table has been analysed (by hand or autovacuum)."""
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT relname, analyze_count + autoanalyze_count FROM pg_stat_user_tables "
                "WHERE relname = ANY(:tables)"
            ),
            {"tables": list(statistics.TABLES)},
        )
        return {name: int(count) for name, count in found}


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """A new database at the newest schema whose fact tables autovacuum leaves alone."""
    owner = make_engine(owner_url_for(migrated_url))
    with owner.begin() as connection:
        for table in statistics.TABLES:
            connection.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    owner.dispose()
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


def load(engine: Engine) -> str:
    """A month of facts loaded in bulk and committed; its period."""
    with unit_of_work(engine) as session:
        program = demo.generate(session, 40, 1, seed=3, bulk=True)
    return program.periods[0]


def test_facts_loaded_in_bulk_are_analysed_before_the_run_reads_them(engine: Engine) -> None:
    period = load(engine)
    with engine.connect() as observer:
        assert with_statistics(observer) == set()
    with unit_of_work(engine) as session:
        batch.run(session, period, actor="alice", workers=2)
        # Seen from another session while the run's transaction is still open: as the
        # processes that read a split run's slices see them.
        with engine.connect() as observer:
            seen = with_statistics(observer)
    assert seen >= READ_MOST


def test_a_run_over_facts_analysed_and_unchanged_analyses_nothing(engine: Engine) -> None:
    period = load(engine)
    # The load's changes are counted by the server a moment after they commit: wait for
    # them, or the first run's analysis could be overtaken by them.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            changed = connection.scalar(
                text(
                    "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'invoices'"
                )
            )
        if changed:
            break
        time.sleep(0.1)
    with unit_of_work(engine) as session:
        batch.run(session, period, actor="alice")
    first = analyses(engine)
    assert all(first[table] == 1 for table in READ_MOST), first
    with unit_of_work(engine) as session:
        batch.run(session, period, actor="alice")
    assert analyses(engine) == first


def test_facts_loaded_in_the_runs_own_transaction_are_analysed_within_it(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        program = demo.generate(session, 40, 1, seed=3, bulk=True)
        batch.run(session, program.periods[0], actor="alice")
        seen = with_statistics(session.connection())
    assert seen >= READ_MOST
