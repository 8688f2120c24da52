"""The portal on a real database: a small demo program closed, users, and browsers.

`demo_portal` runs `payouts demo` (a few partners, a few closed months, its partner
and finance users) on a scratch database of the active backend, then serves the app
on it. A `Browser` is one cookie jar talking to the app through HTTP, from a client
address of its own (sign-in throttling counts per address), that reads and posts
forms as a person's browser would, CSRF token included.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.commands.demo import DEMO_FINANCE_EMAIL, DEMO_PARTNER_EMAIL, DEMO_PASSWORD
from payouts import users
from payouts.db import make_engine, unit_of_work
from tests.api.cli import payouts
from tests.conftest import copy_of, owner_url_for

PERIOD = "2026-03"
PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class DemoPortal:
    url: str
    engine: Engine
    partner: str
    """The demo partner user's partner (a tiered one)."""
    other: str
    """Another partner with a statement for PERIOD."""
    finance_key: str

    def browser(self, address: str | None = None, *, https: bool = False) -> Browser:
        client = TestClient(
            create_app(self.engine),
            base_url="https://testserver" if https else "http://testserver",
            raise_server_exceptions=False,
            client=(address or f"10.0.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}", 4000),
            follow_redirects=False,
        )
        return Browser(client)

    def invite(self, email: str, role: str = "partner", partner: str | None = None) -> str:
        """A new user as the owner makes one: the secret of its invitation link."""
        owner = make_engine(owner_url_for(self.url))
        try:
            with unit_of_work(owner) as session:
                link = users.invite(
                    session, email=email, role=role, partner_id=partner, actor="local:test"
                )
        finally:
            owner.dispose()
        return link.secret

    def user(self, email: str, partner: str | None, role: str = "partner") -> Browser:
        """A signed-in browser of a new user with PASSWORD."""
        browser = self.browser()
        secret = self.invite(email, role, partner)
        set_done = browser.submit(
            f"/portal/password/{secret}", {"password": PASSWORD, "confirmation": PASSWORD}
        )
        assert set_done.status_code == 303, set_done.text
        signed = browser.sign_in(email, PASSWORD)
        assert signed.status_code == 303, signed.text
        return browser

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()


@dataclass
class Browser:
    client: TestClient

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.client.get(path, **kwargs)

    def token(self, page: str) -> str:
        found = _TOKEN.search(self.get(page).text)
        assert found is not None, f"no form on {page}"
        return found.group(1)

    def submit(
        self,
        path: str,
        fields: dict[str, str],
        *,
        page: str | None = None,
        token: str | None = None,
    ) -> httpx2.Response:
        """Post a form as it stands on `page` (default: the form's own address)."""
        csrf = token if token is not None else self.token(page or path)
        return self.client.post(path, data={"csrf_token": csrf, **fields})

    def sign_in(self, email: str, password: str, next_path: str = "/portal") -> httpx2.Response:
        return self.submit(
            "/portal/sign-in", {"email": email, "password": password, "next": next_path}
        )

    def plant_session(self, secret: str) -> None:
        """Carry a session cookie this browser did not get itself."""
        self.client.cookies.set("pp_session", secret, domain="testserver.local", path="/")

    @property
    def session_cookie(self) -> str | None:
        return self.client.cookies.get("pp_session")


def _sqlite_triggers(connection: Any, table: str) -> list[str]:
    return list(
        connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table},
        ).scalars()
    )


@contextmanager
def without_trigger(portal: DemoPortal, table: str) -> Iterator[Session]:
    """A unit of work as the owner with `table`'s triggers lifted, then put back: for a
    test that must fake the passing of time on a table that refuses changes."""
    owner = make_engine(owner_url_for(portal.url))
    postgres = owner.dialect.name == "postgresql"
    try:
        with unit_of_work(owner) as session:
            kept: list[str] = []
            if postgres:
                session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                kept = _sqlite_triggers(session.connection(), table)
                for name in session.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                    {"t": table},
                ).scalars():
                    session.execute(text(f'DROP TRIGGER "{name}"'))
            yield session
            session.flush()
            if postgres:
                session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            for sql in kept:
                session.execute(text(sql))
    finally:
        owner.dispose()


_DEMO: dict[str, str] = {}
"""What the demo program's template was built with: its partner user's partner and a
finance key (the token is shown once, when it is made)."""


def _demo_program(url: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        made = payouts(
            "demo", "--partners", "16", "--months", "3", "--seed", "7", "--workers", "1",
            "--out", str(Path(directory) / "demo"), database_url=url,
        )  # fmt: skip
    assert made.code == 0, made.err
    partner = re.search(r"partner (\S+)\) with the password", made.out)
    assert partner is not None, made.out
    key = payouts("keys", "create", "--role", "finance", "--name", "fiona", database_url=url)
    assert key.code == 0, key.err
    _DEMO.update(partner=partner.group(1), key=key.out.strip().splitlines()[-1])


@contextmanager
def demo_portal(directory: Path) -> Iterator[DemoPortal]:
    """A copy of the demo program (run once a session: `copy_of`), dropped afterwards."""
    with copy_of("demo_portal", _demo_program, directory) as url:
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                other = connection.execute(
                    text(
                        "SELECT partner_id FROM issued_statements WHERE period = :p "
                        "AND partner_id <> :mine ORDER BY partner_id LIMIT 1"
                    ),
                    {"p": PERIOD, "mine": _DEMO["partner"]},
                ).scalar_one()
            yield DemoPortal(url, engine, _DEMO["partner"], other, _DEMO["key"])
        finally:
            engine.dispose()


__all__ = [
    "DEMO_FINANCE_EMAIL",
    "DEMO_PARTNER_EMAIL",
    "DEMO_PASSWORD",
    "PASSWORD",
    "PERIOD",
    "Browser",
    "DemoPortal",
    "demo_portal",
    "without_trigger",
]
