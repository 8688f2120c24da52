"""Plans in the console: every plan's versions and assignments, the difference
between two versions, and what-if: a candidate plan's YAML against a month's draft
or closed ledger, per partner and per component, and line by line for a partner
asked for (`payouts.batch.simulate`, as `payouts simulate`; nothing is written)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.auth import engine_of
from api.refusals import NotFound
from api.web.console.access import ConsoleUser
from api.web.security import form_of_session
from api.web.templating import render
from payouts import plan_book
from payouts.batch import simulate
from payouts.db import unit_of_work
from payouts.errors import PayoutsError
from payouts.periods import Month
from plans.errors import PlanInvalid, PlansError
from plans.loading import parse_plan

router = APIRouter(prefix="/console", include_in_schema=False)

MAX_PLAN_BYTES = 500_000
Version = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get("/plans")
def plan_list(request: Request, _: ConsoleUser) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        latest = plan_book.latest_versions(session)
        for record in latest:
            session.expunge(record)
    return render(request, "console/plans.html", active="plans", plans=latest)


@router.get("/plans/{plan_id}")
def plan_page(
    request: Request,
    plan_id: str,
    _: ConsoleUser,
    a: Version | None = None,
    b: Version | None = None,
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        found = plan_book.versions(session, plan_id[:64])
        if not found:
            raise NotFound("no such plan")
        assigned = plan_book.assignments_of(session, plan_id[:64])
        for record in [*found, *assigned]:
            session.expunge(record)
        changes = None
        if a is not None and b is not None:
            try:
                changes = plan_book.diff_versions(session, plan_id[:64], a, b)
            except PayoutsError:
                raise NotFound("no such version") from None
    return render(
        request,
        "console/plan.html",
        active="plans",
        plan_id=plan_id,
        versions=found,
        assignments=assigned,
        a=a,
        b=b,
        changes=changes,
    )


def _what_if_page(
    request: Request,
    *,
    period: str = "",
    partner: str = "",
    result: simulate.Simulation | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "console/what_if.html",
        status=status,
        active="plans",
        period=period,
        partner=partner,
        result=result,
        problems=problems or [],
    )


@router.get("/what-if")
def what_if_form(request: Request, _: ConsoleUser) -> Response:
    return _what_if_page(request)


@router.post("/what-if")
async def what_if(request: Request, user: ConsoleUser) -> Response:
    form = await form_of_session(request, user)
    period = str(form.get("period", ""))[:7]
    lines_of = str(form.get("partner", "")).strip()[:64] or None
    upload = form.get("plan")
    try:
        month = str(Month.parse(period))
        if upload is None or isinstance(upload, str):
            raise PlanInvalid([])
        raw = await upload.read(MAX_PLAN_BYTES + 1)
        if len(raw) > MAX_PLAN_BYTES:
            return _what_if_page(request, period=period, problems=["too large"], status=413)
        candidate = parse_plan(raw.decode("utf-8-sig"))
        with unit_of_work(engine_of(request)) as session:
            result = simulate.simulate(session, month, candidate, lines_of=lines_of)
            session.rollback()  # a what-if writes nothing
    except PlanInvalid as invalid:
        problems = [f"{e.path}: {e.message}" for e in invalid.errors] or ["choose a plan file"]
        return _what_if_page(request, period=period, problems=problems, status=422)
    except (PlansError, PayoutsError, UnicodeDecodeError) as refused:
        return _what_if_page(request, period=period, problems=[str(refused)], status=422)
    return _what_if_page(request, period=month, partner=lines_of or "", result=result)
