"""Self-billed invoices at close: VAT per line by the rule table, cent for cent; credit
notes for negative adjustments; numbers without a gap, enforced by the database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payouts.accounting.chart import load_chart
from payouts.accounting.journal import ChartIncomplete, journal
from payouts.batch import payments
from payouts.batch.models import PayoutInstruction
from payouts.facts.ingest import ingest
from payouts.settings import get_settings
from payouts.tax import invoices
from payouts.tax.models import SelfBilledInvoice
from payouts.tax.vat import VatRule
from statements.builder import build, self_billed
from statements.canonical import seal
from statements.csv_export import render_csv
from statements.model import LineKind
from statements.pdf import MoneyFormat, render_pdf
from tests.payouts.accounting.books import assert_balanced_and_tied
from tests.payouts.program import Program
from tests.statements.test_language import english_labels, found

D = Decimal
ISSUER_VAT_ID = "DE136695976"
VAT_IDS = {"DE": "DE129273398", "FR": "FR40303265045", "CH": "CHE-116.281.710 MWST"}


@pytest.fixture
def issuer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INVOICE_ISSUER", "vendor-gmbh")
    monkeypatch.setenv("INVOICE_ISSUER_NAME", "Vendor GmbH")
    monkeypatch.setenv("INVOICE_ISSUER_VAT_ID", ISSUER_VAT_ID)
    monkeypatch.setenv("DOMESTIC_VAT_RATE", "0.19")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def program(session: Session, issuer: None) -> Program:
    return Program(session)


def referral_plan(program: Program) -> str:
    return program.plan(
        "referral",
        minimum_payout="0.00",
        components=[
            {"kind": "referral_fee", "id": "revenue-share", "rate": "10%", "duration": "lifetime"}
        ],
    )


def self_billing_partner(
    program: Program, ident: str, country: str, customer: str, *, business: bool = True
) -> None:
    program.partner(ident, referral_plan(program), kind="referral", currency="EUR", country=country)
    program.deal(ident, "referral", day="2026-01-02", customer=customer, currency="EUR")
    profile: dict[str, Any] = {
        "id": ident,
        "tax_country": country,
        "entity_type": "business" if business else "individual",
        "form": "W-8BEN-E" if business else "W-8BEN",
        "signed_on": "2025-06-01",
        "self_billing": "true",
        "self_billing_from": "2026-01-01",
        "vat_id": VAT_IDS[country],
    }
    ingest(program.session, "tax_profiles", [profile], actor="finance")


def month_of_invoices(program: Program, customer: str, day: str) -> None:
    # Three lines of 0.13 (19 % VAT each 0.0247 -> 0.02) and one of 12.35 (2.3465 -> 2.35):
    # per-line rounding gives 2.41 where rounding the total (12.74 * 0.19) would give 2.42.
    for amount in ("1.30", "1.30", "1.30", "123.45"):
        program.invoice(None, amount, day, customer=customer, currency="EUR")


def expected_vat(amounts: list[Decimal], rate: Decimal) -> Decimal:
    return sum(((a * rate).quantize(D("0.01"), rounding=ROUND_HALF_UP) for a in amounts), D("0.00"))


def payable_amounts(program: Program, partner_id: str, period: str) -> list[Decimal]:
    return [
        D(e.amount_minor).scaleb(-2)
        for e in program.entries(partner_id, period)
        if e.entry_kind != "payout"
    ]


def payout_minor(session: Session, partner_id: str, period: str) -> int:
    return session.scalars(
        select(PayoutInstruction.amount_minor).where(
            PayoutInstruction.partner_id == partner_id, PayoutInstruction.period == period
        )
    ).one()


@pytest.mark.parametrize(
    ("country", "rule", "rate", "mention"),
    [
        ("DE", VatRule.domestic, D("0.19"), ""),
        ("FR", VatRule.reverse_charge, D("0"), "Reverse charge"),
        ("CH", VatRule.outside_scope, D("0"), "Outside the scope of EU VAT"),
    ],
)
def test_vat_per_line_by_the_rule_table_cent_for_cent(
    program: Program, country: str, rule: VatRule, rate: Decimal, mention: str
) -> None:
    self_billing_partner(program, "P-1", country, "C-1")
    month_of_invoices(program, "C-1", "2026-01-15")
    program.close_month("2026-01")

    [document] = invoices.documents(program.session, "P-1", "2026-01")
    amounts = payable_amounts(program, "P-1", "2026-01")
    assert amounts == [D("0.13"), D("0.13"), D("0.13"), D("12.35")]
    assert document.kind == "invoice"
    assert document.number == 1
    assert (document.rule, document.rate, document.mention) == (rule, rate, mention)
    assert [D(x.vat_minor).scaleb(-2) for x in document.lines] == [
        expected_vat([a], rate) for a in amounts
    ]
    vat = expected_vat(amounts, rate)
    assert D(document.vat_minor).scaleb(-2) == vat
    assert D(document.net_minor).scaleb(-2) == sum(amounts)
    assert document.issuer_vat_id == ISSUER_VAT_ID
    assert document.partner_vat_id is not None
    assert document.partner_vat_id.replace("-", "").replace(".", "").startswith(country)
    # The payout pays the invoice: net commission plus the VAT it carries.
    assert payout_minor(program.session, "P-1", "2026-01") == document.gross_minor
    assert D(document.gross_minor).scaleb(-2) == sum(amounts) + vat
    if rule is VatRule.domestic:
        assert vat == D("2.41")  # not 2.42: each line is rounded once


def test_a_negative_adjustment_issues_a_credit_note_that_refers_to_its_invoice(
    program: Program,
) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    january = program.invoice(None, "100.00", "2026-01-15", customer="C-1", currency="EUR")
    program.close_month("2026-01")
    # A refund of January's invoice arrives after January closed: a prior-period
    # adjustment of -4.00 in February, beside February's own 20.00.
    program.refund(january, "40.00", "2026-01-20", currency="EUR")
    program.invoice(None, "200.00", "2026-02-15", customer="C-1", currency="EUR")
    program.close_month("2026-02")

    [first] = invoices.documents(program.session, "P-1", "2026-01")
    invoice, credit = invoices.documents(program.session, "P-1", "2026-02")
    assert (first.number, invoice.number, credit.number) == (1, 2, 3)
    assert credit.kind == "credit_note"
    assert credit.refers_to_number == first.number
    assert [D(x.net_minor).scaleb(-2) for x in credit.lines] == [D("-4.00")]
    assert D(credit.vat_minor).scaleb(-2) == D("-0.76")
    assert D(invoice.net_minor).scaleb(-2) == D("20.00")
    assert D(invoice.vat_minor).scaleb(-2) == D("3.80")
    # February pays 16.00 of commission and 3.04 of VAT: both documents' gross.
    payout = payout_minor(program.session, "P-1", "2026-02")
    assert payout == invoice.gross_minor + credit.gross_minor == 1904
    ledger_payout = program.amounts("P-1", "2026-02", "payout")
    assert ledger_payout == [D("-16.00")]


def test_a_partner_that_did_not_agree_gets_no_invoice_and_no_vat(program: Program) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    program.partner("P-2", referral_plan(program), kind="referral", currency="EUR", country="DE")
    program.deal("P-2", "referral", day="2026-01-02", customer="C-2", currency="EUR")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2", currency="EUR")
    program.close_month("2026-01")
    assert invoices.documents(program.session, "P-2", "2026-01") == []
    assert payout_minor(program.session, "P-2", "2026-01") == 1000  # 10 % of 100.00, no VAT


def test_numbers_run_without_a_gap_across_partners_and_months(program: Program) -> None:
    for n, country in enumerate(("DE", "FR", "DE"), start=1):
        self_billing_partner(program, f"P-{n}", country, f"C-{n}")
    for month in ("2026-01", "2026-02", "2026-03"):
        for n in (1, 2, 3):
            program.invoice(None, "10.00", f"{month}-10", customer=f"C-{n}", currency="EUR")
        program.close_month(month)
    numbers = list(program.session.scalars(select(SelfBilledInvoice.number)))
    assert sorted(numbers) == list(range(1, 10))


def test_the_database_refuses_a_skipped_number_and_any_change(program: Program) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    program.invoice(None, "10.00", "2026-01-10", customer="C-1", currency="EUR")
    program.close_month("2026-01")
    session = program.session
    columns = (
        "issuer, number, kind, partner_id, period, issued_on, currency, net_minor, vat_minor, "
        "gross_minor, vat_rule, vat_rate, customer_vat_id, customer_name, lines, created_at"
    )
    values = (
        "'vendor-gmbh', :n, 'invoice', 'P-1', '2026-02', '2026-02-28', 'EUR', 100, 19, 119, "
        "'domestic', '0.19', 'DE136695976', 'Vendor GmbH', '[]', CURRENT_TIMESTAMP"
    )
    for number in (3, 1):  # a gap, then a repeat
        with pytest.raises(DBAPIError), session.begin_nested():
            session.execute(
                text(f"INSERT INTO self_billed_invoices ({columns}) VALUES ({values})"),
                {"n": number},
            )
    for statement in (
        "UPDATE self_billed_invoices SET vat_minor = 0, gross_minor = net_minor",
        "DELETE FROM self_billed_invoices",
        "UPDATE invoice_series SET last_number = last_number + 2",
        "UPDATE invoice_series SET last_number = 0",
    ):
        with pytest.raises(DBAPIError), session.begin_nested():
            session.execute(text(statement))
    assert [n for (n,) in session.execute(text("SELECT number FROM self_billed_invoices"))] == [1]


def test_without_an_issuer_a_self_billing_close_is_refused(
    program: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    program.invoice(None, "10.00", "2026-01-10", customer="C-1", currency="EUR")
    monkeypatch.setenv("INVOICE_ISSUER_VAT_ID", "")
    get_settings.cache_clear()
    with pytest.raises(invoices.SelfBillingNotConfigured, match="INVOICE_ISSUER_VAT_ID"):
        program.close_month("2026-01")


def test_a_failed_self_billed_payout_returns_the_commission_not_the_vat(
    program: Program,
) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    program.invoice(None, "100.00", "2026-01-15", customer="C-1", currency="EUR")
    program.close_month("2026-01")
    [instruction] = program.session.scalars(select(PayoutInstruction))
    assert instruction.amount_minor == 1190  # 10.00 + 19 % VAT
    payments.mark_paid(
        program.session,
        "2026-01",
        [{"end_to_end_id": instruction.end_to_end_id, "status": "failed", "reason": "closed"}],
        actor="bob",
    )
    assert program.amounts("P-1", "2026-02", "payout_reversal") == [D("10.00")]


def _pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_the_csv_and_the_payout_agree(program: Program) -> None:
    self_billing_partner(program, "P-1", "FR", "C-1")
    month_of_invoices(program, "C-1", "2026-01-15")
    program.close_month("2026-01")
    statement = seal(build(program.session, "P-1", "2026-01"))
    documents = self_billed(program.session, "P-1", "2026-01")
    payout = payout_minor(program.session, "P-1", "2026-01")

    text = _pdf_text(render_pdf(statement, None, documents))
    fmt = MoneyFormat(statement.partner_locale, "EUR")
    assert "Self-billing invoice No. 1" in text
    assert "Reverse charge" in text
    assert ISSUER_VAT_ID in text
    assert VAT_IDS["FR"] in text
    # The summary under the invoice: amount payable + VAT = what the payout transfers.
    figures = " ".join(text.split("Amount transferred", 1)[1].split()[:2])
    assert fmt.money(D(payout).scaleb(-2)).replace("\xa0", " ") in figures.replace("\xa0", " ")

    rows = list(csv.DictReader(io.StringIO(render_csv(statement, documents))))
    [invoice_row] = [r for r in rows if r["line_kind"] == "invoice"]
    assert invoice_row["line_id"] == "invoice-1"
    assert D(invoice_row["amount"]) == D(payout).scaleb(-2)
    vat_rows = [r for r in rows if r["line_kind"] == "vat"]
    assert len(vat_rows) == len(statement.lines_of(LineKind.earning))
    assert sum(D(r["base_amount"]) for r in vat_rows) == statement.amount_payable
    assert "Reverse charge" in invoice_row["explanation"]
    # The statement's own sum is untouched: the invoice rows are not payable.
    [total] = [r for r in rows if r["line_id"] == "TOTAL"]
    payable = [r for r in rows if r["payable"] == "true" and r["line_id"] != "TOTAL"]
    assert D(total["amount"]) == sum(D(r["amount"]) for r in payable) == statement.activity_total


def test_a_german_self_billed_statement_has_no_english_label(program: Program) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    ingest(
        program.session,
        "partners",
        [
            {
                "id": "P-1",
                "name": "Nordwind Vertrieb GmbH",
                "type": "referral",
                "payout_currency": "EUR",
                "country": "DE",
                "locale": "de_DE",
            }
        ],
        actor="finance",
        amend=True,
    )
    month_of_invoices(program, "C-1", "2026-01-15")
    program.close_month("2026-01")
    statement = seal(build(program.session, "P-1", "2026-01"))
    documents = self_billed(program.session, "P-1", "2026-01")
    text = _pdf_text(render_pdf(statement, None, documents))
    assert "Gutschrift Nr. 1" in text
    assert [label for label in english_labels() if found(label, text)] == []


def test_refunds_of_two_invoiced_months_give_two_credit_notes_each_to_its_invoice(
    program: Program,
) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    january = program.invoice(None, "100.00", "2026-01-15", customer="C-1", currency="EUR")
    program.close_month("2026-01")
    february = program.invoice(None, "300.00", "2026-02-15", customer="C-1", currency="EUR")
    program.close_month("2026-02")
    program.refund(january, "10.00", "2026-01-20", currency="EUR")
    program.refund(february, "20.00", "2026-02-20", currency="EUR")
    program.invoice(None, "500.00", "2026-03-15", customer="C-1", currency="EUR")
    program.close_month("2026-03")

    invoice, *credits = invoices.documents(program.session, "P-1", "2026-03")
    assert invoice.kind == "invoice"
    assert [(c.kind, c.refers_to_number) for c in credits] == [
        ("credit_note", 1),
        ("credit_note", 2),
    ]
    assert [c.net_minor for c in credits] == [-100, -200]
    payout = payout_minor(program.session, "P-1", "2026-03")
    assert payout == invoice.gross_minor + sum(c.gross_minor for c in credits)
    assert program.amounts("P-1", "2026-03", "payout") == [D("-47.00")]


def _mark(program: Program, period: str, status: str) -> None:
    rows = [
        {"end_to_end_id": i.end_to_end_id, "status": status, "reason": "account closed"}
        for i in program.session.scalars(
            select(PayoutInstruction).where(PayoutInstruction.period == period)
        )
    ]
    payments.mark_paid(program.session, period, rows, actor="bob")


def _vat_paid_to_partners(program: Program) -> int:
    """What paid payouts transferred beyond the commission the ledger paid out: the VAT."""
    paid = [i for i in program.session.scalars(select(PayoutInstruction)) if i.status == "paid"]
    commission = [
        -sum(
            e.amount_minor
            for e in program.entries(i.partner_id, i.period)
            if e.entry_kind == "payout"
        )
        for i in paid
    ]
    return sum(i.amount_minor for i in paid) - sum(commission)


def test_a_failed_self_billed_payout_is_cancelled_by_a_credit_note_before_it_is_invoiced_again(
    program: Program,
) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    january = program.invoice(None, "100.00", "2026-01-15", customer="C-1", currency="EUR")
    program.close_month("2026-01")
    _mark(program, "2026-01", "failed")  # 11.90 (10.00 + 1.90 VAT) never reached the partner

    first, cancellation = invoices.documents(program.session, "P-1", "2026-01")
    assert (first.kind, cancellation.kind) == ("invoice", "credit_note")
    assert cancellation.refers_to_number == first.number
    assert (cancellation.net_minor, cancellation.vat_minor) == (-1000, -190)
    # January's statement, rendered again, shows the cancellation: nothing transferred.
    statement = seal(build(program.session, "P-1", "2026-01"))
    documents = self_billed(program.session, "P-1", "2026-01")
    text = _pdf_text(render_pdf(statement, None, documents))
    assert f"credit note No. {cancellation.number}, correcting invoice No. {first.number}" in text
    fmt = MoneyFormat(statement.partner_locale, "EUR")
    figures = " ".join(text.split("Amount transferred", 1)[1].split()[:2])
    assert fmt.money(D("0.00")).replace("\xa0", " ") in figures.replace("\xa0", " ")
    rows = list(csv.DictReader(io.StringIO(render_csv(statement, documents))))
    assert sum(D(r["amount"]) for r in rows if r["line_kind"] in ("invoice", "credit_note")) == 0

    # February: the returned 10.00, 20.00 of new commission, and a refund of the cancelled
    # January invoice (-4.00): it lowers the new invoice, there is nothing left to credit.
    program.refund(january, "40.00", "2026-01-20", currency="EUR")
    program.invoice(None, "200.00", "2026-02-15", customer="C-1", currency="EUR")
    program.close_month("2026-02")
    _mark(program, "2026-02", "paid")

    [invoice] = invoices.documents(program.session, "P-1", "2026-02")
    assert invoice.kind == "invoice"
    assert (invoice.net_minor, invoice.vat_minor) == (2600, 494)
    payout = payout_minor(program.session, "P-1", "2026-02")
    assert payout == invoice.gross_minor == 3094
    every = list(program.session.scalars(select(SelfBilledInvoice)))
    assert sum(d.vat_minor for d in every) == _vat_paid_to_partners(program) == 494

    statement = seal(build(program.session, "P-1", "2026-02"))
    documents = self_billed(program.session, "P-1", "2026-02")
    text = _pdf_text(render_pdf(statement, None, documents))
    fmt = MoneyFormat(statement.partner_locale, "EUR")
    figures = " ".join(text.split("Amount transferred", 1)[1].split()[:2])
    assert fmt.money(D(payout).scaleb(-2)).replace("\xa0", " ") in figures.replace("\xa0", " ")
    rows = list(csv.DictReader(io.StringIO(render_csv(statement, documents))))
    [invoice_row] = [r for r in rows if r["line_kind"] == "invoice"]
    assert D(invoice_row["amount"]) == D(payout).scaleb(-2)


def _status(program: Program, partner_id: str, status: str) -> None:
    ingest(
        program.session,
        "partners",
        [
            {
                "id": partner_id,
                "name": f"Partner {partner_id}",
                "type": "referral",
                "payout_currency": "EUR",
                "country": "DE",
                "status": status,
            }
        ],
        actor="finance",
        amend=True,
    )


def test_a_held_month_after_a_failed_payout_invoices_the_returned_amount_once(
    program: Program,
) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    program.invoice(None, "100.00", "2026-01-15", customer="C-1", currency="EUR")
    program.close_month("2026-01")
    _mark(program, "2026-01", "failed")
    _status(program, "P-1", "on_hold")
    program.close_month("2026-02")  # held: the returned 10.00 is carried forward
    _status(program, "P-1", "active")
    program.close_month("2026-03")
    _mark(program, "2026-03", "paid")
    every = list(program.session.scalars(select(SelfBilledInvoice)))
    assert sum(d.vat_minor for d in every) == _vat_paid_to_partners(program) == 190


MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    country=st.sampled_from(["DE", "FR"]),
    months=st.lists(
        st.tuples(
            st.lists(st.integers(1, 500_000), min_size=1, max_size=3),  # invoices, in cents
            st.integers(0, 60),  # a refund of last month's first invoice, in per cent
            st.booleans(),  # the bank fails the month's payout
        ),
        min_size=len(MONTHS),
        max_size=len(MONTHS),
    ),
)
def test_vat_is_declared_once_whatever_the_bank_does(
    engine: Engine,
    issuer: None,
    country: str,
    months: list[tuple[list[int], int, bool]],
) -> None:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        program = Program(session)
        self_billing_partner(program, "P-1", country, "C-1")
        earlier: tuple[str, str, int] | None = None  # the last month's first invoice
        for period, (amounts, refund, fails) in zip(MONTHS, months, strict=True):
            if earlier is not None and refund:
                # A refund of last month's (closed, invoiced or cancelled) invoice: a
                # prior-period adjustment, a credit note unless that invoice was cancelled.
                invoice_id, day, cents = earlier
                share = (D(cents) * refund / 100).quantize(D(1))
                if share:
                    program.refund(invoice_id, f"{share.scaleb(-2):f}", day, currency="EUR")
            ids = [
                program.invoice(
                    None, f"{D(c).scaleb(-2):f}", f"{period}-10", customer="C-1", currency="EUR"
                )
                for c in amounts
            ]
            earlier = (ids[0], f"{period}-20", amounts[0])
            program.close_month(period)
            _mark(program, period, "failed" if fails else "paid")
            # Every document so far: its VAT is what the paid payouts carried.
            every = list(session.scalars(select(SelfBilledInvoice)))
            assert sum(d.vat_minor for d in every) == _vat_paid_to_partners(program)
            # And their net is the commission the ledger paid out.
            paid_out = -sum(
                e.amount_minor
                for e in program.entries("P-1")
                if e.entry_kind == "payout" and _paid(program, e.period)
            )
            assert sum(d.net_minor for d in every) == paid_out
    finally:
        session.close()
        outer.rollback()
        connection.close()


def _paid(program: Program, period: str) -> bool:
    return any(
        i.status == "paid"
        for i in program.session.scalars(
            select(PayoutInstruction).where(PayoutInstruction.period == period)
        )
    )


def test_the_journal_books_self_billed_vat_so_bank_clearing_is_what_the_bank_moved(
    program: Program,
) -> None:
    """The payout file sends commission + VAT to a partner that self-bills: the journal
    credits bank clearing with all of it, the VAT to input VAT; when the payout fails,
    the bank returns all of it and the cancelled VAT leaves input VAT again."""
    self_billing_partner(program, "P-1", "DE", "C-1")  # domestic: 19 % on top
    self_billing_partner(program, "P-2", "FR", "C-2")  # reverse charge: no VAT
    program.invoice(None, "100.00", "2026-01-15", customer="C-1", currency="EUR")
    program.invoice(None, "50.00", "2026-01-15", customer="C-2", currency="EUR")
    program.close_month("2026-01")
    chart = load_chart()
    bank, vat = chart.accounts.bank_clearing.code, chart.accounts.input_vat
    assert vat is not None

    january = journal(program.session, "2026-01", chart)
    assert_balanced_and_tied(program.session, january, chart)
    assert january.movement(bank, "EUR") == -(1190 + 500)
    assert january.movement(vat.code, "EUR") == 190

    rows = [
        {"end_to_end_id": i.end_to_end_id, "status": "failed", "reason": "account closed"}
        for i in program.session.scalars(
            select(PayoutInstruction).where(PayoutInstruction.partner_id == "P-1")
        )
    ]
    payments.mark_paid(program.session, "2026-01", rows, actor="bob")
    program.invoice(None, "200.00", "2026-02-15", customer="C-1", currency="EUR")
    program.close_month("2026-02")

    february = journal(program.session, "2026-02", chart)
    assert_balanced_and_tied(program.session, february, chart)
    [returned] = [e for e in february.entries if e.kind == "payout_reversal"]
    assert {(p.account.code, p.debit_minor, p.credit_minor) for p in returned.postings} == {
        (bank, 1190, 0),
        (vat.code, 0, 190),
        (chart.accounts.accrued_commissions_payable.code, 0, 1000),
    }
    # February pays the returned 10.00 and 20.00 of new commission, with their VAT again.
    assert february.movement(bank, "EUR") == 1190 - 3570
    every = program.session.scalars(select(SelfBilledInvoice.vat_minor))
    assert january.movement(vat.code, "EUR") + february.movement(vat.code, "EUR") == sum(every)


def test_a_chart_without_an_input_vat_account_refuses_a_month_with_vat(
    program: Program,
) -> None:
    self_billing_partner(program, "P-1", "DE", "C-1")
    program.invoice(None, "100.00", "2026-01-15", customer="C-1", currency="EUR")
    program.close_month("2026-01")
    shipped = load_chart()
    without = shipped.model_copy(
        update={"accounts": shipped.accounts.model_copy(update={"input_vat": None})}
    )
    with pytest.raises(ChartIncomplete, match=r"accounts\.input_vat"):
        journal(program.session, "2026-01", without)
