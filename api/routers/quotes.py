"""`POST /quotes`: what a partner pays on a deal, its margin and the rule that set it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy.orm import Session

from api.auth import Billing
from api.errors import problem_responses
from api.idempotency import Idem, Outcome
from api.schemas import DecimalString, Money
from payouts.facts.records import MAX_AMOUNT_DIGITS
from payouts.quotes import quote_deal
from plans.money import parse_plain_decimal

router = APIRouter(tags=["quotes"])

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$")]


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deal_id: Id
    partner_id: Id
    requested_price: DecimalString | None = None
    exception_id: Id | None = None


class QuoteOut(BaseModel):
    deal_id: str
    partner_id: str
    buy_price: Money
    margin: Money
    price_basis: Money
    discount_rate: DecimalString
    rule: str
    plan_id: str
    plan_version: int
    plan_label: str
    exception_approved: bool
    exception_id: str | None
    explanation: list[str]


@router.post(
    "/quotes",
    response_model=QuoteOut,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
    summary="Quote the partner's buy price on a deal",
)
def post_quote(body: QuoteRequest, principal: Billing, idem: Idem) -> Response:
    requested = (
        parse_plain_decimal(
            body.requested_price, "requested_price", integer_digits=MAX_AMOUNT_DIGITS
        )
        if body.requested_price is not None
        else None
    )

    def work(session: Session) -> Outcome:
        result = quote_deal(
            session,
            body.deal_id,
            body.partner_id,
            requested_price=requested,
            exception_id=body.exception_id,
        )
        q = result.quote
        return Outcome.of(
            QuoteOut(
                deal_id=q.deal_id,
                partner_id=q.partner_id,
                buy_price=Money.of(q.buy_price, q.currency),
                margin=Money.of(q.margin, q.currency),
                price_basis=Money.of(q.price_basis, q.currency),
                discount_rate=f"{q.discount_rate:f}",
                rule=q.rule.value,
                plan_id=q.plan_id,
                plan_version=q.plan_version,
                plan_label=result.plan_label,
                exception_approved=q.exception_approved,
                exception_id=result.exception_id,
                explanation=list(q.explanation),
            )
        )

    return idem.run(principal, work)
