"""What every HTTP answer promises beyond its body: throttled key guessing, no caching of
money, no sniffing, no redirect built from a hostile Host header, keys that expire."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.limits import BAD_KEY_WINDOW_SECONDS, BAD_KEYS_PER_WINDOW, MAX_BODY_BYTES
from api.principals import DEFAULT_KEY_DAYS, create_key
from payouts.access import ApiKey
from payouts.db import make_engine, unit_of_work
from tests.api.cli import payouts
from tests.api.support import Api, running_api
from tests.statements.months import PARTNER, PERIOD, closed_referral_month

PROBLEMS = "https://partner-payouts.dev/problems/"
BAD = {"Authorization": "Bearer ppk_0123456789abcdef_not-the-secret"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path) as api:
        api.key("finance", "finance")
        yield api


class StatementCounter:
    """Counts the SQL statements an engine runs (an observer, not a stand-in)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


def test_repeated_bad_keys_from_one_address_are_throttled_without_touching_the_database(
    api: Api,
) -> None:
    answers = [api.client.get("/plans", headers=BAD) for _ in range(BAD_KEYS_PER_WINDOW)]
    assert {r.status_code for r in answers} == {401}

    counter = StatementCounter()
    event.listen(api.engine, "before_cursor_execute", counter)
    try:
        throttled = [api.client.get("/plans", headers=BAD) for _ in range(50)]
        good_key_same_address = api.get("finance", "/plans")
    finally:
        event.remove(api.engine, "before_cursor_execute", counter)
    assert {r.status_code for r in throttled} == {429}
    assert good_key_same_address.status_code == 429  # the address is held, whatever it sends
    assert counter.count == 0
    refused = throttled[0]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == PROBLEMS + "too-many-failed-authentications"
    retry_after = int(refused.headers["retry-after"])
    assert 0 < retry_after <= BAD_KEY_WINDOW_SECONDS

    # Another address is not held back by this one's guesses.
    other = TestClient(api.client.app, client=("198.51.100.7", 40000))
    assert other.get("/plans", headers=api.headers("finance")).status_code == 200
    assert other.get("/plans", headers=BAD).status_code == 401


def test_a_malformed_key_counts_as_a_bad_key_and_no_key_at_all_does_not(api: Api) -> None:
    for _ in range(3 * BAD_KEYS_PER_WINDOW):
        assert api.client.get("/plans").status_code == 401  # not a guess: never held
    for _ in range(BAD_KEYS_PER_WINDOW):
        malformed = {"Authorization": "Bearer nonsense"}
        assert api.client.get("/plans", headers=malformed).status_code == 401
    assert api.client.get("/plans", headers=BAD).status_code == 429


def test_every_response_says_nosniff_and_none_may_be_stored(api: Api) -> None:
    with unit_of_work(api.engine) as session:
        closed_referral_month(session)

    def broken() -> None:
        raise RuntimeError("a bug")

    api.client.app.add_api_route("/broken", broken)  # type: ignore[attr-defined]
    too_large = b"x" * (MAX_BODY_BYTES + 1)
    statement = f"/partners/{PARTNER}/statements/{PERIOD}"
    responses: dict[str, httpx2.Response] = {
        "health": api.client.get("/health"),
        "not found": api.client.get("/nowhere"),
        "no key": api.client.get("/plans"),
        "unexpected error": api.client.get("/broken"),
        "body too large": api.post("finance", "/facts/customers", content=too_large),
        "plans": api.get("finance", "/plans"),
        "statement json": api.get("finance", statement),
        "statement pdf": api.get("finance", f"{statement}/pdf"),
        "statement csv": api.get("finance", f"{statement}/csv"),
        "payout file": api.get("finance", f"/batches/{PERIOD}/export", params={"format": "csv"}),
    }
    for name, response in responses.items():
        assert response.headers.get("x-content-type-options") == "nosniff", name
        assert response.headers.get("cache-control") == "no-store", name
    assert responses["statement pdf"].status_code == 200
    assert responses["unexpected error"].status_code == 500
    assert responses["body too large"].status_code == 413
    assert responses["payout file"].status_code == 200


def test_a_trailing_slash_never_sends_the_client_to_the_host_it_named(api: Api) -> None:
    for path in ("/plans/", "/partners/", f"/partners/{PARTNER}/"):
        response = api.get(
            "finance", path, headers={"Host": "evil.example"}, follow_redirects=False
        )
        assert "evil.example" not in response.headers.get("location", ""), path
        assert response.status_code == 404, (path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"


def test_a_new_key_expires_after_the_default_days(api: Api, migrated_url: str) -> None:
    assert DEFAULT_KEY_DAYS == 90
    with api.as_owner() as session:
        made = create_key(session, role="billing", name="billing", actor="test")
        key = made.key
        assert key.expires_at is not None
        assert key.expires_at - key.created_at == timedelta(days=DEFAULT_KEY_DAYS)

    created = payouts(
        "keys", "create", "--role", "finance", "--name", "alice", database_url=migrated_url
    )
    assert created.code == 0, created.err
    key_id = created.out.split()[1]
    engine = make_engine(migrated_url)
    try:
        with unit_of_work(engine) as session:
            stored = session.get(ApiKey, key_id)
            assert stored is not None
            assert stored.expires_at is not None
            assert stored.expires_at - stored.created_at == timedelta(days=DEFAULT_KEY_DAYS)
    finally:
        engine.dispose()
