"""The HTTP API: `create_app()` assembles the routers, errors, limits and auth.

OpenAPI docs are served at `/docs` (and the schema at `/openapi.json`).
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors, web
from api.limits import (
    BAD_KEY_WINDOW_SECONDS,
    BAD_KEYS_PER_WINDOW,
    MAX_BODY_BYTES,
    BodySizeLimit,
    FailedAuthentications,
)
from api.principals import DEFAULT_KEY_DAYS
from api.routers import (
    adjustments,
    batches,
    facts,
    inquiries,
    journals,
    partners,
    plans,
    quotes,
    rep_credit,
)
from payouts import users
from payouts.db import default_engine

DESCRIPTION = f"""
Partner payouts: billing facts in; quotes, batches, statements and rep credit out.

**Authentication**: `Authorization: Bearer <API key>` (created with
`payouts keys create --role ROLE`; a key expires after {DEFAULT_KEY_DAYS} days unless
`--expires-days` says otherwise). Roles: `finance` (everything), `billing` (ingest
facts, quotes), `partner` (its own record, statements and tier), `sales_ops` (rep credit).
After {BAD_KEYS_PER_WINDOW} failed authentications from one address within
{BAD_KEY_WINDOW_SECONDS} s, that address is answered 429 with `Retry-After`.

**Caching**: every response carries `Cache-Control: no-store` and
`X-Content-Type-Options: nosniff`. Paths take no trailing slash (`/plans/` is 404).

**Errors** are RFC 9457 `application/problem+json` with a stable `type` per error,
and every validation error of a request at once in `errors`.

**Money** travels as decimal strings with a currency, never as JSON numbers.

**Idempotency**: every POST accepts an `Idempotency-Key` header.

**Limits**: request bodies up to {MAX_BODY_BYTES // (1024 * 1024)} MB; bulk ingestion up
to {facts.MAX_BULK} records; lists are paged (`limit` up to 500, `offset`).
"""


class Health(BaseModel):
    status: str


class SafeHeaders:
    """Adds `errors.SAFE_HEADERS` to every response (no caching, no sniffing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in errors.SAFE_HEADERS.items()]
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_safely(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in self.names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, send_safely)


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="partner-payouts",
        version="1",
        description=DESCRIPTION,
        # Starlette builds a trailing-slash redirect from the request's Host header, which
        # a client chooses: no redirect at all, `/plans/` is simply not found.
        redirect_slashes=False,
    )
    app.state.engine = engine or default_engine()
    app.state.failed_authentications = FailedAuthentications()
    # Made now, not on the first sign-in with an unknown address, which would take longer
    # than a wrong password and so tell that the address has no account.
    users.decoy_hash()
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    for module in (
        facts,
        quotes,
        plans,
        batches,
        journals,
        partners,
        rep_credit,
        inquiries,
        adjustments,
    ):
        app.include_router(module.router)
    web.install(app)  # the portal's pages, under /portal
    app.add_middleware(SafeHeaders)  # outermost: the 413 of the size limit gets them too

    @app.get("/health", response_model=Health, tags=["service"], summary="Liveness")
    def health() -> Health:
        return Health(status="ok")

    return app
