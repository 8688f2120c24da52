"""The HTTP API: `create_app()` assembles the routers, errors, limits and auth.

OpenAPI docs are served at `/docs` (and the schema at `/openapi.json`).
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine

from api import errors
from api.limits import MAX_BODY_BYTES, BodySizeLimit
from api.routers import batches, facts, partners, plans, quotes, rep_credit
from payouts.db import default_engine

DESCRIPTION = f"""
Partner payouts: billing facts in; quotes, batches, statements and rep credit out.

**Authentication**: `Authorization: Bearer <API key>` (created with
`payouts keys create --role ROLE`). Roles: `finance` (everything), `billing` (ingest
facts, quotes), `partner` (its own record, statements and tier), `sales_ops` (rep credit).

**Errors** are RFC 9457 `application/problem+json` with a stable `type` per error,
and every validation error of a request at once in `errors`.

**Money** travels as decimal strings with a currency, never as JSON numbers.

**Idempotency**: every POST accepts an `Idempotency-Key` header.

**Limits**: request bodies up to {MAX_BODY_BYTES // (1024 * 1024)} MB; bulk ingestion up
to {facts.MAX_BULK} records; lists are paged (`limit` up to 500, `offset`).
"""


class Health(BaseModel):
    status: str


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="partner-payouts",
        version="1",
        description=DESCRIPTION,
    )
    app.state.engine = engine or default_engine()
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    for module in (facts, quotes, plans, batches, partners, rep_credit):
        app.include_router(module.router)

    @app.get("/health", response_model=Health, tags=["service"], summary="Liveness")
    def health() -> Health:
        return Health(status="ok")

    return app
