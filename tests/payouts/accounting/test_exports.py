"""Each export read back against its documented columns, dates and amounts.

Xero: help.xero.com "Enter multiple manual journals using an import template";
QuickBooks Online: "Import journal entries" (quickbooks.intuit.com);
NetSuite: "Journal Entry Import Supported Fields" (docs.oracle.com).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from payouts.accounting import exports
from payouts.accounting.chart import load_chart
from payouts.accounting.journal import Journal, journal
from tests.payouts.accounting.books import referral_plan
from tests.payouts.program import Program

CHART = load_chart()
TWO_DECIMALS = re.compile(r"^\d{1,10}\.\d{2}$")
SIGNED_TWO_DECIMALS = re.compile(r"^-?\d+\.\d{2}$")


@pytest.fixture
def month(session: Session) -> Journal:
    """January with a USD and a EUR referral partner, the bounty capitalised."""
    program = Program(session)
    plan = program.plan_document(
        referral_plan(**{"signing-bounty": {"treatment": "capitalise", "months": 24}})
    )
    program.fx("2026-01-15", "USD", "EUR", "0.9")
    program.fx("2026-01-02", "USD", "EUR", "0.9")
    for partner, currency, customer in (("P-US", "USD", "C-2"), ("P-EU", "EUR", "C-3")):
        program.partner(partner, plan, kind="referral", currency=currency)
        program.deal(partner, "referral", day="2026-01-02", customer=customer)
        program.invoice(None, "100.00", "2026-01-15", customer=customer)
    program.close_month("2026-01")
    made = journal(session, "2026-01", CHART)
    assert {e.currency for e in made.entries} == {"USD", "EUR"}
    return made


def day(text: str, layout: str) -> date:
    """A date in the documented layout (a strict parse: anything else raises)."""
    return datetime.strptime(text, layout).replace(tzinfo=UTC).date()


def _rows(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(content.decode("utf-8"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def _entries_in(made: Journal, currency: str | None = None) -> int:
    return sum(len(e.postings) for e in made.entries if currency in (None, e.currency))


def test_xero_manual_journals_one_currency_signed_amounts_day_first(month: Journal) -> None:
    with pytest.raises(exports.ExportRefused, match="one \\(the base\\) currency"):
        exports.export(month, CHART, "xero")
    header, rows = _rows(exports.export(month, CHART, "xero", "USD"))
    assert header == [
        "*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount",
        "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2",
    ]  # fmt: skip
    assert len(rows) == _entries_in(month, "USD")
    journals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        assert day(row["*Date"], "%d/%m/%Y") == month.day
        assert SIGNED_TWO_DECIMALS.match(row["*Amount"]), row
        assert row["*TaxRate"] == "Tax Exempt"
        assert row["*AccountCode"].isdigit()
        assert month.close_hash in row["*Narration"]
        if row["TrackingOption1"]:
            assert row["TrackingName1"] == "Department"
        journals[(row["*Narration"], row["*Date"])] += Decimal(row["*Amount"])
    # Xero's rule: the rows sharing a narration and a date are one journal; it balances.
    assert len(journals) == sum(1 for e in month.entries if e.currency == "USD")
    assert set(journals.values()) == {Decimal(0)}


def test_quickbooks_online_journal_entries_debits_and_credits_month_first(
    month: Journal,
) -> None:
    header, rows = _rows(exports.export(month, CHART, "qbo"))
    assert header == [
        "Journal No", "Journal Date", "Account Name", "Debits", "Credits", "Description",
        "Name", "Currency", "Location", "Class",
    ]  # fmt: skip
    assert len(rows) == _entries_in(month)
    names = {a.name for a in CHART.accounts.__dict__.values()}
    names |= {
        a.name for m in CHART.component_kinds.values() for a in m.__dict__.values() if a is not None
    }
    balance: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        assert day(row["Journal Date"], "%m/%d/%Y") == month.day
        assert (row["Debits"] == "") != (row["Credits"] == ""), row
        amount = row["Debits"] or row["Credits"]
        assert TWO_DECIMALS.match(amount), row
        assert row["Account Name"] in names  # imported by name
        assert row["Currency"] in ("USD", "EUR")
        assert month.close_hash in row["Description"]
        balance[row["Journal No"]] += Decimal(row["Debits"] or 0) - Decimal(row["Credits"] or 0)
    assert len(balance) == len(month.entries)
    assert set(balance.values()) == {Decimal(0)}


def test_netsuite_journal_entries_by_external_id(month: Journal) -> None:
    header, rows = _rows(exports.export(month, CHART, "netsuite"))
    assert header == [
        "External ID", "Date", "Subsidiary", "Currency", "Exchange Rate", "Memo", "Account",
        "Debit", "Credit", "Line Memo", "Department", "Class", "Location", "Name",
    ]  # fmt: skip
    balance: dict[str, Decimal] = defaultdict(Decimal)
    currency_of: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        assert day(row["Date"], "%m/%d/%Y") == month.day
        assert (row["Debit"] == "") != (row["Credit"] == ""), row
        assert TWO_DECIMALS.match(row["Debit"] or row["Credit"]), row  # 10 digits, 2 decimals
        assert month.close_hash in row["Memo"]
        balance[row["External ID"]] += Decimal(row["Debit"] or 0) - Decimal(row["Credit"] or 0)
        currency_of[row["External ID"]].add(row["Currency"])
    assert len(balance) == len(month.entries)
    assert set(balance.values()) == {Decimal(0)}
    assert all(len(c) == 1 for c in currency_of.values())  # one currency per journal


def test_the_generic_csv_and_json_carry_every_posting(month: Journal) -> None:
    header, rows = _rows(exports.export(month, CHART, "csv"))
    assert header == list(exports.CSV_COLUMNS)
    assert len(rows) == _entries_in(month)
    for row in rows:
        assert row["date"] == "2026-01-31"
        assert row["close_hash"] == month.close_hash
    document = json.loads(exports.export(month, CHART, "json"))
    assert document["close_hash"] == month.close_hash
    for entry in document["entries"]:
        debits = sum(Decimal(p["debit"] or 0) for p in entry["postings"])
        credits = sum(Decimal(p["credit"] or 0) for p in entry["postings"])
        assert debits == credits > 0


def test_exports_are_the_same_bytes_every_time(session: Session, month: Journal) -> None:
    for fmt in exports.FORMATS:
        currency = "EUR" if fmt == "xero" else None
        again = journal(session, "2026-01", CHART)
        assert exports.export(again, CHART, fmt, currency) == exports.export(
            month, CHART, fmt, currency
        )


def test_a_currency_the_journal_lacks_or_an_unknown_format_is_refused(month: Journal) -> None:
    with pytest.raises(exports.ExportRefused, match="no entries in 'GBP'"):
        exports.export(month, CHART, "csv", "GBP")
    with pytest.raises(exports.ExportRefused, match="unknown journal format"):
        exports.export(month, CHART, "sage")


def test_quickbooks_and_netsuite_dates_follow_the_charts_preference(month: Journal) -> None:
    chart = CHART.model_copy(
        update={"qbo_date_format": "DD/MM/YYYY", "netsuite_date_format": "DD/MM/YYYY"}
    )
    _, qbo = _rows(exports.export(month, chart, "qbo"))
    _, netsuite = _rows(exports.export(month, chart, "netsuite"))
    assert {r["Journal Date"] for r in qbo} == {"31/01/2026"}
    assert {r["Date"] for r in netsuite} == {"31/01/2026"}
