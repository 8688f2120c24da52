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
from decimal import Decimal

from payouts.csvcells import FORMULA_TRIGGERS, safe_cell
from statements.canonical import decimal_text
from statements.language import N_, words
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


def render_csv(statement: Statement) -> str:
    """The statement's lines as RFC 4180 CSV text (CRLF line ends, UTF-8 safe).

    The totals row (``line_id`` ``TOTAL``) carries in ``amount`` the sum of the
    payable lines (earnings + clawbacks + adjustments), i.e. the sum of the
    ``amount`` column over rows with ``payable`` = ``true``; its explanation gives
    the balance walk, margin and payouts, so nothing needs to be recomputed.
    """
    s = statement
    t = words(s.partner_locale)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([t(column) for column in COLUMNS])
    for line in s.lines:
        writer.writerow(_row(line, s.payout_currency))
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
