"""Manual adjustments: a correction of a partner's money, proposed by one finance
person and approved by another, paid as a line of the next batch run of the open month.

A closed statement is never edited: when finance agrees that a partner is owed more
(or less), it proposes an adjustment (partner, amount, currency, reason, and the
inquiry or statement line it answers, if any). Another person approves or refuses it
(maker-checker by holder, as batch approvals: `actors.same_person`, and the database's
`actor_holder()` in migration 0018). Only an approved adjustment reaches a draft: each
run of a month adds every approved adjustment not yet in the ledger as a payable line
of kind `adjustment`, marked manual (`source_fact` is `manual:<id>`, the component
kind `manual`) with its reason in the explanation; the line enters the draft hash, so
approving the batch approves it too, and closing the month posts it. A pending or
refused adjustment never reaches a draft. The database refuses posting one twice (a
unique index on the ledger's `manual:` lines).

Both tables are append-only; the status is read from the decision (if any) and the
ledger (posted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    bindparam,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit, inquiries, issued
from payouts.actors import same_person
from payouts.base import Base, BigId, Currency, utcnow
from payouts.errors import PayoutsError
from payouts.inquiries import Inquiry
from payouts.ledger import LedgerEntry
from payouts.periods import Month
from payouts.reference.models import Partner
from plans.errors import InvalidAmount
from plans.money import from_minor, minor_exponent, parse_plain_decimal, to_minor

MAX_REASON = 2000
MAX_LINE_ID = 64
SOURCE_PREFIX = "manual:"
COMPONENT_KIND = "manual"
MAX_DIGITS = 11
"""No single adjustment moves 100 billion units of a currency or more: a typo guard."""


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    POSTED = "posted"
    """Approved, and in the ledger of a closed month."""


class Decision(StrEnum):
    APPROVED = "approved"
    REFUSED = "refused"


class ManualAdjustment(Base):
    """A proposed correction of one partner's money (append-only)."""

    __tablename__ = "manual_adjustments"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="not_zero"),
        Index("ix_manual_adjustments_partner", "partner_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    amount_minor: Mapped[int] = mapped_column(
        BigInteger, doc="Signed amount in minor units of `currency` (negative takes back)."
    )
    currency: Mapped[str] = mapped_column(Currency, doc="The partner's payout currency.")
    reason: Mapped[str] = mapped_column(Text, doc="Printed on the statement with the line.")
    inquiry_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inquiries.id"), doc="The inquiry it answers, if any."
    )
    statement_period: Mapped[str | None] = mapped_column(
        String(7), doc="The statement whose line it corrects, if any."
    )
    line_id: Mapped[str | None] = mapped_column(String(64), doc="That statement line's id.")
    proposed_by: Mapped[str] = mapped_column(String(200))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdjustmentDecision(Base):
    """The one decision on an adjustment, by someone other than its proposer."""

    __tablename__ = "adjustment_decisions"
    __table_args__ = (
        CheckConstraint("decision IN ('approved', 'refused')", name="decision"),
        CheckConstraint("decision = 'approved' OR reason IS NOT NULL", name="refusal_reason"),
    )

    adjustment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("manual_adjustments.id"), primary_key=True
    )
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, doc="Why it was refused (or a note).")
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdjustmentRefused(PayoutsError):
    """An adjustment that cannot be proposed or decided as asked."""

    code = "adjustment-refused"
    status = 422


class AdjustmentNotFound(PayoutsError):
    code = "adjustment-not-found"
    status = 404


class SameProposer(PayoutsError):
    """Maker-checker: the proposer of an adjustment cannot also decide it."""

    code = "adjustment-maker-checker"
    status = 403


class AlreadyDecided(PayoutsError):
    code = "adjustment-already-decided"
    status = 409


@dataclass(frozen=True, slots=True)
class Adjustment:
    """An adjustment as people read it: its amount in the currency's units, its status."""

    id: int
    partner_id: str
    amount: Decimal
    currency: str
    reason: str
    inquiry_id: int | None
    statement_period: str | None
    line_id: str | None
    proposed_by: str
    proposed_at: datetime
    status: Status
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    posted_period: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "partner_id": self.partner_id,
            "amount": str(self.amount),
            "currency": self.currency,
            "reason": self.reason,
            "inquiry_id": self.inquiry_id,
            "statement_period": self.statement_period,
            "line_id": self.line_id,
            "proposed_by": self.proposed_by,
            "proposed_at": self.proposed_at.isoformat(),
            "status": self.status.value,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_reason": self.decision_reason,
            "posted_period": self.posted_period,
        }


def parse_amount(value: str, currency: str) -> int:
    """An amount as typed ("-12.50") in minor units of `currency`: the documented form of
    amounts (plain ASCII decimals, no exponent or grouping) with an optional minus,
    refused if it has more decimals than the currency has, is zero, or is absurdly large."""
    text = value.strip()
    negative = text.startswith("-")
    try:
        amount = parse_plain_decimal(
            text[1:] if negative else text,
            "the amount",
            integer_digits=MAX_DIGITS,
            decimals=minor_exponent(currency),
        )
    except InvalidAmount as exc:
        raise AdjustmentRefused(str(exc)) from None
    minor = to_minor(-amount if negative else amount, currency)
    if minor == 0:
        raise AdjustmentRefused("an adjustment of zero changes nothing")
    return minor


