"""The partner portal: a partner's tier, money, statements and inquiries, as pages.

Every page lives under its partner's id (`/portal/partners/{id}/...`) and answers
only that partner's users (and, once the finance console brings its second factor,
finance): anyone else gets the same 404 as for a partner that does not exist, pages
and downloads alike. Pages call the same services as the HTTP API; the PDF and CSV
are the very bytes `payouts statements render` writes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import StringConstraints
from sqlalchemy.orm import Session

from api.auth import engine_of
from api.refusals import NotFound
from api.schemas import PeriodPath, download
from api.web import charts
from api.web.account import landing
from api.web.i18n import Formats
from api.web.security import SignedIn, form_of_session
from api.web.templating import render
from payouts import inquiries, issued, leaderboard, sign_in
from payouts.db import unit_of_work
from payouts.reference.models import Partner
from payouts.users import UserRole
from statements import issue, overview
from statements.builder import build, payout_state, self_billed
from statements.canonical import seal
from statements.csv_export import render_csv
from statements.model import LineKind, Statement
from statements.pdf import render_pdf
from statements.rendering import file_stem

router = APIRouter(prefix="/portal", include_in_schema=False)

PartnerId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_LINE_ID = 64


def _reader(user: sign_in.Current, partner_id: str) -> bool:
    """Whether the user may see this partner's pages."""
    if user.role is UserRole.PARTNER:
        return user.partner_id == partner_id
    return user.role is UserRole.FINANCE and user.fully_signed_in


def _partner(session: Session, user: sign_in.Current, partner_id: str) -> Partner:
    partner = session.get(Partner, partner_id) if _reader(user, partner_id) else None
    if partner is None:
        raise NotFound("no such page")
    # Kept as read when the (read-only) unit of work ends: the page is drawn after it.
    session.expunge(partner)
    return partner


def _writer(user: sign_in.Current, partner: Partner) -> None:
    """Only the partner's own users speak for it (an inquiry, a choice)."""
    if user.partner_id != partner.id:
        raise NotFound("no such page")


def _page(
    request: Request, template: str, partner: Partner, *, status: int = 200, **context: object
) -> Response:
    return render(
        request,
        template,
        locale=partner.locale,
        currency=partner.payout_currency,
        status=status,
        partner=partner,
        leaderboard_on=context.pop("leaderboard_on", False),
        **context,
    )


@router.get("")
def home(request: Request, user: SignedIn) -> Response:
    """A partner user's dashboard; other roles are told where their pages will be."""
    if user.partner_id is not None:
        return RedirectResponse(landing(user), status_code=303)
    return render(request, "elsewhere.html", role=user.role.value)


@router.get("/partners/{partner_id}")
def dashboard(request: Request, partner_id: PartnerId, user: SignedIn) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        standing = overview.overview(session, partner)
        open_inquiries = sum(
            1
            for t in inquiries.threads(session, partner_id=partner.id)
            if t.status is not inquiries.Status.RESOLVED
        )
        board_on = leaderboard.enabled(session)
    fmt = Formats(partner.locale, partner.payout_currency)
    chart = charts.month_chart(
        standing.months, {m.period: fmt.short_month(m.period) for m in standing.months}
    )
    return _page(
        request,
        "dashboard.html",
        partner,
        standing=standing,
        chart=chart,
        percent=charts.progress_percent,
        open_inquiries=open_inquiries,
        leaderboard_on=board_on,
    )


@router.get("/partners/{partner_id}/statements")
def statements(request: Request, partner_id: PartnerId, user: SignedIn) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        summaries = overview.statement_summaries(session, partner.id)
        board_on = leaderboard.enabled(session)
    return _page(request, "statements.html", partner, summaries=summaries, leaderboard_on=board_on)


def _issued_statement(session: Session, partner: Partner, period: str) -> Statement:
    if issued.issued(session, partner.id, period) is None:
        raise NotFound("no such statement")
    return seal(build(session, partner.id, period))


