"""The console's inquiries queue: partners' questions with their status and age; reply,
resolve with "no change" and why, or resolve with an adjustment.

A resolution with an adjustment is the adjustment form, filled with the inquiry and
its partner: once another person approves the adjustment, the inquiry is resolved
with it (`payouts.adjustments`) and the partner reads the outcome in the portal.
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
from payouts import adjustments, inquiries, sign_in
from payouts.base import utcnow
from payouts.db import unit_of_work

router = APIRouter(prefix="/console", include_in_schema=False)

STATUSES = tuple(s.value for s in inquiries.Status)


@router.get("/inquiries")
def queue(
    request: Request, _: ConsoleUser, status: Annotated[str, Query(max_length=20)] = "open"
) -> Response:
    wanted = inquiries.Status(status) if status in STATUSES else None
    with unit_of_work(engine_of(request), read_only=True) as session:
        found = inquiries.threads(session, status=wanted)
    now = utcnow()
    return render(
        request,
        "console/inquiries.html",
        active="inquiries",
        threads=[(t, (now - t.raised_at).days) for t in found],
        statuses=STATUSES,
        wanted=status if wanted else "",
    )


def _page(
    request: Request, inquiry_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        try:
            found = inquiries.thread(session, inquiry_id)
        except inquiries.InquiryNotFound:
            raise NotFound("no such inquiry") from None
        linked = adjustments.listed(session, inquiry_id=inquiry_id)
    return render(
        request,
        "console/inquiry.html",
        status=status,
        active="inquiries",
        thread=found,
        age=(utcnow() - found.raised_at).days,
        linked=linked,
        error=error,
    )


@router.get("/inquiries/{inquiry_id}")
def inquiry_page(request: Request, inquiry_id: int, _: ConsoleUser) -> Response:
    return _page(request, inquiry_id)


async def _answer(
    request: Request, user: sign_in.Current, inquiry_id: int, *, resolve: bool
) -> Response:
    form = await form_of_session(request, user)
    message = str(form.get("message", ""))[: inquiries.MAX_MESSAGE + 1]
    try:
        with unit_of_work(engine_of(request)) as session:
            if resolve:
                body = f"No change: {message.strip()}" if message.strip() else ""
                inquiries.resolve(session, inquiry_id, body, actor=user.actor)
            else:
                inquiries.reply(
                    session, inquiry_id, message, actor=user.actor, side=inquiries.Side.FINANCE
                )
    except inquiries.InquiryNotFound:
        raise NotFound("no such inquiry") from None
    except inquiries.InquiryRefused as refused:
        return _page(request, inquiry_id, error=refused.message, status=422)
    return RedirectResponse(f"/console/inquiries/{inquiry_id}", status_code=303)


@router.post("/inquiries/{inquiry_id}/reply")
async def reply(request: Request, inquiry_id: int, user: ConsoleUser) -> Response:
    return await _answer(request, user, inquiry_id, resolve=False)


@router.post("/inquiries/{inquiry_id}/resolve")
async def resolve(request: Request, inquiry_id: int, user: ConsoleUser) -> Response:
    return await _answer(request, user, inquiry_id, resolve=True)
