"""Helpers for API tests: a migrated scratch database, the app on it, and keys.

Requests go through HTTP against the ASGI app (Starlette's TestClient, on httpx2),
and every request commits for real, so these tests use their own databases rather
than the rolled-back session of the other suites.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.principals import create_key
from payouts.db import make_engine, unit_of_work
from tests.conftest import (
    ON_POSTGRES,
    create_database,
    discard_database,
    migrated_copy,
    owner_url_for,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "plans" / "examples"


@contextmanager
def scratch_url(directory: Path, *, migrated: bool = False) -> Iterator[str]:
    """An empty database of the active backend (or, `migrated`, one at the newest
    schema: a copy of one migrated once a session), dropped afterwards."""
    if migrated:
        with migrated_copy(directory) as url:
            yield url
        return
    if not ON_POSTGRES:
        yield f"sqlite:///{directory / f'api-{uuid.uuid4().hex[:8]}.db'}"
        return
    name, url = create_database("api")
    try:
        yield url
    finally:
        discard_database(name)


@dataclass
class Api:
    """The app on a migrated database, with a client per key."""

    engine: Engine
    client: TestClient
    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def as_owner(self) -> Iterator[Session]:
        """A unit of work as the schema owner, who administers keys (`payouts keys`)."""
        owner = make_engine(owner_url_for(self.url))
        try:
            with unit_of_work(owner) as session:
                yield session
        finally:
            owner.dispose()

    def key(self, label: str, role: str, partner_id: str | None = None) -> str:
        with self.as_owner() as session:
            created = create_key(
                session, role=role, name=label, partner_id=partner_id, actor="test"
            )
        self.tokens[label] = created.token
        self.key_ids[label] = created.key.id
        return created.token

    def headers(self, label: str | None, **extra: str) -> dict[str, str]:
        out = dict(extra)
        if label is not None:
            out["Authorization"] = f"Bearer {self.tokens[label]}"
        return out

    def request(self, label: str | None, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        headers = {**self.headers(label), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, label: str | None, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request(label, "GET", path, **kwargs)

    def post(self, label: str | None, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request(label, "POST", path, **kwargs)

    def ok(self, label: str | None, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(label, method, path, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()


@contextmanager
def running_api(directory: Path) -> Iterator[Api]:
    with scratch_url(directory, migrated=True) as url:
        engine = make_engine(url)
        try:
            with TestClient(create_app(engine), raise_server_exceptions=False) as client:
                yield Api(engine, client, url)
        finally:
            engine.dispose()


def seed_program(api: Api, as_key: str) -> None:
    """Reference data and a January deal through the API: customers, a rep, partners."""
    api.ok(
        as_key,
        "POST",
        "/facts/customers/bulk",
        json=[{"id": "C-1", "name": "Customer One"}, {"id": "C-2", "name": "Customer Two"}],
    )
    api.ok(as_key, "POST", "/facts/reps", json={"id": "R-1", "name": "Rita", "currency": "USD"})
