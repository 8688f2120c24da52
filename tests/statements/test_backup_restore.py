"""Backup and restore: a dump of a closed month restores into statements that verify."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from payouts.batch import draft
from payouts.batch.models import Batch
from payouts.db import make_engine, normalise_url, unit_of_work
from payouts.issued import IssuedStatement
from statements import issue
from tests.conftest import BACKEND_URL, discard_database, owner_url_for, scratch_name
from tests.payouts.program import Program

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed"),
]


def _url(name: str) -> str:
    return normalise_url(BACKEND_URL).set(database=name).render_as_string(False)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _admin(sql: str) -> None:
    admin = create_engine(owner_url_for(_url("postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


def test_a_restored_dump_verifies_every_statement(migrated_url: str, tmp_path: Path) -> None:
    engine = make_engine(migrated_url)
    with unit_of_work(engine) as session:
        program = Program(session)
        plan = program.plan("referral", minimum_payout="0")
        for n in range(5):
            program.partner(f"P-{n}", plan, kind="referral")
            program.deal(f"P-{n}", "referral", day="2026-01-02", customer=f"C-{n + 1}")
            program.invoice(None, f"{100 + n}.00", "2026-01-15", customer=f"C-{n + 1}")
        program.close_month("2026-01")
        issue.issue_period(session, "2026-01", actor="finance")
    engine.dispose()

    dump = tmp_path / "payouts.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", f"--file={dump}", _libpq(owner_url_for(migrated_url))],
        check=True,
        capture_output=True,
    )
    restored = scratch_name("restore")
    _admin(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                f"--dbname={_libpq(owner_url_for(_url(restored)))}",
                str(dump),
            ],
            check=True,
            capture_output=True,
        )
        restored_engine = make_engine(_url(restored))
        with unit_of_work(restored_engine) as session:
            partners = [row.partner_id for row in session.query(IssuedStatement).all()]
            results = [issue.verify(session, p, "2026-01") for p in partners]
            # The draft comes back in its partition, as it was approved.
            approved = session.get_one(Batch, "2026-01").approved_hash
            assert draft.stored_digest(session, "2026-01") == approved
        restored_engine.dispose()
        assert len(results) == 5
        assert all(result.match for result in results)
    finally:
        discard_database(restored)
