"""Plans: list, show, save a new version (YAML or JSON), diff versions, assign partners."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy.orm import Session

from api.auth import Finance
from api.database import DbSession
from api.errors import problem_responses
from api.idempotency import Idem, Outcome
from api.refusals import NotFound, UnsupportedMediaType
from api.schemas import Page, Paging
from payouts import plan_book
from payouts.plan_book import PlanAssignment, PlanVersionRecord
from payouts.reference.models import Partner
from plans.errors import PlanError, PlanInvalid
from plans.loading import parse_plan

router = APIRouter(prefix="/plans", tags=["plans"])

PlanId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Version = Annotated[int, Query(ge=1, le=1_000_000)]


class PlanSummary(BaseModel):
    plan_id: str
    version: int
    label: str
    name: str
    effective_from: date
    effective_to: date | None
    content_hash: str

    @classmethod
    def of(cls, record: PlanVersionRecord) -> PlanSummary:
        return cls(
            plan_id=record.plan_id,
            version=record.version,
            label=record.label,
            name=record.name,
            effective_from=record.effective_from,
            effective_to=record.effective_to,
            content_hash=record.content_hash,
        )


class PlanVersionOut(PlanSummary):
    loaded_by: str
    loaded_at: datetime
    document: dict[str, Any]


class SaveOut(BaseModel):
    created: bool
    plan: PlanSummary


class Change(BaseModel):
    path: str
    old: Any
    new: Any


class DiffOut(BaseModel):
    plan_id: str
    a: int
    b: int
    changes: list[Change]


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    effective_from: date
    effective_to: date | None = None


class AssignmentOut(BaseModel):
    id: int
    plan_id: str
    partner_id: str | None
    effective_from: date
    effective_to: date | None
    assigned_by: str

    @classmethod
    def of(cls, a: PlanAssignment) -> AssignmentOut:
        return cls(
            id=a.id,
            plan_id=a.plan_id,
            partner_id=a.partner_id,
            effective_from=a.effective_from,
            effective_to=a.effective_to,
            assigned_by=a.assigned_by,
        )


COMMON = problem_responses(401, 403)


@router.get("", response_model=Page[PlanSummary], responses=COMMON, summary="Every plan")
def list_plans(_: Finance, session: DbSession, paging: Paging) -> Page[PlanSummary]:
    records = plan_book.latest_versions(session)
    return Page[PlanSummary].of(records, paging, PlanSummary.of)


@router.post(
    "",
    status_code=201,
    response_model=SaveOut,
    responses={
        200: {"model": SaveOut, "description": "Same content as a saved version: unchanged"},
        **problem_responses(401, 403, 409, 413, 415, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
    summary="Save a plan version from YAML or JSON",
)
async def create_version(request: Request, principal: Finance, idem: Idem) -> Response:
    raw = await request.body()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    source: str | dict[str, Any]
    if media in ("text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml"):
        source = _text(raw)
    elif media == "application/json":
        try:
            loaded = json.loads(_text(raw), parse_float=Decimal)
        except ValueError as exc:
            raise PlanInvalid([PlanError("", f"not valid JSON: {exc}")]) from None
        if not isinstance(loaded, dict):
            raise PlanInvalid([PlanError("", "a plan document must be an object of fields")])
        source = loaded
    else:
        raise UnsupportedMediaType("send the plan as text/yaml or application/json")
    plan = parse_plan(source)

    def work(session: Session) -> Outcome:
        result = plan_book.save(session, plan, actor=principal.actor)
        out = SaveOut(created=result.created, plan=PlanSummary.of(result.record))
        return Outcome.of(out, 201 if result.created else 200)

    return await run_in_threadpool(idem.run, principal, work)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanInvalid([PlanError("", "the plan is not UTF-8 text")]) from None


@router.get(
    "/{plan_id}",
    response_model=PlanVersionOut,
    responses=problem_responses(401, 403, 404, 422),
    summary="One plan version (the newest by default)",
)
def show(
    plan_id: PlanId, _: Finance, session: DbSession, version: Version | None = None
) -> PlanVersionOut:
    record = plan_book.get(session, plan_id, version)
    return PlanVersionOut(
        **PlanSummary.of(record).model_dump(),
        loaded_by=record.loaded_by,
        loaded_at=record.loaded_at,
        document=record.document,
    )


@router.get(
    "/{plan_id}/versions",
    response_model=Page[PlanSummary],
    responses=problem_responses(401, 403, 404, 422),
    summary="Every version of a plan",
)
def list_versions(
    plan_id: PlanId, _: Finance, session: DbSession, paging: Paging
) -> Page[PlanSummary]:
    records = plan_book.versions(session, plan_id)
    return Page[PlanSummary].of(records, paging, PlanSummary.of)


@router.get(
    "/{plan_id}/diff",
    response_model=DiffOut,
    responses=problem_responses(401, 403, 404, 422),
    summary="What changed between two versions",
)
def diff(plan_id: PlanId, a: Version, b: Version, _: Finance, session: DbSession) -> DiffOut:
    changes = plan_book.diff_versions(session, plan_id, a, b)
    return DiffOut(
        plan_id=plan_id,
        a=a,
        b=b,
        changes=[Change(path=p, old=o, new=n) for p, o, n in changes],
    )


@router.post(
    "/{plan_id}/assignments",
    status_code=201,
    response_model=AssignmentOut,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
    summary="Put a partner (or, without one, the whole program) on a plan",
)
def assign(plan_id: PlanId, body: AssignmentIn, principal: Finance, idem: Idem) -> Response:
    def work(session: Session) -> Outcome:
        if body.partner_id is not None and session.get(Partner, body.partner_id) is None:
            raise NotFound(f"no partner {body.partner_id!r}")
        assignment = plan_book.assign(
            session,
            plan_id=plan_id,
            partner_id=body.partner_id,
            effective_from=body.effective_from,
            effective_to=body.effective_to,
            actor=principal.actor,
        )
        return Outcome.of(AssignmentOut.of(assignment), 201)

    return idem.run(principal, work)
