"""Inquiries over HTTP: finance reads, answers and resolves; a partner raises and replies.

Finance sees every partner's inquiries (`/inquiries`); a partner key only its own,
under its partner (`/partners/{id}/inquiries`; another partner's answer 404). The
portal's pages call the same service (`payouts.inquiries`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from api.auth import Finance, PartnerReader, own_partner
from api.database import DbSession
from api.errors import problem_responses
from api.idempotency import Idem, Outcome
from api.principals import Role
from api.refusals import Forbidden, NotFound
from api.schemas import Page, Paging, PeriodPath
from payouts import inquiries
from payouts.reference.models import Partner

router = APIRouter(tags=["inquiries"])

PartnerId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
InquiryId = Annotated[int, Field(ge=1, le=2**62)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=inquiries.MAX_MESSAGE)]
READ = problem_responses(401, 403, 404, 422)
WRITE = problem_responses(401, 403, 404, 409, 413, 422)


class StatusFilter(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"


class MessageOut(BaseModel):
    side: str
    resolution: bool
    body: str
    author: str
    at: datetime


class InquiryOut(BaseModel):
    id: int
    partner_id: str
    kind: str
    status: str
    about: str
    period: str | None
    content_hash: str | None = Field(description="The statement's content hash as issued.")
    line_id: str | None
    reference: str | None
    raised_by: str
    raised_at: datetime
    messages: list[MessageOut]

    @classmethod
    def of(cls, t: inquiries.Thread) -> InquiryOut:
        return cls(
            id=t.id,
            partner_id=t.partner_id,
            kind=t.kind.value,
            status=t.status.value,
            about=t.about,
            period=t.period,
            content_hash=t.content_hash,
            line_id=t.line_id,
            reference=t.reference,
            raised_by=t.raised_by,
            raised_at=t.raised_at,
            messages=[
                MessageOut(
                    side=m.side.value,
                    resolution=m.resolution,
                    body=m.body,
                    author=m.author,
                    at=m.at,
                )
                for m in t.messages
            ],
        )


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Body


class InquiryIn(BaseModel):
    """On a statement line (`period` and `line_id`), or for missing credit (`reference`:
    the invoice or deal id not found on any statement; `period` optional)."""

    model_config = ConfigDict(extra="forbid")

    message: Body
    period: PeriodPath | None = None
    line_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    reference: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


def _found(session: Session, inquiry_id: int, partner_id: str | None = None) -> inquiries.Thread:
    try:
        return inquiries.thread(session, inquiry_id, partner_id=partner_id)
    except inquiries.InquiryNotFound:
        raise NotFound("no such inquiry") from None


@router.get("/inquiries", response_model=Page[InquiryOut], responses=READ, summary="Every inquiry")
def list_inquiries(
    _: Finance,
    session: DbSession,
    paging: Paging,
    status: Annotated[StatusFilter | None, Query(description="Only this status.")] = None,
) -> Page[InquiryOut]:
    wanted = inquiries.Status(status.value) if status else None
    return Page[InquiryOut].of(inquiries.threads(session, status=wanted), paging, InquiryOut.of)


@router.get(
    "/inquiries/{inquiry_id}", response_model=InquiryOut, responses=READ, summary="One inquiry"
)
def get_inquiry(inquiry_id: InquiryId, _: Finance, session: DbSession) -> InquiryOut:
    return InquiryOut.of(_found(session, inquiry_id))


@router.post(
    "/inquiries/{inquiry_id}/replies",
    response_model=InquiryOut,
    responses=WRITE,
    summary="Answer an inquiry (finance)",
)
def reply(inquiry_id: InquiryId, body: MessageIn, principal: Finance, idem: Idem) -> Response:
    def work(session: Session) -> Outcome:
        _found(session, inquiry_id)
        thread = inquiries.reply(
            session, inquiry_id, body.message, actor=principal.actor, side=inquiries.Side.FINANCE
        )
        return Outcome.of(InquiryOut.of(thread))

    return idem.run(principal, work)


@router.post(
    "/inquiries/{inquiry_id}/resolution",
    response_model=InquiryOut,
    responses=WRITE,
    summary="Resolve an inquiry, saying how (finance)",
)
def resolve(inquiry_id: InquiryId, body: MessageIn, principal: Finance, idem: Idem) -> Response:
    def work(session: Session) -> Outcome:
        _found(session, inquiry_id)
        return Outcome.of(
            InquiryOut.of(
                inquiries.resolve(session, inquiry_id, body.message, actor=principal.actor)
            )
        )

    return idem.run(principal, work)


@router.get(
    "/partners/{partner_id}/inquiries",
    response_model=Page[InquiryOut],
    responses=READ,
    summary="A partner's inquiries, newest first",
)
def partner_inquiries(
    partner_id: PartnerId, principal: PartnerReader, session: DbSession, paging: Paging
) -> Page[InquiryOut]:
    own_partner(principal, partner_id)
    if session.get(Partner, partner_id) is None:
        raise NotFound("no such partner")
    found = inquiries.threads(session, partner_id=partner_id)
    return Page[InquiryOut].of(found, paging, InquiryOut.of)


@router.post(
    "/partners/{partner_id}/inquiries",
    response_model=InquiryOut,
    status_code=201,
    responses=WRITE,
    summary="Raise an inquiry (the partner's own key)",
)
def raise_inquiry(
    partner_id: PartnerId, body: InquiryIn, principal: PartnerReader, idem: Idem
) -> Response:
    own_partner(principal, partner_id)
    if principal.role is not Role.PARTNER:
        raise Forbidden("an inquiry is the partner's to raise: use the partner's key")

    def work(session: Session) -> Outcome:
        if body.line_id is not None:
            if body.period is None:
                raise inquiries.InquiryRefused("an inquiry on a line names its statement's period")
            thread = inquiries.raise_on_line(
                session,
                partner_id=partner_id,
                period=body.period,
                line_id=body.line_id,
                message=body.message,
                actor=principal.actor,
            )
        else:
            thread = inquiries.raise_missing_credit(
                session,
                partner_id=partner_id,
                reference=body.reference or "",
                message=body.message,
                actor=principal.actor,
                period=body.period,
            )
        return Outcome.of(InquiryOut.of(thread), status=201)

    return idem.run(principal, work)
