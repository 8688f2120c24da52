"""What finance reads before approving: totals per partner and component, and the change
against the previous period."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts.batch import payees, service
from payouts.batch.models import DraftLine, PayoutInstruction
from payouts.ledger import LedgerEntry
from payouts.periods import Month
from payouts.tax import profiles as tax_forms
from plans.line_kinds import LineKind
from plans.money import from_minor


@dataclass(frozen=True, slots=True)
class PartnerTotal:
    partner_id: str
    currency: str
    payable: Decimal
    margin: Decimal
    previous: Decimal
    change: Decimal
    lines: int


@dataclass(frozen=True, slots=True)
class ComponentTotal:
    component_id: str
    component_kind: str
    currency: str
    amount: Decimal
    lines: int


@dataclass(frozen=True, slots=True)
class PayeeChange:
    """A partner whose payee details in this draft are not those it was last paid to.

    Changed bank details are how payout fraud happens: an approver checks these (for
    example by calling the partner back) before approving."""

    partner_id: str
    last_paid_period: str
    changed: tuple[str, ...]  # of account_holder, iban, bic


@dataclass(frozen=True, slots=True)
class Review:
    period: str
    status: str
    draft_hash: str
    calculated_by: str
    approved_by: str | None
    partners: list[PartnerTotal] = field(default_factory=list)
    components: list[ComponentTotal] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> payable lines
    payee_changes: list[PayeeChange] = field(default_factory=list)
    tax_form_holds: list[tax_forms.FormGap] = field(default_factory=list)
    """Partners of the draft whose payout the close will hold for a tax form, and why."""


def review(session: Session, period: str) -> Review:
    batch = service.get(session, period)
    previous_period = str(Month.parse(batch.period).previous())
    previous: dict[tuple[str, str], int] = defaultdict(int)
    for partner_id, currency, total in session.execute(
        select(LedgerEntry.partner_id, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.period == previous_period, LedgerEntry.entry_kind != LineKind.payout)
        .group_by(LedgerEntry.partner_id, LedgerEntry.currency)
    ):
        previous[(partner_id, currency)] = int(total or 0)
    current: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for partner_id, currency, payable, total, count in session.execute(
        select(
            DraftLine.partner_id,
            DraftLine.currency,
            DraftLine.payable,
            func.sum(DraftLine.amount_minor),
            func.count(),
        )
        .where(DraftLine.period == batch.period)
        .group_by(DraftLine.partner_id, DraftLine.currency, DraftLine.payable)
    ):
        entry = current[(partner_id, currency)]
        entry[0 if payable else 1] += int(total or 0)
        entry[2] += int(count)
    partners = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for key in sorted(set(current) | set(previous)):
        partner_id, currency = key
        payable_minor, margin_minor, count = current.get(key, [0, 0, 0])
        before = previous.get(key, 0)
        partners.append(
            PartnerTotal(
                partner_id=partner_id,
                currency=currency,
                payable=from_minor(payable_minor, currency),
                margin=from_minor(margin_minor, currency),
                previous=from_minor(before, currency),
                change=from_minor(payable_minor - before, currency),
                lines=count,
            )
        )
        totals[currency] += from_minor(payable_minor, currency)
    components = [
        ComponentTotal(
            component_id or "-",
            kind or "-",
            currency,
            from_minor(int(total or 0), currency),
            int(count),
        )
        for component_id, kind, currency, total, count in session.execute(
            select(
                DraftLine.component_id,
                DraftLine.component_kind,
                DraftLine.currency,
                func.sum(DraftLine.amount_minor),
                func.count(),
            )
            .where(DraftLine.period == batch.period)
            .group_by(DraftLine.component_id, DraftLine.component_kind, DraftLine.currency)
            .order_by(DraftLine.component_id, DraftLine.currency)
        )
    ]
    return Review(
        period=batch.period,
        status=batch.status,
        draft_hash=batch.draft_hash,
        calculated_by=batch.calculated_by,
        approved_by=batch.approved_by,
        partners=partners,
        components=components,
        totals=dict(totals),
        payee_changes=payee_changes(session, batch.period),
        tax_form_holds=list(
            tax_forms.gaps(
                session, Month.parse(batch.period).end, {p.partner_id for p in partners}
            ).values()
        ),
    )


def payee_changes(session: Session, period: str) -> list[PayeeChange]:
    """Partners whose frozen payee details differ from their last payout's, by partner."""
    latest = (
        select(PayoutInstruction.partner_id, func.max(PayoutInstruction.period).label("period"))
        .where(PayoutInstruction.period < period)
        .group_by(PayoutInstruction.partner_id)
        .subquery()
    )
    last = {
        instruction.partner_id: instruction
        for instruction in session.scalars(
            select(PayoutInstruction).join(
                latest,
                (PayoutInstruction.partner_id == latest.c.partner_id)
                & (PayoutInstruction.period == latest.c.period),
            )
        )
    }
    changes = []
    for payee in sorted(payees.of_period(session, period).values(), key=lambda p: p.partner_id):
        paid = last.get(payee.partner_id)
        if paid is None:
            continue
        changed = tuple(
            name
            for name in ("account_holder", "iban", "bic")
            if getattr(payee, name) != getattr(paid, name)
        )
        if changed:
            changes.append(PayeeChange(payee.partner_id, paid.period, changed))
    return changes
