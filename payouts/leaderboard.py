"""The partner leaderboard: a partner's rank among its peers, off unless finance turns it on.

Peers are the partners of the same type holding the same tier at the same
evaluation (the tier history's latest evaluation of each); they are ranked on
sourced revenue and on active certifications, the figures the tier evaluation
measured. Other partners are shown anonymised ("Partner 3") unless they chose to be
named; a partner always sees itself.

Whether the portal shows it at all is a program setting (`payouts portal
leaderboard on|off`, finance's, in the audit log); a partner's choice to be named is
its own (the portal's settings page), also in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit, program_settings
from payouts.base import Base, utcnow
from payouts.program_settings import ProgramSetting as ProgramSetting
from payouts.reference.models import Partner
from payouts.tiers import TierRecord

LEADERBOARD = "portal.leaderboard"
SHOWN = 10
"""Rows shown above the partner's own (which is always shown)."""


class LeaderboardChoice(Base):
    """Whether a partner is named to its peers on the leaderboard (default: no)."""

    __tablename__ = "leaderboard_choices"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    named: Mapped[bool] = mapped_column(default=False)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def enabled(session: Session) -> bool:
    return program_settings.is_on(session, LEADERBOARD)


def turn(session: Session, on: bool, *, actor: str) -> None:
    """Show the leaderboard to partners, or stop showing it."""
    program_settings.turn(session, LEADERBOARD, on, actor=actor)


def named(session: Session, partner_id: str) -> bool:
    choice = session.get(LeaderboardChoice, partner_id)
    return choice is not None and choice.named


def choose(session: Session, partner_id: str, named: bool, *, actor: str) -> None:
    """The partner's own choice to be named to its peers, or not."""
    choice = session.get(LeaderboardChoice, partner_id)
    before = choice.named if choice is not None else False
    if choice is None:
        session.add(LeaderboardChoice(partner_id=partner_id, named=named, updated_by=actor))
    else:
        choice.named, choice.updated_by, choice.updated_at = named, actor, utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="partner.leaderboard_choice",
        subject_type="partner",
        subject_id=partner_id,
        before={"named": before},
        after={"named": named},
    )


@dataclass(frozen=True, slots=True)
class Entry:
    rank: int
    label: str
    """The partner's name when it is the reader or chose to be named, else "Partner N"."""
    figure: Decimal
    own: bool


@dataclass(frozen=True, slots=True)
class Board:
    tier: str
    partner_type: str
    evaluated_period: str
    peers: int
    by_revenue: tuple[Entry, ...]
    by_certifications: tuple[Entry, ...]


def _latest(session: Session, partner_id: str) -> TierRecord | None:
    return session.scalars(
        select(TierRecord)
        .where(TierRecord.partner_id == partner_id)
        .order_by(TierRecord.evaluated_period.desc(), TierRecord.plan_id, TierRecord.component_id)
        .limit(1)
    ).first()


def board(session: Session, partner_id: str) -> Board | None:
    """The partner's rankings among its peers (None: it has no tier to compare by)."""
    own = _latest(session, partner_id)
    partner = session.get(Partner, partner_id)
    if own is None or own.tier is None or partner is None:
        return None
    peers = session.execute(
        select(
            TierRecord.partner_id,
            TierRecord.metrics,
            Partner.name,
            func.coalesce(LeaderboardChoice.named, False),
        )
        .join(Partner, Partner.id == TierRecord.partner_id)
        .outerjoin(LeaderboardChoice, LeaderboardChoice.partner_id == TierRecord.partner_id)
        .where(
            TierRecord.plan_id == own.plan_id,
            TierRecord.component_id == own.component_id,
            TierRecord.evaluated_period == own.evaluated_period,
            TierRecord.tier == own.tier,
            Partner.type == partner.type,
        )
    ).all()
    rows = [(p, metrics, name, bool(shown)) for p, metrics, name, shown in peers]

    def ranking(metric: str) -> tuple[Entry, ...]:
        ordered = sorted(rows, key=lambda r: (-Decimal(r[1].get(metric, "0")), r[0]))
        entries = []
        for index, (peer, metrics, name, shown) in enumerate(ordered, start=1):
            mine = peer == partner_id
            if index > SHOWN and not mine:
                continue
            label = name if mine or shown else f"Partner {index}"
            entries.append(Entry(index, label, Decimal(metrics.get(metric, "0")), mine))
        return tuple(entries)

    return Board(
        tier=own.tier,
        partner_type=partner.type,
        evaluated_period=own.evaluated_period,
        peers=len(rows),
        by_revenue=ranking("sourced_revenue"),
        by_certifications=ranking("certifications"),
    )
