"""On PostgreSQL a period's draft is one partition: written fresh, swapped in whole.

Real commits on a database of their own: partitions are created, replaced and moved
by migrations here, and what other sessions see is the point.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from demo import program as demo
from payouts import migrations, tiers
from payouts.batch import draft, partitions
from payouts.batch import service as batch
from payouts.batch.models import Batch, DraftLine
from payouts.db import make_engine, unit_of_work
from payouts.schema import include_name, metadata
from tests.conftest import migrate, owner_url_for

pytestmark = pytest.mark.postgres_only

MONTHS = ("2026-01", "2026-02", "2026-03")


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """A program of three months: January and February closed, March drafted."""
    engine = make_engine(migrated_url)
    with unit_of_work(engine) as session:
        demo.generate(session, 12, len(MONTHS), seed=3, start=MONTHS[0])
    for period in MONTHS:
        with unit_of_work(engine) as session:
            tiers.evaluate(session, period, actor="finance")
            batch.run(session, period, actor="alice")
            if period != MONTHS[-1]:
                batch.approve(session, period, actor="bob")
                batch.close(session, period, actor="bob")
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> dict[str, str]:
    """Every draft table by name: its kind ("p" partitioned, "r" plain) and parent."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relkind, coalesce(p.relname, '') FROM pg_class c "
                "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid "
                "LEFT JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE c.relname LIKE 'draft\\_lines%' AND c.relkind IN ('r', 'p')"
            )
        )
        return {name: f"{kind} of {parent}" if parent else kind for name, kind, parent in rows}


def _drafts(engine: Engine) -> dict[str, tuple[int, str, str]]:
    """Per period: lines stored, their digest, and the digest the batch recorded."""
    with unit_of_work(engine) as session:
        return {
            period: (
                session.scalar(
                    select(func.count()).select_from(DraftLine).where(DraftLine.period == period)
                )
                or 0,
                draft.stored_digest(session, period),
                session.get_one(Batch, period).draft_hash,
            )
            for period in MONTHS
        }


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    """Every stored draft line, in key order."""
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text("SELECT * FROM draft_lines ORDER BY period, partner_id, line_no")
            )
        ]


def _owner(engine: Engine) -> Engine:
    """The schema owner's engine on the same database (the triggers hold even for it)."""
    return make_engine(owner_url_for(engine.url.render_as_string(hide_password=False)))


def _refusal(engine: Engine, statement: str) -> str:
    """The database's error for `statement` run as the schema owner (rolled back either
    way), or "" if none."""
    owner = _owner(engine)
    try:
        with owner.connect() as conn:
            try:
                conn.execute(text(statement))
            except DBAPIError as exc:
                return str(exc.orig)
            finally:
                conn.rollback()
    finally:
        owner.dispose()
    return ""


def test_each_period_is_a_partition_of_its_own(engine: Engine) -> None:
    assert _tables(engine) == {
        "draft_lines": "p",
        "draft_lines_2026_01": "r of draft_lines",
        "draft_lines_2026_02": "r of draft_lines",
        "draft_lines_2026_03": "r of draft_lines",
    }
    for lines, stored, recorded in _drafts(engine).values():
        assert lines > 0
        assert stored == recorded


def test_running_again_swaps_in_a_new_partition_with_the_same_lines(engine: Engine) -> None:
    before = _drafts(engine)
    with engine.connect() as conn:
        old = conn.scalar(text("SELECT 'draft_lines_2026_03'::regclass::oid"))
    with unit_of_work(engine) as session:
        result = batch.run(session, "2026-03", actor="carol")
    with engine.connect() as conn:
        new = conn.scalar(text("SELECT 'draft_lines_2026_03'::regclass::oid"))
    assert new != old  # a new table, not the old one rewritten
    assert result.draft_hash == before["2026-03"][2]
    assert _drafts(engine) == before
    assert set(_tables(engine)) == {"draft_lines", *(partitions.partition_of(p) for p in MONTHS)}


def test_a_new_draft_is_analysed_so_a_close_reads_it_in_key_order(
    engine: Engine, migrated_url: str
) -> None:
    # Without statistics of the new partition, the planner sorted the whole month on
    # disk for the close's two reads of it in key order.
    with unit_of_work(engine) as session:
        batch.run(session, "2026-03", actor="carol")
    owner = make_engine(owner_url_for(migrated_url))  # pg_stats shows its tables' only
    try:
        with owner.connect() as conn:
            analysed = conn.scalar(
                text(
                    "SELECT most_common_vals::text FROM pg_stats "
                    "WHERE tablename = 'draft_lines_2026_03' AND attname = 'period'"
                )
            )
    finally:
        owner.dispose()
    assert analysed == "{2026-03}"


