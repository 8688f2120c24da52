"""The rep credit report: quota credit and commission per deal and rep, for sales ops."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.batch.models import RepCreditLine
from payouts.csvcells import safe_cell
from payouts.periods import Month
from plans.money import from_minor


@dataclass(frozen=True, slots=True)
class RepCreditRow:
    period: str
    rep_id: str | None
    deal_id: str
    partner_ids: str | None
    via_partner: bool
    credit_basis: str
    credit: Decimal
    commission_rate: str
    commission: Decimal
    currency: str
    plan_label: str


def report(session: Session, period: str) -> list[RepCreditRow]:
    period = str(Month.parse(period))
    rows = sorted(
        session.scalars(select(RepCreditLine).where(RepCreditLine.period == period)),
        key=lambda r: (r.rep_id or "", r.deal_id),  # Python's order, not the collation's
    )
    return [
        RepCreditRow(
            period=r.period,
            rep_id=r.rep_id,
            deal_id=r.deal_id,
            partner_ids=r.partner_ids,
            via_partner=r.via_partner,
            credit_basis=r.credit_basis,
            credit=from_minor(r.credit_minor, r.currency),
            commission_rate=r.commission_rate,
            commission=from_minor(r.commission_minor, r.currency),
            currency=r.currency,
            plan_label=r.plan_label,
        )
        for r in rows
    ]


COLUMNS = (
    "period",
    "rep_id",
    "deal_id",
    "partner_ids",
    "via_partner",
    "credit_basis",
    "credit",
    "commission_rate",
    "commission",
    "currency",
    "plan_label",
)


def _cell(value: object) -> str:
    """A value as a spreadsheet user reads it: yes/no, not Python's True/False."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return safe_cell(str(value))


def report_csv(session: Session, period: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report(session, period):
        writer.writerow([_cell(getattr(row, c)) for c in COLUMNS])
    return out.getvalue()