def _clean_reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise AdjustmentRefused("say why: the reason is printed on the partner's statement")
    if len(cleaned) > MAX_REASON:
        raise AdjustmentRefused(f"the reason is longer than {MAX_REASON} characters")
    return cleaned


def _issued_line(session: Session, partner_id: str, period: str, line_id: str) -> tuple[str, str]:
    """The (period, line id) of a line on an issued statement of the partner, or
    AdjustmentRefused: an adjustment answers a line the partner was shown, not a typo.
    A statement issued before its lines were kept (schema revision 0013) is taken at
    its word, as an inquiry on it is."""
    month = str(Month.parse(period))
    line = line_id.strip()
    if not line or len(line) > MAX_LINE_ID:
        raise AdjustmentRefused(f"a line id is 1 to {MAX_LINE_ID} characters")
    statement = issued.issued(session, partner_id, month)
    if statement is None:
        raise AdjustmentRefused(f"partner {partner_id} has no statement for {month}")
    lines = issued.line_ids(statement)
    if lines is not None and line not in lines:
        raise AdjustmentRefused(f"the {month} statement of {partner_id} has no line {line!r}")
    return month, line


def propose(
    session: Session,
    *,
    partner_id: str,
    amount: str,
    currency: str,
    reason: str,
    actor: str,
    inquiry_id: int | None = None,
    statement_period: str | None = None,
    line_id: str | None = None,
) -> Adjustment:
    """Propose an adjustment (pending until another person decides it)."""
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise AdjustmentRefused(f"there is no partner {partner_id!r}")
    currency = currency.strip().upper()
    if currency != partner.payout_currency:
        raise AdjustmentRefused(
            f"partner {partner_id} is paid in {partner.payout_currency}, not {currency!r}"
        )
    minor = parse_amount(amount, currency)
    if inquiry_id is not None:
        inquiry = session.get(Inquiry, inquiry_id)
        if inquiry is None or inquiry.partner_id != partner_id:
            raise AdjustmentRefused(f"partner {partner_id} has no inquiry {inquiry_id}")
    if (statement_period is None) != (line_id is None):
        raise AdjustmentRefused("a statement line is named by its period and its line id")
    if statement_period is not None and line_id is not None:
        statement_period, line_id = _issued_line(session, partner_id, statement_period, line_id)
    row = ManualAdjustment(
        partner_id=partner_id,
        amount_minor=minor,
        currency=currency,
        reason=_clean_reason(reason),
        inquiry_id=inquiry_id,
        statement_period=statement_period,
        line_id=line_id,
        proposed_by=actor,
        proposed_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="adjustment.propose",
        subject_type="manual_adjustment",
        subject_id=str(row.id),
        after={
            "partner_id": partner_id,
            "amount_minor": minor,
            "currency": currency,
            "inquiry_id": inquiry_id,
        },
    )
    return get(session, row.id)


