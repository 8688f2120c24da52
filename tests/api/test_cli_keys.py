"""`payouts keys create` prints a token once; it works until `payouts keys revoke`."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from payouts.db import make_engine
from tests.api.cli import payouts


def test_a_key_made_on_the_command_line_opens_the_api_until_it_is_revoked(
    migrated_url: str,
) -> None:
    made = payouts(
        "keys", "create", "--role", "finance", "--name", "alice", database_url=migrated_url
    )
    assert made.code == 0, made.err
    header, token = made.out.strip().splitlines()
    key_id = header.split()[1]
    assert token.startswith(f"ppk_{key_id}_")

    refused = payouts(
        "keys", "create", "--role", "partner", "--name", "acme", database_url=migrated_url
    )
    assert refused.code == 1
    assert "a partner key needs the partner" in refused.err

    engine = make_engine(migrated_url)
    try:
        client = TestClient(create_app(engine))
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/plans", headers=auth).status_code == 200
        assert payouts("keys", "revoke", key_id, database_url=migrated_url).code == 0
        assert client.get("/plans", headers=auth).status_code == 401
    finally:
        engine.dispose()
