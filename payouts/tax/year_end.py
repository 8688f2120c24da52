"""Year-end figures for US information returns: who gets a Form 1099-NEC, for how much.

A payee is listed when it is a US person (its tax profile's tax country is `US`; a
partner without a profile, by its own `country`) and the payouts made to it in the
year reach the year's threshold (`payouts.tax.thresholds`). The amounts are the
ledger's payout entries whose payout the bank reported paid: a failed payout returned
to the balance and is not counted (it is paid, and counted, again later). A payout is
counted in the year of the month it closed (its period): a results file carries no
value date. Amounts are in US dollars; a US payee paid in another currency is listed
apart, not compared with the threshold (the figure must be converted by finance).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from payouts.batch.models import PayoutInstruction, PayoutResult
from payouts.csvcells import safe_cell
from payouts.ledger import LedgerEntry
from payouts.reference.models import Partner
from payouts.tax.models import TaxProfile
from payouts.tax.thresholds import Threshold, nec_threshold
from plans.money import from_minor

FORM_1099_NEC = "1099-nec"
COLUMNS = (
    "partner_id",
    "name",
    "tax_country",
    "taxpayer_id_last4",
    "currency",
    "amount",
    "payouts",
    "reported",
)


@dataclass(frozen=True, slots=True)
class Payee:
    partner_id: str
    name: str
    tax_country: str
    taxpayer_id_last4: str | None
    currency: str
    amount: Decimal
    payouts: int

    def reported(self, threshold: Threshold) -> bool:
        return self.currency == "USD" and self.amount >= threshold.amount


@dataclass(frozen=True, slots=True)
class YearEnd:
    year: int
    threshold: Threshold
    payees: list[Payee]
    """US payees whose paid payouts reach the threshold, and those paid in another
    currency (listed, not reported)."""


def paid_by_partner(session: Session, year: int) -> dict[tuple[str, str], tuple[int, int]]:
    """Per (partner, currency): minor units paid in the year, and how many payouts."""
    paid: dict[tuple[str, str], tuple[int, int]] = {}
    rows = session.execute(
        select(
            LedgerEntry.partner_id,
            LedgerEntry.currency,
            func.sum(-LedgerEntry.amount_minor),
            func.count(),
        )
        .join(
            PayoutInstruction,
            LedgerEntry.source_fact == literal("payout:").concat(PayoutInstruction.end_to_end_id),
        )
        .join(PayoutResult, PayoutResult.instruction_id == PayoutInstruction.id)
        .where(
            LedgerEntry.entry_kind == "payout",
            LedgerEntry.period >= f"{year:04d}-01",
            LedgerEntry.period <= f"{year:04d}-12",
            PayoutResult.status == "paid",
        )
        .group_by(LedgerEntry.partner_id, LedgerEntry.currency)
    )
    for partner_id, currency, total, count in rows:
        paid[(partner_id, currency)] = (int(total or 0), int(count))
    return paid


def report(session: Session, year: int, threshold: Decimal | None = None) -> YearEnd:
    """The 1099-NEC figures of `year`."""
    rule = nec_threshold(year, threshold)
    paid = paid_by_partner(session, year)
    partners = {p.id: p for p in session.scalars(select(Partner))}
    profiles = {p.id: p for p in session.scalars(select(TaxProfile))}
    payees: list[Payee] = []
    for (partner_id, currency), (minor, count) in sorted(paid.items()):
        partner = partners[partner_id]
        profile = profiles.get(partner_id)
        country = profile.tax_country if profile is not None else partner.country
        if country != "US":
            continue
        payee = Payee(
            partner_id=partner_id,
            name=partner.name,
            tax_country=country,
            taxpayer_id_last4=profile.taxpayer_id_last4 if profile is not None else None,
            currency=currency,
            amount=from_minor(minor, currency),
            payouts=count,
        )
        if payee.reported(rule) or currency != "USD":
            payees.append(payee)
    return YearEnd(year, rule, payees)


def report_csv(result: YearEnd) -> str:
    """The report as CSV: one row a payee (amounts as plain decimal strings)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for payee in result.payees:
        reported = payee.reported(result.threshold)
        writer.writerow(
            [
                safe_cell(payee.partner_id),
                safe_cell(payee.name),
                payee.tax_country,
                safe_cell(payee.taxpayer_id_last4 or ""),
                payee.currency,
                f"{payee.amount:f}",
                str(payee.payouts),
                "yes" if reported else "no: not paid in USD",
            ]
        )
    return buffer.getvalue()
