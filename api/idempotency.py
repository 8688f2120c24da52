"""Every POST runs here: one transaction, and the `Idempotency-Key` contract.

- Without a key, the work runs in one transaction that commits before the response.
- With a key (scoped to the calling API key), the key's row is written first in the
  same transaction as the work, under a unique index. A second request with the key
  either finds the stored outcome (and gets the same status and body back, with
  `Idempotent-Replayed: true`) or, while the first is still running, waits on the
  index until it commits (PostgreSQL) or on the write lock (SQLite), then reads it.
  So concurrent requests with one key have one effect.
- The same key with another request (method, path, query or body) is a 409 problem.
- Only successes are stored: a request that fails changes nothing, so it may be
  retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import engine_of
from api.principals import Principal
from api.refusals import IdempotencyKeyReused
from payouts.access import IdempotencyRecord
from payouts.db import unit_of_work

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a write answers: a status and the exact bytes of the body."""

    status: int
    content: bytes
    media_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, model: BaseModel, status: int = 200) -> Outcome:
        return cls(status, model.model_dump_json().encode())

    def response(self, replayed: bool = False) -> Response:
        headers = dict(self.headers)
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(self.content, self.status, headers=headers, media_type=self.media_type)


class _KeyTaken(Exception):
    """Another request stored the key first; read its outcome."""


def _canonical_body(body: bytes) -> bytes:
    """JSON bodies compare by content (key order and spacing do not matter)."""
    try:
        parsed = json.loads(body, parse_float=str, parse_int=str)
    except (ValueError, UnicodeDecodeError):
        return body
    return json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Idempotency:
    engine: Engine
    key: str | None
    request_hash: str

    def run(self, principal: Principal, work: Callable[[Session], Outcome]) -> Response:
        if self.key is None:
            with unit_of_work(self.engine) as session:
                outcome = work(session)
            return outcome.response()
        for _ in range(5):
            try:
                return self._once(principal, work)
            except _KeyTaken:
                continue
        raise IdempotencyKeyReused(  # pragma: no cover - needs five lost races in a row
            "this Idempotency-Key is in use by a request that keeps failing; try another key"
        )

    def _once(self, principal: Principal, work: Callable[[Session], Outcome]) -> Response:
        with unit_of_work(self.engine) as session:
            stored = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.api_key_id == principal.key_id,
                    IdempotencyRecord.idempotency_key == self.key,
                )
            ).first()
            if stored is not None:
                if stored.request_hash != self.request_hash:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was used with a different request; "
                        "use a new key for a new request"
                    )
                replay = Outcome(
                    stored.status_code, stored.response_body.encode(), stored.media_type
                )
                return replay.response(replayed=True)
            record = IdempotencyRecord(
                api_key_id=principal.key_id,
                idempotency_key=self.key,
                request_hash=self.request_hash,
                status_code=0,
                media_type=JSON,
                response_body="",
            )
            session.add(record)
            try:
                session.flush()
            except IntegrityError:
                raise _KeyTaken from None
            outcome = work(session)
            record.status_code = outcome.status
            record.media_type = outcome.media_type
            record.response_body = outcome.content.decode()
            session.flush()
        return outcome.response()


async def idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Repeat a request safely: the same key and body return the stored "
            "result; the same key with another body is a 409.",
        ),
    ] = None,
) -> Idempotency:
    if idempotency_key is None:
        # Only a stored key is ever compared with a request's hash.
        return Idempotency(engine_of(request), None, "")
    body = await request.body()
    hasher = hashlib.sha256()
    for part in (request.method, request.url.path, str(request.url.query)):
        hasher.update(part.encode() + b"\n")
    hasher.update(_canonical_body(body))
    return Idempotency(engine_of(request), idempotency_key, hasher.hexdigest())


Idem = Annotated[Idempotency, Depends(idempotency)]
