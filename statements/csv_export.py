"""The statement's lines as CSV, for partners' own reconciliation.

One header row, one row per line in the statement's order, and a totals row last.
Amounts are plain decimal strings (``-12.50``, never locale-formatted, never
rounded), so a spreadsheet or a script can sum them. Every text cell goes through
:func:`safe_cell`, which every CSV export of the product should use.

Labels (the header row, the totals row's kind and its explanation) are in the
partner's language (:mod:`statements.language`); the cells' values stay as stored
(dates, amounts, codes such as ``earning`` and ``true``), so a script reads every
language's file the same way, by column position.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

from payouts.csvcells import FORMULA_TRIGGERS, safe_cell
from payouts.tax.invoices import Document
from plans.money import from_minor
from statements.canonical import decimal_text
from statements.language import N_, Gettext, words
from statements.model import Statement, StatementLine

__all__ = ["COLUMNS", "FORMULA_TRIGGERS", "TOTAL_ROW_ID", "render_csv", "safe_cell"]

"""First characters that make a spreadsheet read a cell as a formula (or hide one)."""

COLUMNS = (
    N_("line_id"),
    N_("date"),
    N_("line_kind"),
    N_("payable"),
    N_("prior_period"),
    N_("source_fact"),
    N_("customer"),
    N_("component"),
    N_("component_kind"),
    N_("plan_version"),
    N_("base_amount"),
    N_("base_currency"),
    N_("rate"),
    N_("fx_rate"),
    N_("amount"),
    N_("currency"),
    N_("explanation"),
)
"""The header row in English; in another language each is its translation."""
SUMMARY = N_(
    "sum of payable lines; opening %(opening)s + payable %(payable)s + payouts %(payouts)s"
    " = closing %(closing)s; amount payable %(amount_payable)s; carried forward"
    " %(carried)s; margin earned (not payable) %(margin)s"
)
TOTAL_ROW_ID = "TOTAL"


def _number(value: Decimal | None) -> str:
    return "" if value is None else decimal_text(value)


def _row(line: StatementLine, currency: str) -> list[str]:
    return [
        safe_cell(line.line_id),
        line.date.isoformat(),
        line.line_kind.value,
        "true" if line.payable else "false",
        safe_cell(line.prior_period),
        safe_cell(line.source_fact),
        safe_cell(line.customer),
        safe_cell(line.component),
        safe_cell(line.component_kind),
        safe_cell(line.plan_version),
        _number(line.base_amount),
        safe_cell(line.base_currency),
        _number(line.rate),
        _number(line.fx_rate),
        _number(line.amount),
        currency,
        safe_cell(line.explanation),
    ]


DOCUMENT_SUMMARY = N_(
    "%(title)s; supplier %(partner)s, VAT id %(partner_vat)s; customer and issuer %(issuer)s, "
    "VAT id %(issuer_vat)s; net %(net)s + VAT %(vat)s = gross %(gross)s%(mention)s"
)


def _document_rows(statement: Statement, document: Document, t: Gettext) -> list[list[str]]:
    """A self-billed document's rows: its lines' VAT, then its totals."""
    currency = document.currency
    kind = document.kind
    name = f"{kind}-{document.number}"
    rate = _number(document.rate)
    day = document.issued_on.isoformat()
    blank = dict.fromkeys(COLUMNS, "")
    rows: list[list[str]] = []
    for line in document.lines:
        row = {
            **blank,
            "line_id": safe_cell(f"{name}:{line.line_id}"),
            "date": day,
            "line_kind": "vat",
            "payable": "false",
            "source_fact": safe_cell(line.line_id),
            "component": name,
            "component_kind": document.rule.value,
            "base_amount": _number(from_minor(line.net_minor, currency)),
            "base_currency": currency,
            "rate": rate,
            "amount": _number(from_minor(line.vat_minor, currency)),
            "currency": currency,
            "explanation": safe_cell(line.description),
        }
        rows.append([row[c] for c in COLUMNS])
    if kind == "credit_note":
        title = t(N_("Self-billing credit note No. %(number)s, correcting invoice No. %(invoice)s"))
    else:
        title = t(N_("Self-billing invoice No. %(number)s"))
    mention = {
        "reverse_charge": N_("Reverse charge"),
        "outside_scope": N_("Outside the scope of EU VAT"),
    }.get(document.rule.value)
    summary = t(DOCUMENT_SUMMARY) % {
        "title": title % {"number": document.number, "invoice": document.refers_to_number},
        "partner": statement.partner_name,
        "partner_vat": document.partner_vat_id or "",
        "issuer": document.issuer_name,
        "issuer_vat": document.issuer_vat_id,
        "net": _number(from_minor(document.net_minor, currency)),
        "vat": _number(from_minor(document.vat_minor, currency)),
        "gross": _number(from_minor(document.gross_minor, currency)),
        "mention": f"; {t(mention)}" if mention else "",
    }
    total = {
        **blank,
        "line_id": name,
        "date": day,
        "line_kind": kind,
        "payable": "false",
        "component": name,
        "component_kind": document.rule.value,
        "base_amount": _number(from_minor(document.net_minor, currency)),
        "base_currency": currency,
        "rate": rate,
        "amount": _number(from_minor(document.gross_minor, currency)),
        "currency": currency,
        "explanation": safe_cell(summary),
    }
    rows.append([total[c] for c in COLUMNS])
    return rows


def render_csv(statement: Statement, documents: Sequence[Document] = ()) -> str:
    """The statement's lines as RFC 4180 CSV text (CRLF line ends, UTF-8 safe).

    The totals row (``line_id`` ``TOTAL``) carries in ``amount`` the sum of the
    payable lines (earnings + clawbacks + adjustments), i.e. the sum of the
    ``amount`` column over rows with ``payable`` = ``true``; its explanation gives
    the balance walk, margin and payouts, so nothing needs to be recomputed.

    A self-billed invoice (or credit note) issued with the statement adds, before the
    totals row, a ``vat`` row per line (``base_amount`` the line's net, ``amount`` its
    VAT) and a row of the document (``line_kind`` ``invoice`` or ``credit_note``,
    ``base_amount`` its net, ``amount`` its gross, what the payout pays). None of them
    is payable: they do not change the statement's sum.
    """
    s = statement
    t = words(s.partner_locale)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([t(column) for column in COLUMNS])
    for line in s.lines:
        writer.writerow(_row(line, s.payout_currency))
    for document in documents:
        writer.writerows(_document_rows(s, document, t))
    summary = t(SUMMARY) % {
        "opening": _number(s.opening_balance),
        "payable": _number(s.activity_total),
        "payouts": _number(s.payouts_total),
        "closing": _number(s.closing_balance),
        "amount_payable": _number(s.amount_payable),
        "carried": _number(s.carry_forward),
        "margin": _number(s.margin_earned_total),
    }
    total_row = dict.fromkeys(COLUMNS, "")
    total_row.update(
        line_id=TOTAL_ROW_ID,
        line_kind=t(N_("total")),
        payable="true",
        amount=_number(s.activity_total),
        currency=s.payout_currency,
        explanation=safe_cell(summary),
    )
    writer.writerow([total_row[column] for column in COLUMNS])
    return buffer.getvalue()
