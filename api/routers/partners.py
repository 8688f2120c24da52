"""A partner's record, tier status and statements.

Finance sees every partner; a partner key only its own. Another partner's id answers
404 with a detail that does not repeat the id, exactly as an unknown id does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Finance, PartnerReader, own_partner
from api.database import DbSession
from api.errors import problem_responses
from api.principals import Principal
from api.refusals import NotFound
from api.schemas import Page, Paging, PeriodPath, download
from payouts import issued
from payouts.reference.models import Partner
from payouts.tiers import TierRecord, history
from statements import issue
from statements.builder import build, payout_state, self_billed
from statements.canonical import canonical_json, seal
from statements.csv_export import render_csv
from statements.model import Statement
from statements.pdf import render_pdf
from statements.rendering import file_stem

router = APIRouter(prefix="/partners", tags=["partners"])

PartnerId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PartnerOut(BaseModel):
    id: str
    name: str
    type: str
    status: str
    payout_currency: str
    locale: str
    country: str | None

    @classmethod
    def of(cls, p: Partner) -> PartnerOut:
        return cls(
            id=p.id,
            name=p.name,
            type=p.type,
            status=p.status,
            payout_currency=p.payout_currency,
            locale=p.locale,
            country=p.country,
        )


class TierOut(BaseModel):
    plan_id: str
    plan_version: int
    component_id: str
    evaluated_period: str
    effective_period: str
    tier: str | None
    previous_tier: str | None
    change: str
    next_tier: str | None
    gap_text: str | None
    at_risk: bool
    reason: str
    metrics: dict[str, Any]

    @classmethod
    def of(cls, t: TierRecord) -> TierOut:
        return cls(
            plan_id=t.plan_id,
            plan_version=t.plan_version,
            component_id=t.component_id,
            evaluated_period=t.evaluated_period,
            effective_period=t.effective_period,
            tier=t.tier,
            previous_tier=t.previous_tier,
            change=t.change,
            next_tier=t.next_tier,
            gap_text=t.gap_text,
            at_risk=t.at_risk,
            reason=t.reason,
            metrics=t.metrics,
        )


class StatementPeriod(BaseModel):
    period: str


class VerificationOut(BaseModel):
    partner_id: str
    period: str
    stored_hash: str
    computed_hash: str
    match: bool
    problem: str | None = Field(description="Why the statement could not be rebuilt.")
    differences: list[str] = Field(
        description="On a mismatch, what differs between the statement issued and what the "
        "ledger gives now: lines first (by line id), then fields by path."
    )


READ = problem_responses(401, 403, 404, 422)
FILE_READ = problem_responses(401, 403, 404, 409, 422)


def _partner(session: Session, principal: Principal, partner_id: str) -> Partner:
    own_partner(principal, partner_id)
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("no such partner")
    return partner


@router.get("", response_model=Page[PartnerOut], responses=READ, summary="Every partner")
def list_partners(_: Finance, session: DbSession, paging: Paging) -> Page[PartnerOut]:
    partners = list(session.scalars(select(Partner).order_by(Partner.id)))
    return Page[PartnerOut].of(partners, paging, PartnerOut.of)


@router.get("/{partner_id}", response_model=PartnerOut, responses=READ, summary="One partner")
def get_partner(partner_id: PartnerId, principal: PartnerReader, session: DbSession) -> PartnerOut:
    return PartnerOut.of(_partner(session, principal, partner_id))


@router.get(
    "/{partner_id}/tier",
    response_model=Page[TierOut],
    responses=READ,
    summary="Tier status and history, newest evaluation first",
)
def tier(
    partner_id: PartnerId, principal: PartnerReader, session: DbSession, paging: Paging
) -> Page[TierOut]:
    _partner(session, principal, partner_id)
    records = sorted(history(session, partner_id), key=lambda t: t.evaluated_period, reverse=True)
    return Page[TierOut].of(records, paging, TierOut.of)


@router.get(
    "/{partner_id}/statements",
    response_model=Page[StatementPeriod],
    responses=problem_responses(401, 403, 404, 422),
    summary="The periods with a statement, newest first",
)
def statements(
    partner_id: PartnerId, principal: PartnerReader, session: DbSession, paging: Paging
) -> Page[StatementPeriod]:
    _partner(session, principal, partner_id)
    periods = issue.periods_for(session, partner_id)  # newest first
    return Page[StatementPeriod].of(periods, paging, lambda period: StatementPeriod(period=period))


def _statement(session: Session, principal: Principal, partner_id: str, period: str) -> Statement:
    _partner(session, principal, partner_id)
    # A partner reads only statements that were issued to it.
    if principal.partner_id is not None and issued.issued(session, partner_id, period) is None:
        raise NotFound(f"no statement for {period}")
    return seal(build(session, partner_id, period))


@router.get(
    "/{partner_id}/statements/{period}",
    response_class=Response,
    responses={
        200: {
            "description": "The statement as canonical JSON (what its content hash covers)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **FILE_READ,
    },
    summary="A statement as JSON",
)
def statement_json(
    partner_id: PartnerId, period: PeriodPath, principal: PartnerReader, session: DbSession
) -> Response:
    statement = _statement(session, principal, partner_id, period)
    return Response(canonical_json(statement).encode(), media_type="application/json")


@router.get(
    "/{partner_id}/statements/{period}/pdf",
    response_class=Response,
    responses={
        200: {"description": "The PDF statement", "content": {"application/pdf": {}}},
        **FILE_READ,
    },
    summary="A statement as PDF",
)
def statement_pdf(
    partner_id: PartnerId, period: PeriodPath, principal: PartnerReader, session: DbSession
) -> Response:
    statement = _statement(session, principal, partner_id, period)
    payout = payout_state(session, statement.partner_id, statement.period)
    invoices = self_billed(session, statement.partner_id, statement.period)
    return download(
        render_pdf(statement, payout, invoices),
        "application/pdf",
        f"{file_stem(partner_id, period)}.pdf",
    )


@router.get(
    "/{partner_id}/statements/{period}/csv",
    response_class=Response,
    responses={
        200: {"description": "The statement's lines", "content": {"text/csv": {}}},
        **FILE_READ,
    },
    summary="A statement's lines as CSV",
)
def statement_csv(
    partner_id: PartnerId, period: PeriodPath, principal: PartnerReader, session: DbSession
) -> Response:
    statement = _statement(session, principal, partner_id, period)
    invoices = self_billed(session, statement.partner_id, statement.period)
    return download(
        render_csv(statement, invoices).encode(),
        "text/csv; charset=utf-8",
        f"{file_stem(partner_id, period)}.csv",
    )


@router.get(
    "/{partner_id}/statements/{period}/verify",
    response_model=VerificationOut,
    responses=FILE_READ,
    summary="Recompute a closed statement and compare it with the hash issued",
)
def verify(
    partner_id: PartnerId, period: PeriodPath, principal: PartnerReader, session: DbSession
) -> VerificationOut:
    _partner(session, principal, partner_id)
    result = issue.verify(session, partner_id, period)
    return VerificationOut(
        partner_id=result.partner_id,
        period=result.period,
        stored_hash=result.stored_hash,
        computed_hash=result.computed_hash,
        match=result.match,
        problem=result.problem,
        differences=list(result.differences),
    )
