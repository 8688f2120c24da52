"""The console's manual adjustments: propose one, and approve or refuse another's.

The pages call the same service as the API and the command line
(`payouts.adjustments`), acting for the signed-in finance user. The proposer sees no
approve or refuse buttons on its own adjustment, and the service refuses a forged
POST anyway (maker-checker by holder; the database refuses it too).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import engine_of
from api.refusals import NotFound
from api.web.console.access import ConsoleUser
from api.web.security import form_of_session
from api.web.templating import render
from payouts import adjustments, sign_in
from payouts.actors import same_person
from payouts.db import unit_of_work
from payouts.errors import PayoutsError

router = APIRouter(prefix="/console", include_in_schema=False)

STATUSES = tuple(s.value for s in adjustments.Status)


def _status(value: str) -> adjustments.Status | None:
    return adjustments.Status(value) if value in STATUSES else None


def _list_page(
    request: Request,
    *,
    status: str = "",
    fields: dict[str, str] | None = None,
    error: str | None = None,
    code: int = 200,
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        found = adjustments.listed(session, status=_status(status))
    return render(
        request,
        "console/adjustments.html",
        status=code,
        active="adjustments",
        adjustments=found,
        statuses=STATUSES,
        wanted=status if status in STATUSES else "",
        fields=fields or {},
        error=error,
    )


@router.get("/adjustments")
def adjustment_list(
    request: Request,
    _: ConsoleUser,
    status: Annotated[str, Query(max_length=20)] = "",
    inquiry: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    partner: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    prefill = {"inquiry_id": str(inquiry) if inquiry else "", "partner_id": partner}
    return _list_page(request, status=status, fields=prefill)


def _optional_int(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise adjustments.AdjustmentRefused(f"{text!r} is not an inquiry number")
    return int(text)


@router.post("/adjustments")
async def propose(request: Request, user: ConsoleUser) -> Response:
    form = await form_of_session(request, user)
    fields = {
        k: str(form.get(k, ""))[:limit]
        for k, limit in (
            ("partner_id", 64),
            ("amount", 40),
            ("currency", 3),
            ("reason", adjustments.MAX_REASON + 1),
            ("inquiry_id", 20),
        )
    }
    try:
        with unit_of_work(engine_of(request)) as session:
            proposed = adjustments.propose(
                session,
                partner_id=fields["partner_id"].strip(),
                amount=fields["amount"],
                currency=fields["currency"],
                reason=fields["reason"],
                actor=user.actor,
                inquiry_id=_optional_int(fields["inquiry_id"]),
            )
    except PayoutsError as refused:
        return _list_page(request, fields=fields, error=refused.message, code=422)
    return RedirectResponse(f"/console/adjustments/{proposed.id}", status_code=303)


def _detail(
    request: Request, user: sign_in.Current, adjustment_id: int, *, error: str | None = None
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        try:
            found = adjustments.get(session, adjustment_id)
        except adjustments.AdjustmentNotFound:
            raise NotFound("no such adjustment") from None
    return render(
        request,
        "console/adjustment.html",
        status=403 if error else 200,
        active="adjustments",
        adjustment=found,
        may_decide=found.status is adjustments.Status.PENDING
        and not same_person(user.actor, found.proposed_by),
        error=error,
    )


@router.get("/adjustments/{adjustment_id}")
def adjustment_page(request: Request, adjustment_id: int, user: ConsoleUser) -> Response:
    return _detail(request, user, adjustment_id)


async def _decide(
    request: Request, user: sign_in.Current, adjustment_id: int, decision: adjustments.Decision
) -> Response:
    form = await form_of_session(request, user)
    reason = str(form.get("reason", ""))[: adjustments.MAX_REASON + 1]
    try:
        with unit_of_work(engine_of(request)) as session:
            adjustments.decide(session, adjustment_id, decision, actor=user.actor, reason=reason)
    except adjustments.AdjustmentNotFound:
        raise NotFound("no such adjustment") from None
    except PayoutsError as refused:
        return _detail(request, user, adjustment_id, error=refused.message)
    return RedirectResponse(f"/console/adjustments/{adjustment_id}", status_code=303)


@router.post("/adjustments/{adjustment_id}/approve")
async def approve(request: Request, adjustment_id: int, user: ConsoleUser) -> Response:
    return await _decide(request, user, adjustment_id, adjustments.Decision.APPROVED)


@router.post("/adjustments/{adjustment_id}/refuse")
async def refuse(request: Request, adjustment_id: int, user: ConsoleUser) -> Response:
    return await _decide(request, user, adjustment_id, adjustments.Decision.REFUSED)
