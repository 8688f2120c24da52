"""The request's database session: one unit of work on the app's engine.

The session ends (commit, or rollback on an error) when the endpoint function
returns, before the response is sent, so a failed commit is never reported as a
success. Writes go through `api.idempotency.Idempotency.run`, which owns its own
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import engine_of
from payouts.db import unit_of_work


def session(request: Request) -> Iterator[Session]:
    with unit_of_work(engine_of(request)) as db:
        yield db


DbSession = Annotated[Session, Depends(session, scope="function")]
