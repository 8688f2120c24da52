"""Fact ingestion: `POST /facts/{kind}` (one record) and `/facts/{kind}/bulk` (a list).

The records go to the same `ingest` service as the CSV import, so validation,
idempotency by content and all-or-nothing writes are identical: every refused record
is reported (index from 1, id, path and message) and nothing of the request is
written. The documented request schemas are the record models themselves: amounts and
FX rates are decimal strings with a pattern, never JSON numbers. `?amend=true` (finance
only) applies changed content of amendable kinds, FX rates among them, as recorded
amendments.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel

from api.auth import Billing
from api.errors import problem_responses
from api.idempotency import Idem, Outcome
from api.principals import Principal, Role
from api.refusals import Forbidden
from payouts.facts.ingest import KINDS, IngestResult, ingest

MAX_BULK = 1000

router = APIRouter(prefix="/facts", tags=["facts"])


class IngestOut(BaseModel):
    kind: str
    inserted: list[str]
    unchanged: list[str]
    amended: list[str]

    @classmethod
    def of(cls, result: IngestResult) -> IngestOut:
        return cls(
            kind=result.kind,
            inserted=result.inserted,
            unchanged=result.unchanged,
            amended=result.amended,
        )


def _run(idem: Idem, principal: Principal, kind: str, records: list[Any], amend: bool) -> Response:
    if amend and principal.role is not Role.FINANCE:
        raise Forbidden("only a finance key may amend stored facts")

    def work(session: Any) -> Outcome:
        result = ingest(session, kind, records, actor=principal.actor, amend=amend)
        return Outcome.of(IngestOut.of(result), 201 if result.inserted else 200)

    return idem.run(principal, work)


Amend = Annotated[
    bool, Query(description="Apply changed content as recorded amendments (finance only).")
]
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestOut, "description": "Nothing new: every record was already stored"},
    201: {"model": IngestOut, "description": "At least one record was stored"},
    **problem_responses(401, 403, 409, 413, 422),
}


def _add_routes(kind: str) -> None:
    # The record models document amounts and rates as the decimal strings they are.
    schema = KINDS[kind].record.model_json_schema()
    one = {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
    many = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": schema,
                        "minItems": 1,
                        "maxItems": MAX_BULK,
                    }
                }
            },
        }
    }

    def single(
        principal: Billing,
        idem: Idem,
        record: Annotated[dict[str, Any], Body()],
        amend: Amend = False,
    ) -> Response:
        return _run(idem, principal, kind, [record], amend)

    def bulk(
        principal: Billing,
        idem: Idem,
        records: Annotated[list[Any], Body(min_length=1, max_length=MAX_BULK)],
        amend: Amend = False,
    ) -> Response:
        return _run(idem, principal, kind, records, amend)

    router.add_api_route(
        f"/{kind}",
        single,
        methods=["POST"],
        status_code=201,
        response_model=IngestOut,
        responses=RESPONSES,
        openapi_extra=one,
        operation_id=f"ingest_{kind}",
        summary=f"Ingest one {kind} record",
    )
    router.add_api_route(
        f"/{kind}/bulk",
        bulk,
        methods=["POST"],
        status_code=201,
        response_model=IngestOut,
        responses=RESPONSES,
        openapi_extra=many,
        operation_id=f"ingest_{kind}_bulk",
        summary=f"Ingest up to {MAX_BULK} {kind} records, all or nothing",
    )


for _kind in KINDS:
    _add_routes(_kind)
