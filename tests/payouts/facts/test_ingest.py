"""Ingestion of facts: idempotent, all-or-nothing, every error of a batch at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts import audit, periods
from payouts.facts import FACT_KINDS
from payouts.facts import models as m
from payouts.facts.ingest import KINDS, FactConflict, FactsRefused, ingest
from payouts.periods import Period
from payouts.reference.models import Customer

PARTNERS = [
    {"id": "P-1", "name": "Acme Resellers", "type": "reseller", "payout_currency": "USD"},
    {"id": "P-2", "name": "Beta Referrals", "type": "referral", "payout_currency": "EUR"},
]
CUSTOMERS = [{"id": "C-1", "name": "Customer One"}, {"id": "C-2", "name": "Customer Two"}]
DEAL = {
    "id": "D-1",
    "customer_id": "C-1",
    "list_amount": "100.00",
    "net_amount": "60.00",
    "currency": "USD",
    "close_date": "2026-01-10",
}


def invoice(ident: str, amount: str = "100.00", day: str = "2026-01-15", **extra: Any) -> dict:
    return {
        "id": ident,
        "customer_id": "C-1",
        "deal_id": "D-1",
        "issue_date": day,
        "amount": amount,
        "currency": "USD",
        **extra,
    }


@pytest.fixture
def seeded(session: Session) -> Session:
    ingest(session, "partners", PARTNERS, actor="crm")
    ingest(session, "customers", CUSTOMERS, actor="crm")
    ingest(session, "deals", [DEAL], actor="crm")
    return session


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_same_records_twice_change_nothing_the_second_time(seeded: Session) -> None:
    batch = [invoice("INV-1"), invoice("INV-2", "250.50")]
    first = ingest(seeded, "invoices", batch, actor="billing")
    second = ingest(seeded, "invoices", batch, actor="billing")
    assert first.inserted == ["INV-1", "INV-2"]
    assert second.inserted == []
    assert second.unchanged == ["INV-1", "INV-2"]
    assert count(seeded, m.Invoice) == 2


def test_the_same_amount_written_differently_is_the_same_content(seeded: Session) -> None:
    ingest(seeded, "invoices", [invoice("INV-1", "100.00")], actor="billing")
    again = ingest(seeded, "invoices", [invoice("INV-1", "100")], actor="billing")
    assert again.unchanged == ["INV-1"]


def test_a_conflicting_record_is_refused_and_nothing_of_its_batch_is_written(
    seeded: Session,
) -> None:
    ingest(seeded, "invoices", [invoice("INV-1")], actor="billing")
    with pytest.raises(FactConflict) as refused:
        ingest(seeded, "invoices", [invoice("INV-9"), invoice("INV-1", "99.00")], actor="billing")
    assert refused.value.status == 409
    [error] = refused.value.errors
    assert error.index == 2
    assert error.id == "INV-1"
    assert "already exists with different content" in error.messages[0]
    assert seeded.get(m.Invoice, "INV-9") is None
    assert seeded.get(m.Invoice, "INV-1").amount_minor == 10000  # type: ignore[union-attr]


def test_every_error_of_every_record_is_reported_at_once(seeded: Session) -> None:
    bad = [
        invoice("INV-1"),
        {**invoice("INV-2", "10.001"), "currency": "usd", "customer_id": "C-404"},
        {**invoice("INV-3", day="01/02/2026"), "deal_id": "D-404"},
        {**invoice("INV-4"), "amount": 12.5},
    ]
    with pytest.raises(FactsRefused) as refused:
        ingest(seeded, "invoices", bad, actor="billing")
    errors = {e.id: " | ".join(e.messages) for e in refused.value.errors}
    assert set(errors) == {"INV-2", "INV-3", "INV-4"}
    assert "'usd' is not an ISO 4217 currency code" in errors["INV-2"]
    assert "not a date of the form YYYY-MM-DD" in errors["INV-3"]
    assert "unknown deal 'D-404'" in errors["INV-3"]
    assert "not a binary float" in errors["INV-4"]
    assert count(seeded, m.Invoice) == 0


def test_amounts_with_too_many_decimals_for_the_currency_are_refused(seeded: Session) -> None:
    with pytest.raises(FactsRefused, match=r"more decimals than USD allows \(2\)"):
        ingest(seeded, "invoices", [invoice("INV-1", "10.001")], actor="billing")
    jpy = {**invoice("INV-2", "1000.5"), "currency": "JPY"}
    with pytest.raises(FactsRefused, match=r"more decimals than JPY allows \(0\)"):
        ingest(seeded, "invoices", [jpy], actor="billing")


def test_a_refund_larger_than_what_remains_of_the_invoice_is_refused(seeded: Session) -> None:
    ingest(seeded, "invoices", [invoice("INV-1", "100.00")], actor="billing")
    refund = {"invoice_id": "INV-1", "refund_date": "2026-03-02", "currency": "USD"}
    ingest(seeded, "refunds", [{**refund, "id": "R-1", "amount": "60.00"}], actor="billing")
    with pytest.raises(FactsRefused) as refused:
        ingest(
            seeded,
            "refunds",
            [{**refund, "id": "R-2", "amount": "30.00"}, {**refund, "id": "R-3", "amount": "20"}],
            actor="billing",
        )
    [error] = refused.value.errors
    assert error.id == "R-3"
    assert "more than what remains to be refunded on invoice INV-1 (10.00 USD)" in error.messages[0]


def test_a_refund_dated_before_its_invoice_is_refused(seeded: Session) -> None:
    ingest(seeded, "invoices", [invoice("INV-1")], actor="billing")
    with pytest.raises(FactsRefused, match="before the invoice date"):
        ingest(
            seeded,
            "refunds",
            [
                {
                    "id": "R-1",
                    "invoice_id": "INV-1",
                    "refund_date": "2026-01-01",
                    "amount": "5.00",
                    "currency": "USD",
                }
            ],
            actor="billing",
        )


def test_a_second_approved_registration_on_a_deal_is_refused_with_the_reason(
    seeded: Session,
) -> None:
    first = {
        "id": "REG-1",
        "deal_id": "D-1",
        "partner_id": "P-1",
        "status": "approved",
        "approved_at": "2026-01-03",
        "expires_at": "2026-04-03",
    }
    ingest(seeded, "deal_registrations", [first], actor="crm")
    second = {**first, "id": "REG-2", "partner_id": "P-2", "approved_at": "2026-01-04"}
    with pytest.raises(FactsRefused) as refused:
        ingest(seeded, "deal_registrations", [second], actor="crm")
    message = refused.value.errors[0].messages[0]
    assert "deal D-1 already has an approved registration REG-1 (partner P-1" in message
    assert "the first approved registration wins" in message


def test_a_registration_amendment_is_recorded_with_before_and_after(seeded: Session) -> None:
    pending = {"id": "REG-1", "deal_id": "D-1", "partner_id": "P-1", "status": "pending"}
    ingest(seeded, "deal_registrations", [pending], actor="crm")
    approved = {**pending, "status": "approved", "approved_at": "2026-01-05"}
    with pytest.raises(FactConflict, match="accepts an explicit amendment"):
        ingest(seeded, "deal_registrations", [approved], actor="crm")
    result = ingest(seeded, "deal_registrations", [approved], actor="alice", amend=True)
    assert result.amended == ["REG-1"]
    [entry] = audit.history(seeded, "deal_registrations", "REG-1")
    assert entry.actor == "alice"
    assert entry.before == {"status": "pending", "approved_at": None}
    assert entry.after == {"status": "approved", "approved_at": "2026-01-05"}


def test_money_facts_cannot_be_amended(seeded: Session) -> None:
    ingest(seeded, "invoices", [invoice("INV-1")], actor="billing")
    with pytest.raises(FactConflict):
        ingest(seeded, "invoices", [invoice("INV-1", "1.00")], actor="billing", amend=True)


def test_a_late_fact_for_a_closed_month_is_accounted_in_the_next_open_month(
    seeded: Session,
) -> None:
    periods.ensure(seeded, {"2026-01", "2026-02"})
    for name in ("2026-01", "2026-02"):
        seeded.get(Period, name).status = "closed"  # type: ignore[union-attr]
    seeded.flush()
    ingest(seeded, "invoices", [invoice("INV-LATE", day="2026-01-20")], actor="billing")
    ingest(seeded, "invoices", [invoice("INV-MAR", day="2026-03-02")], actor="billing")
    assert seeded.get(m.Invoice, "INV-LATE").accounting_period == "2026-03"  # type: ignore[union-attr]
    assert seeded.get(m.Invoice, "INV-MAR").accounting_period == "2026-03"  # type: ignore[union-attr]
    assert seeded.get(Period, "2026-03").fact_revision == 2  # type: ignore[union-attr]


def test_partner_payout_details_are_validated(session: Session) -> None:
    bad = {**PARTNERS[0], "iban": "DE00 1234 5678 9012 3456 78", "payout_currency": "EURO"}
    with pytest.raises(FactsRefused) as refused:
        ingest(session, "partners", [bad], actor="crm")
    text = " | ".join(refused.value.errors[0].messages)
    assert "IBAN is not valid" in text
    assert "'EURO' is not an ISO 4217 currency code" in text


def test_an_fx_rate_for_a_pair_and_day_exists_once(session: Session) -> None:
    rate = {
        "id": "FX-1",
        "date": "2026-01-31",
        "from_currency": "EUR",
        "to_currency": "USD",
        "rate": "1.0850",
        "source": "ECB",
    }
    ingest(session, "fx_rates", [rate], actor="finance")
    with pytest.raises(FactsRefused, match="EUR->USD rate for 2026-01-31 already exists"):
        ingest(session, "fx_rates", [{**rate, "id": "FX-2", "rate": "1.09"}], actor="finance")


def test_control_characters_are_refused_on_every_backend(session: Session) -> None:
    """A NUL in a name was stored by SQLite and crashed PostgreSQL; now both refuse it."""
    with pytest.raises(FactsRefused, match="name"):
        ingest(session, "customers", [{"id": "C-9", "name": "bad\x00name"}], actor="crm")
    assert session.get(Customer, "C-9") is None


def test_the_same_refund_and_payment_twice_are_unchanged_not_over_the_invoice(
    seeded: Session,
) -> None:
    """Found by the demo: a repeated full refund was checked against itself and refused."""
    ingest(seeded, "invoices", [invoice("INV-1", "100.00")], actor="billing")
    refund = {
        "id": "R-1",
        "invoice_id": "INV-1",
        "refund_date": "2026-02-01",
        "amount": "100.00",
        "currency": "USD",
    }
    payment = {
        "id": "PAY-1",
        "invoice_id": "INV-1",
        "paid_date": "2026-01-20",
        "amount": "100.00",
        "currency": "USD",
    }
    for kind, record in (("refunds", refund), ("payments", payment)):
        ingest(seeded, kind, [record], actor="billing")
        again = ingest(seeded, kind, [record], actor="billing")
        assert again.unchanged == [record["id"]]


def test_the_kinds_the_command_line_names_are_the_kinds_ingestion_reads() -> None:
    assert tuple(KINDS) == FACT_KINDS
