"""Queries that turn stored facts into the calculator's immutable records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from payouts.facts import models as m
from plans import facts as f
from plans.money import from_minor

CHUNK = 500


def chunks(values: Iterable[str]) -> Iterable[list[str]]:
    """The distinct values, sorted, in lists of CHUNK (the size of one IN (...))."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def deals(session: Session, deal_ids: Iterable[str]) -> dict[str, f.Deal]:
    """Deals with their partner roles and their approved registration (if any)."""
    found: dict[str, f.Deal] = {}
    for chunk in chunks(deal_ids):
        found.update(deals_where(session, m.Deal.id.in_(chunk)))
    return found


def deals_where(session: Session, *which: ColumnElement[bool]) -> dict[str, f.Deal]:
    """The deals matching `which` (conditions on deals), read in three queries.

    A batch passes a subquery ("deals of the invoices accounted in this month") rather
    than a hundred thousand ids in chunks of 500."""
    ids = select(m.Deal.id).where(*which)
    rows: dict[str, Any] = {}  # plain rows: this reads thousands of deals
    roles: dict[str, list[f.DealRole]] = defaultdict(list)
    registrations: dict[str, f.Registration] = {}
    rows.update({d.id: d for d in session.execute(select(m.Deal.__table__).where(*which))})
    kinds = {k.value: k for k in f.Role}
    influence = {k.value: k for k in f.InfluenceKind}
    for deal_id, partner_id, role, influence_kind in session.execute(
        select(
            m.DealRole.deal_id, m.DealRole.partner_id, m.DealRole.role, m.DealRole.influence_kind
        )
        .where(m.DealRole.deal_id.in_(ids))
        .order_by(m.DealRole.id)
    ):
        roles[deal_id].append(
            f.DealRole(
                partner_id=partner_id,
                role=kinds[role],
                influence_kind=influence[influence_kind] if influence_kind else None,
            )
        )
    for reg in session.execute(
        select(m.DealRegistration.__table__).where(
            m.DealRegistration.deal_id.in_(ids), m.DealRegistration.status == "approved"
        )
    ):
        registrations[reg.deal_id] = f.Registration(
            registration_id=reg.id,
            partner_id=reg.partner_id,
            status=f.RegistrationStatus(reg.status),
            approved_at=reg.approved_at,
            expires_at=reg.expires_at,
        )
    return {
        deal_id: to_deal(row, roles[deal_id], registrations.get(deal_id))
        for deal_id, row in rows.items()
    }


_INDEPENDENCE = {i.value: i for i in f.Independence}


def to_deal(row: Any, roles: list[f.DealRole], registration: f.Registration | None) -> f.Deal:
    return f.Deal(
        deal_id=row.id,
        customer_id=row.customer_id,
        list_amount=from_minor(row.list_amount_minor, row.currency),
        net_amount=from_minor(row.net_amount_minor, row.currency),
        currency=row.currency,
        close_date=row.close_date,
        independence=_INDEPENDENCE[row.independence],
        owner_rep_id=row.owner_rep_id,
        roles=tuple(roles),
        registration=registration,
    )
