"""The monthly batch: run, review, approve, close, export the payout file, mark paid.

Finance only. The actor of every step is the API key's identity, so maker-checker
holds across keys: the key that ran a batch cannot approve it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from api.auth import Finance
from api.database import DbSession
from api.errors import problem_responses
from api.idempotency import Idem, Outcome
from api.schemas import Money, PeriodPath, download, plain
from payouts.batch import exports, payments, review
from payouts.batch import service as batch
from payouts.batch.models import Batch
from statements.issue import issue_period

router = APIRouter(prefix="/batches", tags=["batches"])

MAX_PAYMENT_ROWS = 10_000


class BatchOut(BaseModel):
    period: str
    status: str
    draft_hash: str
    line_count: int
    calculated_by: str
    calculated_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    approved_hash: str | None
    closed_by: str | None
    closed_at: datetime | None

    @classmethod
    def of(cls, b: Batch) -> BatchOut:
        return cls(
            period=b.period,
            status=b.status,
            draft_hash=b.draft_hash,
            line_count=b.line_count,
            calculated_by=b.calculated_by,
            calculated_at=b.calculated_at,
            approved_by=b.approved_by,
            approved_at=b.approved_at,
            approved_hash=b.approved_hash,
            closed_by=b.closed_by,
            closed_at=b.closed_at,
        )


class RunOut(BaseModel):
    period: str
    partners: int
    lines: int
    draft_hash: str
    voided_approval: bool


class Held(BaseModel):
    partner_id: str
    reason: str


class CloseOut(BaseModel):
    period: str
    posted: int
    payouts: int
    payable: list[Money]
    held: list[Held]


class ExportFormat(StrEnum):
    CSV = "csv"
    SEPA = "sepa"


class PaymentRow(BaseModel):
    """The bank's outcome of one payout, named by the end-to-end id of the payout file."""

    model_config = ConfigDict(extra="forbid")

    end_to_end_id: Annotated[str, StringConstraints(min_length=1, max_length=35)]
    status: Literal["paid", "failed"]
    bank_reference: Annotated[str, StringConstraints(max_length=100)] | None = None
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="Why a payout failed (required for failed)."
    )


class PaymentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: Annotated[list[PaymentRow], Field(min_length=1, max_length=MAX_PAYMENT_ROWS)]


class MarkPaidOut(BaseModel):
    period: str
    paid: list[str]
    failed: list[str]
    unchanged: list[str]
    reversal_period: str | None


WRITE = problem_responses(401, 403, 404, 409, 413, 422)
READ = problem_responses(401, 403, 404, 422)


@router.post("/{period}/run", response_model=RunOut, responses=WRITE, summary="Calculate")
def run(period: PeriodPath, principal: Finance, idem: Idem) -> Response:
    def work(session: Session) -> Outcome:
        r = batch.run(session, period, actor=principal.actor)
        return Outcome.of(RunOut(**plain(r)))

    return idem.run(principal, work)


@router.get("/{period}", response_model=BatchOut, responses=READ, summary="Batch status")
def get(period: PeriodPath, _: Finance, session: DbSession) -> BatchOut:
    return BatchOut.of(batch.get(session, period))


@router.get(
    "/{period}/review",
    response_model=dict[str, Any],
    responses=problem_responses(401, 403, 404, 422),
    summary="What finance reviews before approving",
)
def get_review(period: PeriodPath, _: Finance, session: DbSession) -> dict[str, Any]:
    result: dict[str, Any] = plain(review.review(session, period))
    return result


@router.post("/{period}/approve", response_model=BatchOut, responses=WRITE, summary="Approve")
def approve(period: PeriodPath, principal: Finance, idem: Idem) -> Response:
    def work(session: Session) -> Outcome:
        return Outcome.of(BatchOut.of(batch.approve(session, period, actor=principal.actor)))

    return idem.run(principal, work)


@router.post("/{period}/close", response_model=CloseOut, responses=WRITE, summary="Close")
def close(period: PeriodPath, principal: Finance, idem: Idem) -> Response:
    def work(session: Session) -> Outcome:
        r = batch.close(session, period, actor=principal.actor)
        issue_period(session, r.period, actor=principal.actor)
        return Outcome.of(
            CloseOut(
                period=r.period,
                posted=r.posted,
                payouts=r.payouts,
                payable=[Money.minor(v, c) for c, v in sorted(r.payable.items())],
                held=[Held(partner_id=p, reason=why) for p, why in sorted(r.held.items())],
            )
        )

    return idem.run(principal, work)


@router.get(
    "/{period}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The payout file",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
            },
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
    summary="Download the payout file (CSV, or SEPA pain.001 XML)",
)
def export(
    period: PeriodPath,
    principal: Finance,
    session: DbSession,
    format: Annotated[ExportFormat, Query()] = ExportFormat.CSV,
) -> Response:
    payer = exports.Payer.from_settings()
    file = exports.export(session, period, format.value, actor=principal.actor, payer=payer)
    return download(file.content, file.media_type, file.filename)


@router.post(
    "/{period}/payments",
    response_model=MarkPaidOut,
    responses=WRITE,
    summary="Record which payouts were paid or failed (all rows, or none)",
)
def mark_paid(period: PeriodPath, body: PaymentsIn, principal: Finance, idem: Idem) -> Response:
    rows = [row.model_dump(exclude_none=True) for row in body.rows]

    def work(session: Session) -> Outcome:
        result = payments.mark_paid(session, period, rows, actor=principal.actor)
        return Outcome.of(MarkPaidOut(**plain(result)))

    return idem.run(principal, work)
