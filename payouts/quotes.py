"""Partner price quotes for billing, and the margin exceptions that allow a lower margin.

A seller may not cut a partner's margin below the plan's protected discount; an
exception needs an approval, recorded here with who approved it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit, plan_book
from payouts.base import Base, Currency, ExternalId, utcnow
from payouts.errors import PayoutsError
from payouts.facts import repository
from payouts.facts.models import Deal
from plans.components.deal_discount import DealDiscount
from plans.money import from_minor, to_minor
from plans.quotes import Quote, quote


class MarginException(Base):
    """An approved permission to sell a deal to a partner below the protected margin."""

    __tablename__ = "margin_exceptions"

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    lowest_price_minor: Mapped[int] = mapped_column(
        BigInteger, doc="Lowest partner buy price allowed, in minor units of `currency`."
    )
    currency: Mapped[str] = mapped_column(Currency)
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuoteUnavailable(PayoutsError):
    code = "quote-unavailable"
    status = 422


class DealNotFound(PayoutsError):
    code = "deal-not-found"
    status = 404


@dataclass(frozen=True, slots=True)
class PlannedQuote:
    quote: Quote
    plan_label: str
    exception_id: str | None


def approve_exception(
    session: Session,
    *,
    exception_id: str,
    deal_id: str,
    partner_id: str,
    lowest_price: Decimal,
    reason: str,
    approved_by: str,
) -> MarginException:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise DealNotFound(f"no deal {deal_id!r}")
    exception = MarginException(
        id=exception_id,
        deal_id=deal_id,
        partner_id=partner_id,
        lowest_price_minor=to_minor(lowest_price, deal.currency),
        currency=deal.currency,
        reason=reason,
        approved_by=approved_by,
    )
    session.add(exception)
    session.flush()
    audit.record(
        session,
        actor=approved_by,
        action="margin_exception.approve",
        subject_type="deal",
        subject_id=deal_id,
        after={
            "exception": exception_id,
            "partner": partner_id,
            "lowest_price": str(lowest_price),
            "reason": reason,
        },
    )
    return exception


def quote_deal(
    session: Session,
    deal_id: str,
    partner_id: str,
    *,
    requested_price: Decimal | None = None,
    exception_id: str | None = None,
    on: date | None = None,
) -> PlannedQuote:
    """The partner's buy price on a deal under the plan in force on `on` (the close date)."""
    deals = repository.deals(session, [deal_id])
    if deal_id not in deals:
        raise DealNotFound(f"no deal {deal_id!r}")
    deal = deals[deal_id]
    day = on or deal.close_date
    assigned = [a.plan_id for a in plan_book.assignments(session, day, day, partner_id)]
    timeline = plan_book.PlanTimeline.load(session, assigned)
    for plan_id in sorted(assigned):
        plan = timeline.in_force(plan_id, day)
        if plan is None or not any(isinstance(c, DealDiscount) for c in plan.components):
            continue
        approved = False
        if exception_id is not None:
            exception = session.get(MarginException, exception_id)
            if exception is None or (exception.deal_id, exception.partner_id) != (
                deal_id,
                partner_id,
            ):
                raise QuoteUnavailable(
                    f"margin exception {exception_id!r} does not exist for deal {deal_id} "
                    f"and partner {partner_id}"
                )
            lowest = from_minor(exception.lowest_price_minor, exception.currency)
            if requested_price is not None and requested_price < lowest:
                raise QuoteUnavailable(
                    f"requested price {requested_price} is below the {lowest} "
                    f"{exception.currency} that exception {exception_id} allows"
                )
            approved = True
        result = quote(plan, deal, partner_id, requested_price, exception_approved=approved)
        return PlannedQuote(result, timeline.label(plan), exception_id if approved else None)
    raise QuoteUnavailable(
        f"partner {partner_id} has no plan with a deal discount in force on {day.isoformat()}"
    )
