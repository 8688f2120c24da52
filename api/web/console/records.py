"""Read-only records in the console: rep credit for sales ops (and finance), and the
audit log for finance, filterable by who, what and when."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.auth import engine_of
from api.schemas import PeriodPath, download
from api.web.console.access import ConsoleUser, RepCreditReader
from api.web.templating import render
from payouts import audit
from payouts.batch import reps
from payouts.db import unit_of_work
from payouts.errors import PayoutsError
from payouts.periods import Month

router = APIRouter(prefix="/console", include_in_schema=False)

AUDIT_PAGE = 100
Text = Annotated[str, Query(max_length=200)]


@router.get("/rep-credit")
def rep_credit(
    request: Request, _: RepCreditReader, period: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    """Per rep and deal: the credit, its basis (list, net, midpoint), whether it came
    through a partner, and the commission rate (the partner-deal accelerator shows)."""
    month: str | None = None
    rows: list[reps.RepCreditRow] = []
    if period:
        try:
            month = str(Month.parse(period))
        except PayoutsError:
            month = None
    if month is not None:
        with unit_of_work(engine_of(request), read_only=True) as session:
            rows = reps.report(session, month)
    return render(request, "console/rep_credit.html", active="rep-credit", period=month, rows=rows)


@router.get("/rep-credit/{period}.csv")
def rep_credit_csv(request: Request, period: PeriodPath, _: RepCreditReader) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        text = reps.report_csv(session, period)
    return download(text.encode(), "text/csv; charset=utf-8", f"rep-credit-{period}.csv")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/audit")
def audit_log(
    request: Request,
    _: ConsoleUser,
    actor: Text = "",
    action: Text = "",
    subject: Text = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    first, last = _day(since), _day(until)
    with unit_of_work(engine_of(request), read_only=True) as session:
        entries = audit.search(
            session,
            actor=actor.strip(),
            action=action.strip(),
            subject=subject.strip(),
            since=datetime.combine(first, time(), UTC) if first else None,
            until=datetime.combine(last, time(), UTC) + timedelta(days=1) if last else None,
            limit=AUDIT_PAGE + 1,
            offset=(page - 1) * AUDIT_PAGE,
        )
        for entry in entries:
            session.expunge(entry)
    return render(
        request,
        "console/audit.html",
        active="audit",
        entries=entries[:AUDIT_PAGE],
        more=len(entries) > AUDIT_PAGE,
        page=page,
        filters={"actor": actor, "action": action, "subject": subject, "since": since,
                 "until": until},
    )  # fmt: skip