def decide(
    session: Session, adjustment_id: int, decision: Decision, *, actor: str, reason: str = ""
) -> Adjustment:
    """Approve or refuse a pending adjustment (not its proposer; a refusal says why)."""
    # No row lock (the service may not UPDATE adjustments, which FOR UPDATE needs): two
    # decisions at once meet the decision's primary key, and the second is refused.
    row = session.get(ManualAdjustment, adjustment_id)
    if row is None:
        raise AdjustmentNotFound(f"there is no adjustment {adjustment_id}")
    if same_person(actor, row.proposed_by):
        raise SameProposer(
            f"adjustment {adjustment_id} was proposed by {row.proposed_by}: another person "
            "decides it"
        )
    if session.get(AdjustmentDecision, adjustment_id) is not None:
        raise AlreadyDecided(f"adjustment {adjustment_id} is already decided")
    note = reason.strip()
    if decision is Decision.REFUSED and not note:
        raise AdjustmentRefused("say why it is refused")
    if len(note) > MAX_REASON:
        raise AdjustmentRefused(f"the reason is longer than {MAX_REASON} characters")
    session.add(
        AdjustmentDecision(
            adjustment_id=adjustment_id,
            decision=decision.value,
            reason=note or None,
            decided_by=actor,
            decided_at=utcnow(),
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"adjustment.{'approve' if decision is Decision.APPROVED else 'refuse'}",
        subject_type="manual_adjustment",
        subject_id=str(adjustment_id),
        after={"decision": decision.value, "reason": note or None},
    )
    if (
        decision is Decision.APPROVED
        and row.inquiry_id is not None
        and inquiries.thread(session, row.inquiry_id).status is not inquiries.Status.RESOLVED
    ):
        # The partner reads the outcome where it asked: the inquiry is resolved with it.
        amount = from_minor(row.amount_minor, row.currency)
        inquiries.resolve(
            session,
            row.inquiry_id,
            f"Resolved with manual adjustment {row.id} of {amount} {row.currency}, paid with "
            f"the next open month: {row.reason}",
            actor=actor,
        )
    return get(session, adjustment_id)


_LIST = (
    select(ManualAdjustment, AdjustmentDecision, LedgerEntry.period)
    .outerjoin(AdjustmentDecision, AdjustmentDecision.adjustment_id == ManualAdjustment.id)
    .outerjoin(
        LedgerEntry,
        (LedgerEntry.partner_id == ManualAdjustment.partner_id)
        & (LedgerEntry.source_fact == text("'manual:' || manual_adjustments.id")),
    )
)


def _adjustment(
    row: ManualAdjustment, decided: AdjustmentDecision | None, posted: str | None
) -> Adjustment:
    if decided is None:
        status = Status.PENDING
    elif decided.decision == Decision.REFUSED.value:
        status = Status.REFUSED
    else:
        status = Status.POSTED if posted is not None else Status.APPROVED
    return Adjustment(
        id=row.id,
        partner_id=row.partner_id,
        amount=from_minor(row.amount_minor, row.currency),
        currency=row.currency,
        reason=row.reason,
        inquiry_id=row.inquiry_id,
        statement_period=row.statement_period,
        line_id=row.line_id,
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        status=status,
        decided_by=decided.decided_by if decided else None,
        decided_at=decided.decided_at if decided else None,
        decision_reason=decided.reason if decided else None,
        posted_period=posted,
    )


def get(session: Session, adjustment_id: int) -> Adjustment:
    found = session.execute(_LIST.where(ManualAdjustment.id == adjustment_id)).first()
    if found is None:
        raise AdjustmentNotFound(f"there is no adjustment {adjustment_id}")
    return _adjustment(*found)


def listed(
    session: Session,
    *,
    status: Status | None = None,
    partner_id: str | None = None,
    inquiry_id: int | None = None,
) -> list[Adjustment]:
    """Adjustments, newest first, optionally of one status, partner or inquiry."""
    query = _LIST.order_by(ManualAdjustment.id.desc())
    if partner_id is not None:
        query = query.where(ManualAdjustment.partner_id == partner_id)
    if inquiry_id is not None:
        query = query.where(ManualAdjustment.inquiry_id == inquiry_id)
    found = [_adjustment(*r) for r in session.execute(query)]
    return [a for a in found if status is None or a.status is status]


def explanation(adjustment_id: int, reason: str, proposed_by: str, decided_by: str) -> str:
    """The line's readable steps: what it is, who proposed and approved it, and why."""
    return "\n".join(
        (
            f"Manual adjustment {adjustment_id}",
            f"Reason: {reason}",
            f"Proposed by {proposed_by}; approved by {decided_by}",
        )
    )


def draft_rows(session: Session, period: str, table: str) -> list[tuple[Any, ...]]:
    """The approved adjustments not yet in the ledger, as draft rows of `period`
    (`payouts.batch.draft.COLUMNS` order), numbered after each partner's lines in
    `table` (the run's new draft). Ordered by partner, then adjustment id."""
    approved = session.execute(
        select(ManualAdjustment, AdjustmentDecision)
        .join(AdjustmentDecision, AdjustmentDecision.adjustment_id == ManualAdjustment.id)
        .where(
            AdjustmentDecision.decision == Decision.APPROVED.value,
            ~select(LedgerEntry.id)
            .where(
                LedgerEntry.partner_id == ManualAdjustment.partner_id,
                LedgerEntry.source_fact == text("'manual:' || manual_adjustments.id"),
            )
            .exists(),
        )
        .order_by(ManualAdjustment.partner_id, ManualAdjustment.id)
    ).all()
    if not approved:
        return []
    partners = sorted({a.partner_id for a, _ in approved})
    quoted = session.get_bind().dialect.identifier_preparer.quote(table)
    last_numbers = text(
        f"SELECT partner_id, max(line_no) FROM {quoted} "  # noqa: S608
        "WHERE period = :period AND partner_id IN :partners GROUP BY partner_id"
    ).bindparams(bindparam("partners", expanding=True))
    numbers: dict[str, int] = {
        partner: int(last or 0)
        for partner, last in session.execute(last_numbers, {"period": period, "partners": partners})
    }
    # Dated the month's last day: a line belongs to its month, and a run again gives it
    # again (no clock in a calculation).
    day = Month.parse(period).end
    rows: list[tuple[Any, ...]] = []
    for adjustment, decided in approved:
        number = numbers.get(adjustment.partner_id, 0) + 1
        numbers[adjustment.partner_id] = number
        amount = from_minor(adjustment.amount_minor, adjustment.currency)
        rows.append(
            (
                period,
                adjustment.partner_id,
                number,
                "adjustment",
                None,
                None,
                f"adjustment-{adjustment.id}",
                COMPONENT_KIND,
                f"{SOURCE_PREFIX}{adjustment.id}",
                day,
                None,
                None,
                None,
                adjustment.amount_minor,
                adjustment.currency,
                None,
                None,
                None,
                str(amount),
                adjustment.amount_minor,
                adjustment.currency,
                explanation(
                    adjustment.id, adjustment.reason, adjustment.proposed_by, decided.decided_by
                ),
                True,
            )
        )
    return rows
