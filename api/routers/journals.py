"""A closed month's journal and the capitalised costs' waterfall, for finance.

The same files as `payouts journal export` and `payouts journal waterfall`, booked with
the chart of accounts in the CHART_OF_ACCOUNTS setting (else the demo's chart).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import StringConstraints

from api.auth import Finance
from api.database import DbSession
from api.errors import problem_responses
from api.schemas import PeriodPath, download
from payouts.accounting import capitalisation, exports
from payouts.accounting.chart import load_chart
from payouts.accounting.journal import journal

router = APIRouter(prefix="/journals", tags=["journals"])


class JournalFormat(StrEnum):
    XERO = "xero"
    QBO = "qbo"
    NETSUITE = "netsuite"
    CSV = "csv"
    JSON = "json"


CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    },
}


@router.get(
    "/capitalised-costs",
    response_class=Response,
    responses={**FILE, **problem_responses(401, 403, 422)},
    summary="The capitalised costs' waterfall through a month (CSV)",
)
def capitalised_costs(
    principal: Finance,
    session: DbSession,
    through: Annotated[PeriodPath, Query()],
) -> Response:
    rows = capitalisation.waterfall(session, through)
    return download(
        capitalisation.waterfall_csv(rows),
        "text/csv; charset=utf-8",
        f"capitalised-costs-{through}.csv",
    )


@router.get(
    "/{period}",
    response_class=Response,
    responses={**FILE, **problem_responses(401, 403, 409, 422)},
    summary="A closed month's journal in the format finance imports",
)
def export(
    period: PeriodPath,
    principal: Finance,
    session: DbSession,
    format: Annotated[JournalFormat, Query()] = JournalFormat.CSV,
    currency: Annotated[CurrencyCode | None, Query()] = None,
) -> Response:
    chart = load_chart()
    made = journal(session, period, chart)
    content = exports.export(made, chart, format.value, currency)
    return download(
        content, exports.media_type(format.value), exports.file_name(made, format.value, currency)
    )
