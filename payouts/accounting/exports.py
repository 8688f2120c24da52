"""A closed month's journal in the files finance imports into its general ledger.

Each vendor format follows the vendor's documented journal import (README,
"Booking a month"): its columns, date format and amount format.

- xero: Xero manual journal import (help.xero.com, "Enter multiple manual journals
  using an import template"): one journal = the rows sharing Narration and Date;
  Date dd/mm/yyyy; Amount signed, positive a debit, negative a credit; AccountCode
  the code, not the name; TaxRate the tax rate's full name; up to two tracking
  categories (here Department and Class). Xero's manual journals are in the
  organisation's base currency, so a journal in several currencies is exported one
  currency at a time.
- qbo: QuickBooks Online "Import journal entries" (quickbooks.intuit.com): Journal
  No., Journal Date, Account Name (by name: account numbers off during the import),
  Debits, Credits, Description, Name, Currency (multicurrency companies), Location,
  Class; dates as the company's date setting says (the chart's `qbo_date_format`,
  MM/DD/YYYY by default, as US companies write them).
- netsuite: NetSuite CSV import of journal entries (Journal Entry Import Supported
  Fields / line-level fields table, docs.oracle.com): header fields repeated on
  every line (External ID, Date, Subsidiary, Currency, Exchange Rate, Memo), line
  fields Account (the account number), Debit, Credit (at most 10 digits before the
  point and 2 after), Line Memo, Department, Class, Location, Name; dates in the
  importing user's date preference (the chart's `netsuite_date_format`).
- csv: every field of every posting, ISO dates, plain decimal amounts.
- json: the journal's canonical JSON (`Journal.to_json`).

Every file carries the month's close hash (Xero's narration, QuickBooks Online's
description, NetSuite's memo, a column of the generic CSV) and is the same bytes
each time it is made.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from payouts.accounting.chart import STRFTIME, Chart
from payouts.accounting.journal import Entry, Journal, decimal_text
from payouts.csvcells import safe_cell
from payouts.errors import PayoutsError
from plans.money import minor_exponent

FORMATS = ("xero", "qbo", "netsuite", "csv", "json")

XERO_COLUMNS = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)
QBO_COLUMNS = (
    "Journal No",
    "Journal Date",
    "Account Name",
    "Debits",
    "Credits",
    "Description",
    "Name",
    "Currency",
    "Location",
    "Class",
)
NETSUITE_COLUMNS = (
    "External ID",
    "Date",
    "Subsidiary",
    "Currency",
    "Exchange Rate",
    "Memo",
    "Account",
    "Debit",
    "Credit",
    "Line Memo",
    "Department",
    "Class",
    "Location",
    "Name",
)
CSV_COLUMNS = (
    "entry",
    "date",
    "kind",
    "currency",
    "narration",
    "close_hash",
    "account_code",
    "account_name",
    "department",
    "class",
    "location",
    "debit",
    "credit",
    "description",
)
NETSUITE_DECIMALS = 2


class ExportRefused(PayoutsError):
    code = "journal-export-refused"
    status = 422


def media_type(fmt: str) -> str:
    return "application/json" if fmt == "json" else "text/csv; charset=utf-8"


def file_name(journal: Journal, fmt: str, currency: str | None = None) -> str:
    suffix = f"-{currency}" if currency else ""
    extension = "json" if fmt == "json" else "csv"
    return f"journal-{journal.period}{suffix}-{fmt}.{extension}"


def export(journal: Journal, chart: Chart, fmt: str, currency: str | None = None) -> bytes:
    """The journal (or its entries in `currency`) in format `fmt`."""
    if fmt not in FORMATS:
        raise ExportRefused(f"unknown journal format {fmt!r}; one of: {', '.join(FORMATS)}")
    currencies = sorted({e.currency for e in journal.entries})
    if currency is not None:
        currency = currency.strip().upper()
        if currency not in currencies:
            raise ExportRefused(
                f"the {journal.period} journal has no entries in {currency!r} "
                f"(it has: {', '.join(currencies) or 'none'})"
            )
        journal = _only(journal, currency)
    elif fmt == "xero" and len(currencies) > 1:
        raise ExportRefused(
            f"Xero manual journals are in one (the base) currency; the {journal.period} "
            f"journal has {', '.join(currencies)}: export one with --currency"
        )
    if fmt == "json":
        return journal.to_json()
    writers: dict[str, Callable[[Journal, Chart], list[list[str]]]] = {
        "xero": _xero,
        "qbo": _qbo,
        "netsuite": _netsuite,
        "csv": _generic,
    }
    header = {"xero": XERO_COLUMNS, "qbo": QBO_COLUMNS, "netsuite": NETSUITE_COLUMNS}.get(
        fmt, CSV_COLUMNS
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(writers[fmt](journal, chart))
    return out.getvalue().encode("utf-8")


def _only(journal: Journal, currency: str) -> Journal:
    return Journal(
        journal.period,
        journal.day,
        journal.close_hash,
        journal.chart,
        tuple(e for e in journal.entries if e.currency == currency),
    )


def _memo(entry: Entry) -> str:
    return f"{entry.narration} [close {entry.close_hash}]"


def _xero(journal: Journal, chart: Chart) -> list[list[str]]:
    rows = []
    for e in journal.entries:
        for p in e.postings:
            signed = p.debit_minor - p.credit_minor
            rows.append(
                [
                    safe_cell(_memo(e)),
                    e.day.strftime("%d/%m/%Y"),
                    safe_cell(p.description),
                    safe_cell(p.account.code),
                    safe_cell(chart.tax_rate),
                    decimal_text(signed, e.currency),
                    "Department" if p.account.department else "",
                    safe_cell(p.account.department),
                    "Class" if p.account.class_ else "",
                    safe_cell(p.account.class_),
                ]
            )
    return rows


def _qbo(journal: Journal, chart: Chart) -> list[list[str]]:
    rows = []
    for e in journal.entries:
        for p in e.postings:
            rows.append(
                [
                    e.number,
                    e.day.strftime(STRFTIME[chart.qbo_date_format]),
                    safe_cell(p.account.name),
                    decimal_text(p.debit_minor, e.currency) if p.debit_minor else "",
                    decimal_text(p.credit_minor, e.currency) if p.credit_minor else "",
                    safe_cell(f"{p.description} | {_memo(e)}"),
                    "",
                    e.currency,
                    safe_cell(p.account.location),
                    safe_cell(p.account.class_),
                ]
            )
    return rows


def _netsuite(journal: Journal, chart: Chart) -> list[list[str]]:
    rows = []
    for e in journal.entries:
        if minor_exponent(e.currency) > NETSUITE_DECIMALS:
            raise ExportRefused(
                f"NetSuite imports debits and credits with at most {NETSUITE_DECIMALS} "
                f"decimals; {e.currency} has {minor_exponent(e.currency)}"
            )
        for p in e.postings:
            rows.append(
                [
                    f"PP-{e.number}",
                    e.day.strftime(STRFTIME[chart.netsuite_date_format]),
                    safe_cell(chart.netsuite_subsidiary),
                    e.currency,
                    "",
                    safe_cell(_memo(e)),
                    safe_cell(p.account.code),
                    decimal_text(p.debit_minor, e.currency) if p.debit_minor else "",
                    decimal_text(p.credit_minor, e.currency) if p.credit_minor else "",
                    safe_cell(p.description),
                    safe_cell(p.account.department),
                    safe_cell(p.account.class_),
                    safe_cell(p.account.location),
                    "",
                ]
            )
    return rows


def _generic(journal: Journal, chart: Chart) -> list[list[str]]:
    rows = []
    for e in journal.entries:
        for p in e.postings:
            rows.append(
                [
                    e.number,
                    e.day.isoformat(),
                    e.kind,
                    e.currency,
                    safe_cell(e.narration),
                    e.close_hash,
                    safe_cell(p.account.code),
                    safe_cell(p.account.name),
                    safe_cell(p.account.department),
                    safe_cell(p.account.class_),
                    safe_cell(p.account.location),
                    decimal_text(p.debit_minor, e.currency) if p.debit_minor else "",
                    decimal_text(p.credit_minor, e.currency) if p.credit_minor else "",
                    safe_cell(p.description),
                ]
            )
    return rows
