"""A partner in the console: its status, and putting its payouts on hold or releasing
them with a reason (`payouts.partner_holds`), recorded with who and when.

The hold is shown from its own record, apart from the partner's status (a billing
fact an import may amend, which never releases a finance hold)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import engine_of
from api.refusals import NotFound
from api.web.console.access import ConsoleUser
from api.web.security import form_of_session
from api.web.templating import render
from payouts import partner_holds
from payouts.db import unit_of_work
from payouts.reference.models import Partner

router = APIRouter(prefix="/console", include_in_schema=False)


def _page(
    request: Request, partner_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        partner = session.get(Partner, partner_id[:64])
        if partner is None:
            raise NotFound("no such partner")
        session.expunge(partner)
        events = partner_holds.history(session, partner.id)
        held = partner_holds.is_held(session, partner.id)
    return render(
        request,
        "console/partner.html",
        status=status,
        partner=partner,
        held=held,
        events=events,
        error=error,
    )


@router.get("/partners/{partner_id}")
def partner_page(request: Request, partner_id: str, _: ConsoleUser) -> Response:
    return _page(request, partner_id)


@router.post("/partners/{partner_id}/hold")
async def hold(request: Request, partner_id: str, user: ConsoleUser) -> Response:
    form = await form_of_session(request, user)
    action = partner_holds.Action.HOLD
    if form.get("action") == partner_holds.Action.RELEASE.value:
        action = partner_holds.Action.RELEASE
    reason = str(form.get("reason", ""))[: partner_holds.MAX_REASON + 1]
    try:
        with unit_of_work(engine_of(request)) as session:
            partner_holds.change(session, partner_id[:64], action, reason, actor=user.actor)
    except partner_holds.HoldRefused as refused:
        return _page(request, partner_id, error=refused.message, status=422)
    return RedirectResponse(f"/console/partners/{partner_id}", status_code=303)
