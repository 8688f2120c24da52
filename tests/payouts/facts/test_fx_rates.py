"""FX rates: plausible bounds, a recorded correction while the month is open, and the
database refusing a change to a rate of a closed month."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payouts import audit, periods
from payouts.batch import service as batch
from payouts.batch.errors import DraftChanged
from payouts.facts import models as m
from payouts.facts.ingest import FactConflict, FactsRefused, ingest
from payouts.periods import Period
from tests.payouts.program import Program


def rate(value: Any = "1.0850", **changes: Any) -> dict[str, Any]:
    return {
        "id": "FX-1",
        "date": "2026-01-10",
        "from_currency": "EUR",
        "to_currency": "USD",
        "rate": value,
        "source": "ECB",
        **changes,
    }


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e30", "plain decimal string"),
        ("1E+2", "plain decimal string"),
        ("0", "between 0.000001 and 1000000"),
        ("0.0000009", "between 0.000001 and 1000000"),
        ("1000000.01", "between 0.000001 and 1000000"),
        ("12345678", "at most 7 digits before the point"),
        ("1.0000000000001", "at most 12 decimals"),
        ("1,08", "plain decimal string"),
        (1.08, "not a binary float"),
        (2, "not a JSON number"),
    ],
)
def test_an_implausible_or_malformed_rate_is_refused(
    session: Session, value: Any, reason: str
) -> None:
    with pytest.raises(FactsRefused) as refused:
        ingest(session, "fx_rates", [rate(value)], actor="finance")
    [error] = refused.value.errors
    assert error.messages[0].startswith("rate: ")
    assert reason in error.messages[0]
    assert session.get(m.FxRate, "FX-1") is None


@pytest.mark.parametrize("value", ["0.000001", "1000000", "149.52", "0.9215", "3.2601"])
def test_rates_within_the_bounds_are_stored_as_written(session: Session, value: str) -> None:
    ingest(session, "fx_rates", [rate(value)], actor="finance")
    stored = session.get(m.FxRate, "FX-1")
    assert stored is not None
    assert stored.rate == value


def test_a_rate_is_corrected_by_an_amendment_recorded_with_before_and_after(
    session: Session,
) -> None:
    ingest(session, "fx_rates", [rate("1.0850")], actor="billing")
    with pytest.raises(FactConflict, match="accepts an explicit amendment"):
        ingest(session, "fx_rates", [rate("1.0580")], actor="billing")
    result = ingest(session, "fx_rates", [rate("1.0580")], actor="alice", amend=True)
    assert result.amended == ["FX-1"]
    stored = session.get(m.FxRate, "FX-1")
    assert stored is not None
    assert stored.rate == "1.0580"
    [entry] = audit.history(session, "fx_rates", "FX-1")
    assert entry.actor == "alice"
    assert entry.before == {"rate": "1.0850"}
    assert entry.after == {"rate": "1.0580"}


def test_an_amendment_cannot_move_a_rate_to_another_day_or_pair(session: Session) -> None:
    ingest(session, "fx_rates", [rate()], actor="finance")
    for changed in (
        rate(date="2026-01-11"),
        rate(from_currency="GBP"),
        rate(to_currency="CHF"),
    ):
        with pytest.raises(FactsRefused, match="the date and currencies of an FX rate"):
            ingest(session, "fx_rates", [changed], actor="finance", amend=True)


def close(session: Session, period: str) -> None:
    periods.ensure(session, {period})
    row = session.get(Period, period)
    assert row is not None
    row.status = "closed"
    session.flush()


def test_a_rate_of_a_closed_month_cannot_be_amended(session: Session) -> None:
    ingest(session, "fx_rates", [rate()], actor="finance")
    close(session, "2026-01")
    with pytest.raises(FactsRefused, match="2026-01 is closed"):
        ingest(session, "fx_rates", [rate("1.0580")], actor="finance", amend=True)
    stored = session.get(m.FxRate, "FX-1")
    assert stored is not None
    assert stored.rate == "1.0850"


def test_the_database_refuses_an_update_of_a_rate_whose_month_is_closed(
    session: Session,
) -> None:
    ingest(session, "fx_rates", [rate(), rate(id="FX-2", date="2026-02-02")], actor="finance")
    close(session, "2026-01")
    # February is open: a hand-typed correction there is the database's business no more
    # than the code's (the code's checks still apply to every amendment it makes).
    session.execute(text("UPDATE fx_rates SET rate = '1.07' WHERE id = 'FX-2'"))
    with pytest.raises(DBAPIError, match="closed"), session.begin_nested():
        session.execute(text("UPDATE fx_rates SET rate = '1.07' WHERE id = 'FX-1'"))
    with pytest.raises(DBAPIError, match="closed"), session.begin_nested():
        session.execute(text("UPDATE fx_rates SET date = '2026-02-01' WHERE id = 'FX-1'"))


def usd_eur(ident: str, day: str, value: str) -> dict[str, Any]:
    return rate(value, id=ident, date=day, from_currency="USD", to_currency="EUR")


@pytest.fixture
def program(session: Session) -> Program:
    """A referral partner paid in EUR on a referred customer's USD invoices."""
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-1", plan, kind="referral", currency="EUR")
    program.deal("P-1", "referral", day="2026-01-02", customer="C-2")
    ingest(session, "fx_rates", [usd_eur("FX-JAN", "2026-01-01", "0.90")], actor="finance")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.invoice(None, "100.00", "2026-02-15", customer="C-2")
    return program


def test_an_amendment_voids_the_drafts_of_its_month_and_later_months(
    session: Session, program: Program
) -> None:
    ingest(session, "fx_rates", [usd_eur("FX-FEB", "2026-02-01", "0.91")], actor="finance")
    batch.run(session, "2026-01", actor="alice")

    # A February rate cannot reach January's draft: approving it is still allowed.
    correction = usd_eur("FX-FEB", "2026-02-01", "0.92")
    ingest(session, "fx_rates", [correction], actor="finance", amend=True)
    batch.approve(session, "2026-01", actor="bob")

    # A January rate reaches January's draft (and February's): the approval is void.
    correction = usd_eur("FX-JAN", "2026-01-01", "0.95")
    ingest(session, "fx_rates", [correction], actor="finance", amend=True)
    with pytest.raises(DraftChanged):
        batch.close(session, "2026-01", actor="bob")
    batch.run(session, "2026-01", actor="alice")
    batch.approve(session, "2026-01", actor="bob")
    batch.close(session, "2026-01", actor="bob")
    converted = [e for e in program.entries("P-1", "2026-01") if e.fx_rate is not None]
    assert converted
    assert {e.fx_rate for e in converted} == {"0.95"}


def test_a_new_rate_voids_the_drafts_it_can_reach(session: Session, program: Program) -> None:
    batch.run(session, "2026-01", actor="alice")
    # Now the rate in force on the invoice's day:
    ingest(session, "fx_rates", [usd_eur("FX-MID", "2026-01-10", "0.95")], actor="finance")
    with pytest.raises(DraftChanged):
        batch.approve(session, "2026-01", actor="bob")
