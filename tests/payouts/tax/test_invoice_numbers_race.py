"""Concurrent closes taking invoice numbers, on real connections (SQLite and
PostgreSQL): the numbers that commit run 1, 2, 3... with no gap and no repeat, also
when some of the racing transactions roll back after taking a number."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select

from payouts.db import make_engine, unit_of_work
from payouts.facts.ingest import ingest
from payouts.tax.invoices import next_number
from payouts.tax.models import SelfBilledInvoice
from tests.payouts.test_concurrency import at_once

ISSUER = "vendor-gmbh"
RACERS = 8


class ClosedWithAnError(Exception):
    """A close that fails after it took its number: its transaction rolls back."""


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    with unit_of_work(engine) as session:
        partners = [
            {"id": f"P-{i}", "name": f"Partner {i}", "type": "referral", "payout_currency": "EUR"}
            for i in range(RACERS)
        ]
        ingest(session, "partners", partners, actor="crm")
    yield engine
    engine.dispose()


def invoice(number: int, partner_id: str) -> SelfBilledInvoice:
    return SelfBilledInvoice(
        issuer=ISSUER,
        number=number,
        kind="invoice",
        partner_id=partner_id,
        period="2026-01",
        issued_on=date(2026, 1, 31),
        currency="EUR",
        net_minor=1000,
        vat_minor=190,
        gross_minor=1190,
        vat_rule="domestic",
        vat_rate="0.19",
        supplier_vat_id="DE129273398",
        customer_vat_id="DE136695976",
        customer_name="Vendor GmbH",
        lines="[]",
    )


def test_racing_closes_leave_no_gap_and_no_repeat(engine: Engine) -> None:
    lock = threading.Lock()
    taken: list[int] = []

    def close(i: int) -> int:
        with unit_of_work(engine) as session:
            number = next_number(session, ISSUER)
            with lock:
                taken.append(number)
            session.add(invoice(number, f"P-{i}"))
            session.flush()
            time.sleep(0.05)  # hold the number while the others queue for it
            if i % 3 == 0:
                raise ClosedWithAnError(f"close {i} failed after taking {number}")
        return number

    results: list[Any] = at_once(RACERS, close)
    failed = [r for r in results if isinstance(r, ClosedWithAnError)]
    committed = [r for r in results if isinstance(r, int)]
    assert len(failed) == len(range(0, RACERS, 3))
    assert len(committed) == RACERS - len(failed)
    assert not [r for r in results if not isinstance(r, int | ClosedWithAnError)], results
    with unit_of_work(engine, read_only=True) as session:
        stored = sorted(session.scalars(select(SelfBilledInvoice.number)))
    assert stored == list(range(1, len(committed) + 1))
    assert sorted(committed) == stored
    # A rolled-back close gave its number back: it was taken again by a later close.
    assert len(taken) == RACERS
    assert len(set(taken)) < RACERS
