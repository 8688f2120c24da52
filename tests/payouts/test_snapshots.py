"""Sharing one transaction's view of the database with other processes
(`payouts.snapshots`): what the batch's workers and statement rendering read under."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from payouts import snapshots
from payouts.base import utcnow
from payouts.program_settings import ProgramSetting
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="snapshots are PostgreSQL's")


def _setting(name: str) -> ProgramSetting:
    return ProgramSetting(name=name, value="on", updated_by="test", updated_at=utcnow())


def test_an_imported_snapshot_sees_what_the_exporting_transaction_saw(
    engine: Engine, owner_engine: Engine
) -> None:
    before, after = f"snap-{uuid.uuid4().hex[:8]}", f"snap-{uuid.uuid4().hex[:8]}"
    with Session(engine) as writer:
        writer.add(_setting(before))
        writer.commit()
    try:
        with Session(engine) as exporting:
            assert snapshots.untouched(exporting)
            snapshot = snapshots.export(exporting)
            with Session(engine) as writer:  # committed after the export: not seen
                writer.add(_setting(after))
                writer.commit()
            with snapshots.reading(snapshots.url_of(exporting), snapshot) as imported:
                names = set(imported.scalars(select(ProgramSetting.name)))
            assert before in names
            assert after not in names
            with snapshots.reading(engine, snapshot) as imported:
                assert after not in set(imported.scalars(select(ProgramSetting.name)))
    finally:
        with Session(owner_engine) as cleaner:  # the service's role deletes nothing
            cleaner.execute(delete(ProgramSetting).where(ProgramSetting.name.in_([before, after])))
            cleaner.commit()


def test_a_snapshot_whose_transaction_ended_is_named_gone(engine: Engine) -> None:
    with Session(engine) as exporting:
        snapshot = snapshots.export(exporting)
        url = snapshots.url_of(exporting)
    with pytest.raises(snapshots.SnapshotGone), snapshots.reading(url, snapshot):
        pass


def test_a_transaction_that_wrote_is_not_untouched(session: Session) -> None:
    session.add(_setting(f"snap-{uuid.uuid4().hex[:8]}"))
    session.flush()
    assert not snapshots.untouched(session)


def test_only_a_snapshot_id_is_spliced_into_sql(engine: Engine) -> None:
    with (
        pytest.raises(ValueError, match="not a snapshot id"),
        snapshots.reading(engine, "0000-1'; DROP TABLE partners; --"),
    ):
        pass
