"""Putting a partner's payouts on hold, and releasing them, with a reason recorded.

Finance holds a partner when something must be checked before money leaves (a
dispute, a suspected fraud, missing paperwork). Each hold and release is a row of
`partner_holds` (append-only: who, when, why) and an audit entry, and the partner is
held while its latest row is a hold. The close reads the hold from here
(`held`, asked by `payouts.batch.service` for `payout_policy.PARTNER_ON_HOLD`): an
on-hold partner's balance is not paid but carried, with a payout hold of the month
naming why.

The partner's `status` is not touched: it is the billing system's fact, which the
next import of partners may amend. Were the hold kept there, re-importing a partner
as `active` would silently release a finance hold; kept here, only a release does.
(A billing record saying `on_hold` holds the partner too, as before.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit
from payouts.base import Base, BigId, utcnow
from payouts.errors import PayoutsError
from payouts.reference.models import Partner

MAX_REASON = 2000


class Action(StrEnum):
    HOLD = "hold"
    RELEASE = "release"


class PartnerHold(Base):
    __tablename__ = "partner_holds"
    __table_args__ = (
        CheckConstraint("action IN ('hold', 'release')", name="action"),
        Index("ix_partner_holds_partner", "partner_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    action: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class HoldRefused(PayoutsError):
    code = "hold-refused"
    status = 422


@dataclass(frozen=True, slots=True)
class HoldEvent:
    action: Action
    reason: str
    actor: str
    at: datetime


def _partner(session: Session, partner_id: str) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise HoldRefused(f"there is no partner {partner_id!r}")
    return partner


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise HoldRefused("say why: the reason is recorded with the hold")
    if len(cleaned) > MAX_REASON:
        raise HoldRefused(f"the reason is longer than {MAX_REASON} characters")
    return cleaned


def held(session: Session) -> set[str]:
    """The partners finance holds now: those whose latest hold or release is a hold."""
    latest = (
        select(func.max(PartnerHold.id).label("id")).group_by(PartnerHold.partner_id).subquery()
    )
    return set(
        session.scalars(
            select(PartnerHold.partner_id)
            .join(latest, PartnerHold.id == latest.c.id)
            .where(PartnerHold.action == Action.HOLD.value)
        )
    )


def is_held(session: Session, partner_id: str) -> bool:
    """Whether finance holds this partner now."""
    last = session.scalar(
        select(PartnerHold.action)
        .where(PartnerHold.partner_id == partner_id)
        .order_by(PartnerHold.id.desc())
        .limit(1)
    )
    return last == Action.HOLD.value


def change(session: Session, partner_id: str, action: Action, reason: str, *, actor: str) -> bool:
    """Hold or release a partner's payouts; return whether it is now held."""
    _partner(session, partner_id)
    why = _reason(reason)
    before = is_held(session, partner_id)
    if action is Action.HOLD and before:
        raise HoldRefused(f"partner {partner_id} is already on hold")
    if action is Action.RELEASE and not before:
        raise HoldRefused(f"partner {partner_id} is not on hold")
    session.add(
        PartnerHold(
            partner_id=partner_id, action=action.value, reason=why, actor=actor, at=utcnow()
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"partner.{action.value}",
        subject_type="partner",
        subject_id=partner_id,
        before={"held": before},
        after={"held": action is Action.HOLD, "reason": why},
    )
    return action is Action.HOLD


def history(session: Session, partner_id: str) -> list[HoldEvent]:
    """A partner's holds and releases, newest first."""
    return [
        HoldEvent(Action(h.action), h.reason, h.actor, h.at)
        for h in session.scalars(
            select(PartnerHold)
            .where(PartnerHold.partner_id == partner_id)
            .order_by(PartnerHold.id.desc())
        )
    ]
