"""Manual adjustments over HTTP (finance): propose, approve, refuse, list.

The proposer cannot decide its own adjustment (403, by holder); an approved one is a
line of the next batch run of the open month. The console's pages call the same
service (`payouts.adjustments`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from api.auth import Finance
from api.database import DbSession
from api.errors import problem_responses
from api.idempotency import Idem, Outcome
from api.principals import Principal
from api.refusals import NotFound
from api.schemas import Page, Paging, PeriodPath
from payouts import adjustments

router = APIRouter(tags=["adjustments"])

AdjustmentId = Annotated[int, Field(ge=1, le=2**62)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=adjustments.MAX_REASON)]
READ = problem_responses(401, 403, 404, 422)
WRITE = problem_responses(401, 403, 404, 409, 413, 422)


class StatusFilter(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    POSTED = "posted"


class AdjustmentOut(BaseModel):
    id: int
    partner_id: str
    amount: str = Field(description="Signed decimal in the currency's units, e.g. -12.50.")
    currency: str
    reason: str
    inquiry_id: int | None
    statement_period: str | None
    line_id: str | None
    proposed_by: str
    proposed_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    posted_period: str | None = Field(description="The month whose ledger holds its line.")

    @classmethod
    def of(cls, a: adjustments.Adjustment) -> AdjustmentOut:
        return cls(
            id=a.id,
            partner_id=a.partner_id,
            amount=str(a.amount),
            currency=a.currency,
            reason=a.reason,
            inquiry_id=a.inquiry_id,
            statement_period=a.statement_period,
            line_id=a.line_id,
            proposed_by=a.proposed_by,
            proposed_at=a.proposed_at,
            status=a.status.value,
            decided_by=a.decided_by,
            decided_at=a.decided_at,
            decision_reason=a.decision_reason,
            posted_period=a.posted_period,
        )


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="Signed decimal in the currency's units: '25.00' pays more, '-10' less."
    )
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    reason: Reason
    inquiry_id: Annotated[int, Field(ge=1, le=2**62)] | None = None
    statement_period: PeriodPath | None = None
    line_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


def _found(session: Session, adjustment_id: int) -> adjustments.Adjustment:
    try:
        return adjustments.get(session, adjustment_id)
    except adjustments.AdjustmentNotFound:
        raise NotFound("no such adjustment") from None


@router.get(
    "/adjustments",
    response_model=Page[AdjustmentOut],
    responses=READ,
    summary="Manual adjustments, newest first",
)
def list_adjustments(
    _: Finance,
    session: DbSession,
    paging: Paging,
    status: Annotated[StatusFilter | None, Query(description="Only this status.")] = None,
) -> Page[AdjustmentOut]:
    wanted = adjustments.Status(status.value) if status else None
    return Page[AdjustmentOut].of(
        adjustments.listed(session, status=wanted), paging, AdjustmentOut.of
    )


@router.get(
    "/adjustments/{adjustment_id}",
    response_model=AdjustmentOut,
    responses=READ,
    summary="One manual adjustment",
)
def get_adjustment(adjustment_id: AdjustmentId, _: Finance, session: DbSession) -> AdjustmentOut:
    return AdjustmentOut.of(_found(session, adjustment_id))


@router.post(
    "/adjustments",
    response_model=AdjustmentOut,
    status_code=201,
    responses=WRITE,
    summary="Propose a manual adjustment (another person decides it)",
)
def propose(body: AdjustmentIn, principal: Finance, idem: Idem) -> Response:
    def work(session: Session) -> Outcome:
        proposed = adjustments.propose(
            session,
            partner_id=body.partner_id,
            amount=body.amount,
            currency=body.currency,
            reason=body.reason,
            actor=principal.actor,
            inquiry_id=body.inquiry_id,
            statement_period=body.statement_period,
            line_id=body.line_id,
        )
        return Outcome.of(AdjustmentOut.of(proposed), status=201)

    return idem.run(principal, work)


def _decide(
    adjustment_id: int,
    decision: adjustments.Decision,
    body: DecisionIn,
    principal: Principal,
    idem: Idem,
) -> Response:
    """Approve or refuse, once, as the key's holder (the database refuses the proposer)."""

    def work(session: Session) -> Outcome:
        _found(session, adjustment_id)
        decided = adjustments.decide(
            session, adjustment_id, decision, actor=principal.actor, reason=body.reason or ""
        )
        return Outcome.of(AdjustmentOut.of(decided))

    return idem.run(principal, work)


@router.post(
    "/adjustments/{adjustment_id}/approval",
    response_model=AdjustmentOut,
    responses=WRITE,
    summary="Approve a manual adjustment (not its proposer)",
)
def approve(
    adjustment_id: AdjustmentId, body: DecisionIn, principal: Finance, idem: Idem
) -> Response:
    return _decide(adjustment_id, adjustments.Decision.APPROVED, body, principal, idem)


@router.post(
    "/adjustments/{adjustment_id}/refusal",
    response_model=AdjustmentOut,
    responses=WRITE,
    summary="Refuse a manual adjustment, saying why (not its proposer)",
)
def refuse(
    adjustment_id: AdjustmentId, body: DecisionIn, principal: Finance, idem: Idem
) -> Response:
    return _decide(adjustment_id, adjustments.Decision.REFUSED, body, principal, idem)
