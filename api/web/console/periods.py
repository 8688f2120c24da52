"""The console's months: each month's state and totals; a month's batch run, reviewed a
page at a time, approved, closed, downloaded, and marked paid from the bank's file.

Every step calls the service the command line and the API call (`payouts.batch`,
`statements.issue`), acting for the signed-in finance user; the run goes on in the
background with a status page that follows its progress (`runs`). The user who ran the
month sees no approve button, and the service refuses a forged approval anyway
(maker-checker by holder; the database refuses it too). The bank's results are shown
as a preview (what each payout becomes, nothing written) before they are recorded.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.auth import engine_of
from api.schemas import PeriodPath, download
from api.web.console import runs
from api.web.console.access import ConsoleUser
from api.web.security import form_of_session
from api.web.templating import render
from payouts import month_overview, sign_in
from payouts.actors import same_person
from payouts.batch import exports, payments, reps
from payouts.batch import service as batch
from payouts.batch.errors import PayoutResultsRefused
from payouts.batch.models import Batch
from payouts.db import unit_of_work
from payouts.errors import PayoutsError
from payouts.periods import Month
from statements.issue import issue_period

router = APIRouter(prefix="/console", include_in_schema=False)

MAX_RESULTS_BYTES = 2_000_000
RUN_REFRESH_SECONDS = 1
PartnerId = Annotated[str, Query(max_length=64)]


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/periods")
def period_list(
    request: Request, _: ConsoleUser, open: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    if open:
        try:
            return _see_other(f"/console/periods/{Month.parse(open)}")
        except PayoutsError:
            pass  # not a month: the list again
    with unit_of_work(engine_of(request), read_only=True) as session:
        found = month_overview.months(session)
    return render(request, "console/periods.html", active="periods", months=found)


def _batch(session: Session, period: str) -> Batch | None:
    try:
        found = batch.get(session, period)
    except PayoutsError:
        return None
    session.expunge(found)
    return found


def _month_page(
    request: Request,
    user: sign_in.Current,
    period: str,
    *,
    error: str | None = None,
    status: int = 200,
    notice: str | None = None,
    **query: Any,
) -> Response:
    sort = month_overview.SortKey(query.get("sort") or "partner")
    with unit_of_work(engine_of(request), read_only=True) as session:
        current = _batch(session, period)
        page = None
        if current is not None:
            page = month_overview.review_page(
                session,
                period,
                page=query.get("page") or 1,
                partner=query.get("partner") or "",
                outliers_only=bool(query.get("outliers")),
                sort=sort,
                descending=bool(query.get("desc")),
            )
    may_approve = (
        current is not None
        and current.status == "draft"
        and not same_person(current.calculated_by, user.actor)
    )
    return render(
        request,
        "console/period.html",
        status=status,
        active="periods",
        period=period,
        batch=current,
        review=page,
        may_approve=may_approve,
        error=error,
        notice=notice,
        query={k: v for k, v in query.items() if v},
        sorts=[s.value for s in month_overview.SortKey],
    )


@router.get("/periods/{period}")
def month_page(
    request: Request,
    period: PeriodPath,
    user: ConsoleUser,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    partner: PartnerId = "",
    outliers: Annotated[bool, Query()] = False,
    sort: Annotated[month_overview.SortKey, Query()] = month_overview.SortKey.PARTNER,
    desc: Annotated[bool, Query()] = False,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _month_page(
        request,
        user,
        period,
        notice=done or None,
        page=page,
        partner=partner,
        outliers=outliers,
        sort=sort.value,
        desc=desc,
    )


async def _step(
    request: Request,
    user: sign_in.Current,
    period: str,
    done: str,
    work: Callable[[Session], object],
) -> Response:
    await form_of_session(request, user)
    try:
        with unit_of_work(engine_of(request)) as session:
            work(session)
    except PayoutsError as refused:
        status = refused.status if 400 <= refused.status < 500 else 409
        return _month_page(request, user, period, error=refused.message, status=status)
    return _see_other(f"/console/periods/{period}?done={done}")


@router.post("/periods/{period}/run")
async def run(request: Request, period: PeriodPath, user: ConsoleUser) -> Response:
    """Start the month's run in the background (`runs`); its status page follows it."""
    await form_of_session(request, user)
    runs.start(engine_of(request), period, user.actor)
    return _see_other(f"/console/periods/{period}/run")