def test_statements_issued_are_compressed_by_lz4_where_the_server_has_it(
    engine: Engine,
) -> None:
    # The canonical JSON of a large month's statements is hundreds of megabytes.
    with engine.connect() as conn:
        lz4 = conn.scalar(
            text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        )
        compression = conn.scalar(
            text(
                "SELECT attcompression FROM pg_attribute WHERE attname = 'canonical_json' "
                "AND attrelid = 'issued_statements'::regclass"
            )
        )
    assert compression == ("l" if lz4 else "")


def test_a_run_that_fails_leaves_the_draft_there_was(engine: Engine) -> None:
    before = _drafts(engine)
    tables = _tables(engine)

    def run_then_fail() -> None:
        with unit_of_work(engine) as session:
            batch.run(session, "2026-03", actor="carol")
            raise RuntimeError("stop")  # after the swap, before the commit

    with pytest.raises(RuntimeError, match="stop"):
        run_then_fail()
    assert _drafts(engine) == before
    assert _tables(engine) == tables


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM draft_lines_2026_01",
        "TRUNCATE draft_lines_2026_01",
        "UPDATE draft_lines_2026_01 SET explanation = 'rewritten'",
        "INSERT INTO draft_lines_2026_01 SELECT * FROM draft_lines_2026_02 LIMIT 0",
        "DELETE FROM draft_lines WHERE period = '2026-02'",
        "UPDATE draft_lines SET explanation = 'rewritten' WHERE period = '2026-02'",
    ],
)
def test_a_closed_period_partition_refuses_changes(engine: Engine, statement: str) -> None:
    assert "append-only" in _refusal(engine, statement)


def test_the_open_period_partition_takes_changes(engine: Engine) -> None:
    # The guards name the closed periods, not every period.
    assert _refusal(engine, "UPDATE draft_lines_2026_03 SET explanation = 'x'") == ""


def test_autogenerate_leaves_the_partitions_alone(engine: Engine) -> None:
    with engine.connect() as connection:
        everything = compare_metadata(MigrationContext.configure(connection), metadata)
        models = compare_metadata(
            MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            ),
            metadata,
        )
    assert {d[1].name for d in everything if d[0] == "remove_table"} == {
        partitions.partition_of(p) for p in MONTHS
    }
    assert models == []


def test_migrations_move_drafts_out_of_partitions_and_back(engine: Engine) -> None:
    before = _drafts(engine)
    rows = _rows(_owner(engine))
    config = migrations.alembic_config()
    owner = _owner(engine)
    with owner.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    assert _tables(engine) == {"draft_lines": "r"}
    assert _rows(owner) == rows  # (the models are of the newest schema: plain SQL here)
    assert "append-only" in _refusal(engine, "DELETE FROM draft_lines WHERE period = '2026-01'")

    migrate(engine.url.render_as_string(hide_password=False))
    owner.dispose()
    assert _tables(engine) == {
        "draft_lines": "p",
        **{partitions.partition_of(p): "r of draft_lines" for p in MONTHS},
    }
    assert _rows(_owner(engine)) == rows
    # Going back past 0014 forgets the payee details frozen with each draft, so the
    # stored drafts no longer give their hashes; the open month's next run does again.
    assert [d[:1] for d in _drafts(engine).values()] == [d[:1] for d in before.values()]
    assert "append-only" in _refusal(engine, "TRUNCATE draft_lines_2026_01")
    assert "append-only" in _refusal(engine, "DELETE FROM draft_lines WHERE period = '2026-01'")
    with unit_of_work(engine) as session:
        assert batch.run(session, "2026-03", actor="carol").draft_hash == before["2026-03"][2]


def test_without_copy_the_run_inserts_into_the_new_partition(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _drafts(engine)
    monkeypatch.setattr(batch, "_can_copy", lambda session: False)
    with unit_of_work(engine) as session:
        result = batch.run(session, "2026-03", actor="carol")
    assert result.draft_hash == before["2026-03"][2]
    assert _drafts(engine) == before
