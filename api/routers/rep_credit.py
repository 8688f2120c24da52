"""Internal rep credit (quota credit and rep commission) for sales ops and finance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.auth import SalesOps
from api.database import DbSession
from api.errors import problem_responses
from api.schemas import Page, Paging, PeriodPath, download, plain
from payouts.batch import reps

router = APIRouter(prefix="/rep-credit", tags=["rep credit"])

RESPONSES = problem_responses(401, 403, 404, 422)


@router.get(
    "/{period}",
    response_model=Page[dict[str, Any]],
    responses=RESPONSES,
    summary="Rep credit lines of a period",
)
def report(
    period: PeriodPath, _: SalesOps, session: DbSession, paging: Paging
) -> Page[dict[str, Any]]:
    rows = [plain(row) for row in reps.report(session, period)]
    return Page[dict[str, Any]].of(rows, paging)


@router.get(
    "/{period}/csv",
    response_class=Response,
    responses={200: {"description": "The report", "content": {"text/csv": {}}}, **RESPONSES},
    summary="Rep credit lines of a period as CSV",
)
def report_csv(period: PeriodPath, _: SalesOps, session: DbSession) -> Response:
    text: str = reps.report_csv(session, period)
    return download(text.encode(), "text/csv; charset=utf-8", f"rep-credit-{period}.csv")
