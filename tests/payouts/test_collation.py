"""Draft hashes must not depend on the PostgreSQL server's collation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from payouts.batch import service as batch
from payouts.db import make_engine, normalise_url, unit_of_work
from tests.conftest import (
    BACKEND_URL,
    discard_database,
    migrate,
    owner_url_for,
    scratch_name,
)
from tests.payouts.batch.test_spiff_events import NEW_LOGOS, new_logo_program, paid_new_logos
from tests.payouts.program import Program

pytestmark = pytest.mark.postgres_only


def _url(name: str) -> str:
    return normalise_url(BACKEND_URL).set(database=name).render_as_string(False)


@pytest.fixture
def icu_url() -> Iterator[str]:
    """A database whose text ordering is en-US ("acme" < "Beta"), unlike Python's."""
    name = scratch_name("icu")
    admin = create_engine(owner_url_for(_url("postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
                "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
        )
    admin.dispose()
    try:
        yield _url(name)
    finally:
        discard_database(name)


def test_a_month_closes_when_the_server_orders_ids_differently(icu_url: str) -> None:
    engine = make_engine(icu_url)
    migrate(icu_url)
    with unit_of_work(engine) as session:
        program = Program(session)
        plan = program.plan("referral", minimum_payout="0")
        for partner, customer in (
            ("acme", "C-1"),
            ("Beta", "C-2"),
            ("P-10", "C-3"),
            ("P-9", "C-4"),
        ):
            program.partner(partner, plan, kind="referral")
            program.deal(partner, "referral", day="2026-01-02", customer=customer)
            program.invoice(None, "100.00", "2026-01-15", customer=customer)
        result = program.close_month("2026-01")
    engine.dispose()
    assert result.payouts == 4


def test_a_new_logo_is_chosen_by_id_as_python_orders_ids(icu_url: str) -> None:
    engine = make_engine(icu_url)
    migrate(icu_url)
    with unit_of_work(engine) as session:
        new_logo_program(session)
        batch.run(session, "2026-01", actor="alice")
        paid = paid_new_logos(session, "2026-01")
    engine.dispose()
    assert paid == NEW_LOGOS  # en-US would pick "acme-2" over "Beta-1"
