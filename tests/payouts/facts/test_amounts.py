"""Amounts and currencies of incoming facts: the documented form, or a clear refusal.

An amount is a decimal string: ASCII digits, at most 12 before the point, and an
optional point with no more decimals than the currency's minor unit. Everything else
is refused with the reason, before anything reaches the database.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from payouts.facts import models as m
from payouts.facts.ingest import FactsRefused, ingest


@pytest.fixture
def customer(session: Session) -> Session:
    ingest(session, "customers", [{"id": "C-1", "name": "Customer One"}], actor="crm")
    return session


def invoice(amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {
        "id": "INV-1",
        "customer_id": "C-1",
        "issue_date": "2026-01-15",
        "amount": amount,
        "currency": currency,
    }


def refusal(session: Session, record: dict[str, Any], kind: str = "invoices") -> str:
    with pytest.raises(FactsRefused) as refused:
        ingest(session, kind, [record], actor="billing")
    [error] = refused.value.errors
    return " | ".join(error.messages)


@pytest.mark.parametrize(
    "amount",
    [
        "1e100",
        "1e3",
        "1E+2",
        "12.00e0",
        "1_000.00",
        "1,000.00",
        "\u0661\u0660\u0660",  # Arabic-Indic digits: 100
        "\uff11\uff10\uff10",  # full-width digits: 100
        "+100.00",
        "-100.00",
        ".5",
        "5.",
        "0x10",
        "NaN",
        "Infinity",
        "",
        " ",
        "1 000.00",
    ],
)
def test_an_amount_not_written_as_a_plain_decimal_string_is_refused(
    customer: Session, amount: str
) -> None:
    message = refusal(customer, invoice(amount))
    assert message.startswith("amount: ")
    assert "plain decimal string" in message
    assert customer.get(m.Invoice, "INV-1") is None


@pytest.mark.parametrize("amount", [100, 10**30, 12.5, True])
def test_an_amount_sent_as_a_json_number_is_refused(customer: Session, amount: Any) -> None:
    message = refusal(customer, invoice(amount))
    assert "amount: expected a decimal string" in message
    assert "not a JSON number" in message or "not a binary float" in message


@pytest.mark.parametrize(
    "amount", ["1" + "0" * 29, "99999999999999999999.99", "1000000000000", "1000000000000.00"]
)
def test_an_amount_beyond_twelve_integer_digits_is_refused(customer: Session, amount: str) -> None:
    message = refusal(customer, invoice(amount))
    assert "at most 12 digits before the point" in message


def test_an_amount_with_more_decimals_than_the_currency_is_refused(customer: Session) -> None:
    assert "more decimals than USD allows (2)" in refusal(customer, invoice("100.000"))
    assert "more decimals than JPY allows (0)" in refusal(customer, invoice("100.0", "JPY"))
    assert "more decimals than KWD allows (3)" in refusal(customer, invoice("1.2345", "KWD"))


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("0", "USD", 0),
        ("100", "USD", 10_000),
        ("100.5", "USD", 10_050),
        ("0100.00", "USD", 10_000),
        ("999999999999.99", "USD", 99_999_999_999_999),
        ("999999999999", "JPY", 999_999_999_999),
        ("999999999999.999", "KWD", 999_999_999_999_999),
        (" 42.00 ", "USD", 4_200),
    ],
)
def test_a_plain_decimal_string_within_the_bound_is_stored_exactly(
    customer: Session, amount: str, currency: str, minor: int
) -> None:
    ingest(customer, "invoices", [invoice(amount, currency)], actor="billing")
    stored = customer.get(m.Invoice, "INV-1")
    assert stored is not None
    assert (stored.amount_minor, stored.currency) == (minor, currency)


def test_every_money_field_follows_the_same_rule(customer: Session) -> None:
    deal = {
        "id": "D-1",
        "customer_id": "C-1",
        "list_amount": "1e3",
        "net_amount": 60,
        "currency": "USD",
        "close_date": "2026-01-10",
    }
    message = refusal(customer, deal, "deals")
    assert "list_amount: " in message
    assert "net_amount: " in message
    ingest(customer, "invoices", [invoice("100.00")], actor="billing")
    for kind, day in (("payments", "paid_date"), ("refunds", "refund_date")):
        record = {"id": "X-1", "invoice_id": "INV-1", day: "2026-01-20", "currency": "USD"}
        assert "plain decimal string" in refusal(customer, {**record, "amount": "1E+1"}, kind)


@pytest.mark.parametrize(
    "currency",
    [
        "XAU",  # gold
        "XAG",  # silver
        "XPT",  # platinum
        "XPD",  # palladium
        "XTS",  # reserved for testing
        "XXX",  # no currency
        "XDR",  # special drawing right
        "XBA",  # bond market unit
        "XSU",  # sucre
        "XUA",  # ADB unit of account
        "USN",  # US dollar next day (a fund code)
        "USS",
        "BOV",
        "CLF",
        "COU",
        "MXV",
        "UYI",
        "UYW",
        "CHE",
        "CHW",
        "CNH",  # offshore renminbi: a market convention, not an ISO 4217 code
        "DEM",  # a withdrawn currency
        "HRK",
    ],
)
def test_a_currency_money_is_not_paid_in_is_refused(customer: Session, currency: str) -> None:
    message = refusal(customer, invoice("1", currency))
    assert f"currency: {currency!r} is not a currency money is paid in" in message


@pytest.mark.parametrize(
    "currency", ["USD", "EUR", "JPY", "KWD", "CHF", "XOF", "XAF", "XCD", "XPF", "GBP"]
)
def test_currencies_money_is_paid_in_are_accepted(customer: Session, currency: str) -> None:
    ingest(customer, "invoices", [invoice("1", currency)], actor="billing")
    assert customer.get(m.Invoice, "INV-1") is not None