@router.get("/periods/{period}/run")
def run_status(request: Request, period: PeriodPath, _: ConsoleUser) -> Response:
    """The run's progress; refreshes itself until the run ends, then goes to the month."""
    return render(
        request,
        "console/run.html",
        active="periods",
        period=period,
        run=runs.current(period),
        refresh_seconds=RUN_REFRESH_SECONDS,
    )


@router.post("/periods/{period}/approve")
async def approve(request: Request, period: PeriodPath, user: ConsoleUser) -> Response:
    return await _step(
        request, user, period, "approved", lambda s: batch.approve(s, period, actor=user.actor)
    )


def _close_and_issue(session: Session, period: str, actor: str) -> None:
    """Close the month, then issue its statements: one transaction, as the CLI does."""
    closed = batch.close(session, period, actor=actor)
    issue_period(session, closed.period, actor=actor)


@router.post("/periods/{period}/close")
async def close(request: Request, period: PeriodPath, user: ConsoleUser) -> Response:
    return await _step(
        request, user, period, "closed", lambda s: _close_and_issue(s, period, user.actor)
    )


@router.get("/periods/{period}/partners/{partner_id}")
def partner_lines(
    request: Request, period: PeriodPath, partner_id: str, _: ConsoleUser
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        lines = month_overview.partner_lines(session, period, partner_id[:64])
    if not lines:
        return render(request, "error.html", status=404, code=404, detail="no such lines")
    return render(
        request,
        "console/partner_lines.html",
        active="periods",
        period=period,
        partner_id=partner_id,
        lines=lines,
    )


def _export(request: Request, user: sign_in.Current, period: str, kind: str) -> Response:
    try:
        with unit_of_work(engine_of(request)) as session:
            file = exports.export(
                session, period, kind, actor=user.actor, payer=exports.Payer.from_settings()
            )
    except PayoutsError as refused:
        return _month_page(request, user, period, error=refused.message, status=409)
    return download(file.content, file.media_type, file.filename)


@router.get("/periods/{period}/payouts.csv")
def payouts_csv(request: Request, period: PeriodPath, user: ConsoleUser) -> Response:
    return _export(request, user, period, "csv")


@router.get("/periods/{period}/sepa.xml")
def payouts_sepa(request: Request, period: PeriodPath, user: ConsoleUser) -> Response:
    return _export(request, user, period, "sepa")


@router.get("/periods/{period}/rep-credit.csv")
def rep_credit_csv(request: Request, period: PeriodPath, _: ConsoleUser) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        text = reps.report_csv(session, period)
    return download(text.encode(), "text/csv; charset=utf-8", f"rep-credit-{period}.csv")


def _result_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(text.splitlines())
    missing = {"end_to_end_id", "status"} - set(reader.fieldnames or [])
    if missing:
        raise PayoutResultsRefused(
            f"the file has no {', '.join(sorted(missing))} column: "
            "end_to_end_id,status,bank_reference,reason"
        )
    return [{k: (v or "") for k, v in row.items() if k} for row in reader]


def _apply(
    request: Request, user: sign_in.Current, period: str, text: str, *, confirm: bool
) -> payments.MarkPaidResult:
    rows = _result_rows(text)
    with unit_of_work(engine_of(request)) as session:
        if confirm:
            return payments.mark_paid(session, period, rows, actor=user.actor)
        preview = session.begin_nested()  # the same checks and outcome, then undone
        result = payments.mark_paid(session, period, rows, actor=user.actor)
        preview.rollback()
        return result


@router.post("/periods/{period}/payments")
async def record_payments(request: Request, period: PeriodPath, user: ConsoleUser) -> Response:
    """Preview the bank's results (an uploaded file), or record them (`confirm`)."""
    form = await form_of_session(request, user)
    upload = form.get("file")
    confirm = form.get("confirm") == "yes"
    try:
        if confirm:
            text = str(form.get("content", ""))
        elif upload is not None and not isinstance(upload, str):
            raw = await upload.read(MAX_RESULTS_BYTES + 1)
            if len(raw) > MAX_RESULTS_BYTES:
                raise PayoutResultsRefused("the results file is too large")
            text = raw.decode("utf-8-sig")
        else:
            raise PayoutResultsRefused("choose the bank's results file")
        result = _apply(request, user, period, text, confirm=confirm)
    except UnicodeDecodeError:
        return _month_page(
            request, user, period, error="the results file is not UTF-8 text", status=422
        )
    except PayoutsError as refused:
        return _month_page(request, user, period, error=refused.message, status=422)
    if confirm:
        return _see_other(f"/console/periods/{period}?done=paid")
    return render(
        request,
        "console/payments_preview.html",
        active="periods",
        period=period,
        result=result,
        content=text,
    )
