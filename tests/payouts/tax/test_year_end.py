"""Year-end 1099-NEC figures: US payees whose paid payouts in the year reach the
threshold, each amount the sum of its paid payouts (failed ones excluded)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.batch import payments
from payouts.batch.models import PayoutInstruction
from payouts.facts.ingest import ingest
from payouts.tax import year_end
from payouts.tax.thresholds import NoThresholdForYear, nec_threshold
from tests.api.cli import key_for, payouts
from tests.payouts.program import Program

D = Decimal


@pytest.fixture
def program(session: Session) -> Program:
    return Program(session)


def referral(program: Program, ident: str, *, country: str, customer: str) -> None:
    plan = program.plan(
        "referral",
        minimum_payout="0.00",
        components=[
            {"kind": "referral_fee", "id": "revenue-share", "rate": "10%", "duration": "lifetime"}
        ],
    )
    program.partner(ident, plan, kind="referral", country=country)
    program.deal(ident, "referral", day="2026-01-02", customer=customer)


def settle(program: Program, period: str, failed: frozenset[str] = frozenset()) -> None:
    """The bank's results for the month: every payout paid, except those of `failed`."""
    rows = [
        {
            "end_to_end_id": i.end_to_end_id,
            "status": "failed" if i.partner_id in failed else "paid",
            "bank_reference": f"B-{i.id}",
            "reason": "account closed" if i.partner_id in failed else "",
        }
        for i in program.session.scalars(
            select(PayoutInstruction).where(PayoutInstruction.period == period)
        )
    ]
    payments.mark_paid(program.session, period, rows, actor="bob")


def paid_payouts(session: Session, year: int) -> dict[str, Decimal]:
    """The sum of each partner's paid payouts of the year, from the payout records."""
    sums: dict[str, Decimal] = {}
    for i in session.scalars(select(PayoutInstruction)):
        if i.period.startswith(str(year)) and i.result is not None and i.result.status == "paid":
            sums[i.partner_id] = sums.get(i.partner_id, D(0)) + D(i.amount_minor).scaleb(-2)
    return sums


@pytest.fixture
def year(program: Program) -> Program:
    """2026: US partners paid above and below $2,000, one with a failed payout, one foreign."""
    referral(program, "P-BIG", country="US", customer="C-1")
    referral(program, "P-SMALL", country="US", customer="C-2")
    referral(program, "P-FAIL", country="US", customer="C-3")
    referral(program, "P-DE", country="DE", customer="C-4")
    ingest(
        program.session,
        "tax_profiles",
        [
            {
                "id": "P-BIG",
                "tax_country": "US",
                "entity_type": "business",
                "form": "W-9",
                "signed_on": "2025-12-01",
                "taxpayer_id": "98-7654321",
            }
        ],
        actor="finance",
    )
    for month, day in (("2026-01", "2026-01-15"), ("2026-02", "2026-02-15")):
        program.invoice(None, "12345.67", day, customer="C-1")  # P-BIG: 1,234.57 a month
        program.invoice(None, "1000.00", day, customer="C-2")  # P-SMALL: 100.00
        program.invoice(None, "15000.00", day, customer="C-3")  # P-FAIL: 1,500.00
        program.invoice(None, "50000.00", day, customer="C-4")  # P-DE: 5,000.00
        program.close_month(month)
        settle(program, month, frozenset({"P-FAIL"}) if month == "2026-02" else frozenset())
    return program


def test_the_1099_figures_equal_the_sum_of_paid_payouts_per_payee(year: Program) -> None:
    result = year_end.report(year.session, 2026)
    expected = paid_payouts(year.session, 2026)
    assert result.threshold.amount == D("2000.00")
    reported = {p.partner_id: p.amount for p in result.payees if p.reported(result.threshold)}
    assert reported == {"P-BIG": expected["P-BIG"]}
    assert reported["P-BIG"] == D("2469.14")
    # P-FAIL's February payout failed: only January's 1,500.00 was paid, under $2,000.
    assert expected["P-FAIL"] == D("1500.00")
    assert "P-FAIL" not in reported
    [big] = result.payees
    assert (big.taxpayer_id_last4, big.payouts) == ("4321", 2)


def test_a_lower_threshold_lists_every_us_payee_at_its_paid_sum_and_no_foreign_one(
    year: Program,
) -> None:
    result = year_end.report(year.session, 2026, threshold=D("100.00"))
    expected = paid_payouts(year.session, 2026)
    listed = {p.partner_id: p.amount for p in result.payees}
    assert listed == {k: v for k, v in expected.items() if k != "P-DE"}


def test_the_threshold_table_gives_each_year_its_figure_and_its_source() -> None:
    assert nec_threshold(2025).amount == D("600.00")
    assert nec_threshold(2026).amount == D("2000.00")
    assert "70433" in nec_threshold(2026).source
    with pytest.raises(NoThresholdForYear, match="--threshold"):
        nec_threshold(2027)
    assert nec_threshold(2027, D("2100")).amount == D("2100")


def test_the_report_as_csv_names_the_payee_and_its_amount(year: Program) -> None:
    rows = list(
        csv.DictReader(io.StringIO(year_end.report_csv(year_end.report(year.session, 2026))))
    )
    assert rows == [
        {
            "partner_id": "P-BIG",
            "name": "Partner P-BIG",
            "tax_country": "US",
            "taxpayer_id_last4": "4321",
            "currency": "USD",
            "amount": "2469.14",
            "payouts": "2",
            "reported": "yes",
        }
    ]


def test_the_command_line_refuses_a_form_it_does_not_know_in_one_line(fresh_url: str) -> None:
    done = payouts("tax", "report", "2026", "--form", "1099-misc", database_url=fresh_url)
    assert done.code == 1
    assert done.err.strip().splitlines() == [
        "error: --form '1099-misc' is not supported; the report knows 1099-nec"
    ]
    done = payouts("tax", "report", "2026", database_url=fresh_url)
    assert done.code == 1
    assert "acts for an API key" in done.err


def test_the_command_line_reports_a_year_and_refuses_one_without_a_figure(
    migrated_url: str,
) -> None:
    key = key_for(migrated_url, "finance")
    done = payouts(
        "tax", "report", "2026", "--form", "1099-nec", database_url=migrated_url, key=key
    )
    assert done.code == 0, done.err
    assert done.out.splitlines() == [",".join(year_end.COLUMNS)]
    assert "0 payee(s) reach 2000.00 USD" in done.err
    later = payouts("tax", "report", "2027", database_url=migrated_url, key=key)
    assert later.code == 1
    assert len(later.err.strip().splitlines()) == 1
    assert "--threshold" in later.err
    given = payouts(
        "tax", "report", "2027", "--threshold", "2100", database_url=migrated_url, key=key
    )
    assert given.code == 0, given.err
    assert "reach 2100 USD (given with --threshold)" in given.err