@router.get("/partners/{partner_id}/statements/{period}")
def statement(
    request: Request, partner_id: PartnerId, period: PeriodPath, user: SignedIn
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        document = _issued_statement(session, partner, period)
        payout = payout_state(session, partner.id, period)
        asked = inquiries.on_statement(session, partner.id, period)
        board_on = leaderboard.enabled(session)
    sections = [
        (
            "payable",
            document.lines_of(LineKind.earning, LineKind.clawback, LineKind.adjustment),
            document.activity_total,
        ),
        ("payouts", document.lines_of(LineKind.payout), document.payouts_total),
        ("margin", document.lines_of(LineKind.margin), document.margin_earned_total),
    ]
    return _page(
        request,
        "statement.html",
        partner,
        statement=document,
        payout=payout,
        sections=sections,
        asked=asked,
        percent=charts.progress_percent,
        leaderboard_on=board_on,
    )


@router.get("/partners/{partner_id}/statements/{period}/pdf")
def statement_pdf(
    request: Request, partner_id: PartnerId, period: PeriodPath, user: SignedIn
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        document = _issued_statement(session, partner, period)
        payout = payout_state(session, partner.id, period)
        invoices = self_billed(session, partner.id, period)
    return download(
        render_pdf(document, payout, invoices),
        "application/pdf",
        f"{file_stem(partner.id, period)}.pdf",
    )


@router.get("/partners/{partner_id}/statements/{period}/csv")
def statement_csv(
    request: Request, partner_id: PartnerId, period: PeriodPath, user: SignedIn
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        document = _issued_statement(session, partner, period)
        invoices = self_billed(session, partner.id, period)
    return download(
        render_csv(document, invoices).encode("utf-8"),
        "text/csv; charset=utf-8",
        f"{file_stem(partner.id, period)}.csv",
    )


@router.get("/partners/{partner_id}/statements/{period}/verify")
def verify(request: Request, partner_id: PartnerId, period: PeriodPath, user: SignedIn) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        if issued.issued(session, partner.id, period) is None:
            raise NotFound("no such statement")
        result = issue.verify(session, partner.id, period)
        board_on = leaderboard.enabled(session)
    return _page(request, "verify.html", partner, result=result, leaderboard_on=board_on)


@router.get("/partners/{partner_id}/inquiries")
def inquiry_list(request: Request, partner_id: PartnerId, user: SignedIn) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        threads = inquiries.threads(session, partner_id=partner.id)
        board_on = leaderboard.enabled(session)
    return _page(request, "inquiries.html", partner, threads=threads, leaderboard_on=board_on)


def _new_inquiry_page(
    request: Request,
    session: Session,
    partner: Partner,
    *,
    period: str,
    line_id: str,
    reference: str = "",
    message: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    line = None
    if period and line_id and issued.issued(session, partner.id, period) is not None:
        document = seal(build(session, partner.id, period))
        line = next((x for x in document.lines if x.line_id == line_id), None)
    periods = issue.periods_for(session, partner.id)
    return _page(
        request,
        "inquiry_new.html",
        partner,
        status=status,
        period=period,
        line_id=line_id,
        line=line,
        periods=periods,
        reference=reference,
        message=message,
        error=error,
        leaderboard_on=leaderboard.enabled(session),
    )


@router.get("/partners/{partner_id}/inquiries/new")
def inquiry_form(
    request: Request,
    partner_id: PartnerId,
    user: SignedIn,
    period: Annotated[str, Query(max_length=7)] = "",
    line: Annotated[str, Query(max_length=MAX_LINE_ID)] = "",
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        _writer(user, partner)
        return _new_inquiry_page(request, session, partner, period=period, line_id=line)


@router.post("/partners/{partner_id}/inquiries")
async def inquiry_submit(request: Request, partner_id: PartnerId, user: SignedIn) -> Response:
    form = await form_of_session(request, user)
    period = str(form.get("period", ""))[:7]
    line_id = str(form.get("line_id", ""))[:MAX_LINE_ID]
    reference = str(form.get("reference", ""))
    message = str(form.get("message", ""))
    with unit_of_work(engine_of(request)) as session:
        partner = _partner(session, user, partner_id)
        _writer(user, partner)
        try:
            if line_id:
                thread = inquiries.raise_on_line(
                    session,
                    partner_id=partner.id,
                    period=period,
                    line_id=line_id,
                    message=message,
                    actor=user.actor,
                )
            else:
                thread = inquiries.raise_missing_credit(
                    session,
                    partner_id=partner.id,
                    reference=reference,
                    message=message,
                    actor=user.actor,
                    period=period or None,
                )
        except inquiries.InquiryRefused as refused:
            session.rollback()
            return _new_inquiry_page(
                request,
                session,
                partner,
                period=period,
                line_id=line_id,
                reference=reference,
                message=message,
                error=refused.message,
                status=422,
            )
    return RedirectResponse(f"/portal/partners/{partner.id}/inquiries/{thread.id}", status_code=303)


@router.get("/partners/{partner_id}/inquiries/{inquiry_id}")
def inquiry_page(
    request: Request, partner_id: PartnerId, inquiry_id: int, user: SignedIn
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        try:
            thread = inquiries.thread(session, inquiry_id, partner_id=partner.id)
        except inquiries.InquiryNotFound:
            raise NotFound("no such inquiry") from None
        board_on = leaderboard.enabled(session)
    return _page(request, "inquiry.html", partner, thread=thread, leaderboard_on=board_on)


@router.post("/partners/{partner_id}/inquiries/{inquiry_id}/replies")
async def inquiry_reply(
    request: Request, partner_id: PartnerId, inquiry_id: int, user: SignedIn
) -> Response:
    form = await form_of_session(request, user)
    with unit_of_work(engine_of(request)) as session:
        partner = _partner(session, user, partner_id)
        _writer(user, partner)
        try:
            inquiries.reply(
                session,
                inquiry_id,
                str(form.get("message", "")),
                actor=user.actor,
                side=inquiries.Side.PARTNER,
                partner_id=partner.id,
            )
        except inquiries.InquiryNotFound:
            raise NotFound("no such inquiry") from None
        except inquiries.InquiryRefused as refused:
            session.rollback()
            thread = inquiries.thread(session, inquiry_id, partner_id=partner.id)
            return _page(
                request,
                "inquiry.html",
                partner,
                status=422,
                thread=thread,
                error=refused.message,
                leaderboard_on=leaderboard.enabled(session),
            )
    return RedirectResponse(
        f"/portal/partners/{partner.id}/inquiries/{inquiry_id}", status_code=303
    )


@router.get("/partners/{partner_id}/leaderboard")
def leaderboard_page(request: Request, partner_id: PartnerId, user: SignedIn) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = _partner(session, user, partner_id)
        if not leaderboard.enabled(session):
            raise NotFound("no such page")
        board = leaderboard.board(session, partner.id)
        named = leaderboard.named(session, partner.id)
    return _page(
        request, "leaderboard.html", partner, board=board, named=named, leaderboard_on=True
    )


@router.post("/partners/{partner_id}/leaderboard")
async def leaderboard_choice(request: Request, partner_id: PartnerId, user: SignedIn) -> Response:
    form = await form_of_session(request, user)
    with unit_of_work(engine_of(request)) as session:
        partner = _partner(session, user, partner_id)
        _writer(user, partner)
        if not leaderboard.enabled(session):
            raise NotFound("no such page")
        leaderboard.choose(session, partner.id, form.get("named") == "yes", actor=user.actor)
    return RedirectResponse(f"/portal/partners/{partner.id}/leaderboard", status_code=303)
