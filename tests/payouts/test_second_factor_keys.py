"""Migration 0027 seals the second-factor secrets already stored, and needs the keys
only when there are some; the downgrade opens them again."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from payouts import migrations, second_factor, sign_in
from payouts.base import utcnow
from payouts.db import make_engine, unit_of_work
from payouts.settings import get_settings
from payouts.users import WebUser
from tests.api.cli import payouts
from tests.conftest import owner_url_for


def _stored(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SELECT secret FROM second_factors")).scalar_one())


def _enrolled_before_0027(url: str, secret: str) -> int:
    """A finance user enrolled with a plain secret, as the schema before 0027 kept it."""
    migrations.upgrade(owner_url_for(url), "0026", service_url=url)
    owner = make_engine(owner_url_for(url))
    now = utcnow()
    try:
        with owner.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO web_users (email, role, created_by, created_at) "
                    "VALUES ('early@finance.example', 'finance', 'local:test', :now)"
                ),
                {"now": now},
            )
            user_id = int(connection.execute(text("SELECT id FROM web_users")).scalar_one())
            connection.execute(
                text(
                    "INSERT INTO second_factors (user_id, secret, created_at, confirmed_at) "
                    "VALUES (:u, :s, :now, :now)"
                ),
                {"u": user_id, "s": secret, "now": now},
            )
    finally:
        owner.dispose()
    return user_id


def test_the_migration_seals_the_stored_secrets_and_their_codes_still_pass(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plain = pyotp.random_base32()
    user_id = _enrolled_before_0027(fresh_url, plain)
    engine = make_engine(fresh_url)
    try:
        # Without keys the upgrade refuses in one line and leaves the schema as it was.
        monkeypatch.setenv("SECOND_FACTOR_KEYS", "")
        monkeypatch.setenv("SECOND_FACTOR_KEYS_FILE", str(tmp_path / "no-such.keys"))
        refused = payouts("db", "upgrade", database_url=fresh_url)
        assert refused.code == 1
        assert refused.err.count("\n") == 1
        assert "set SECOND_FACTOR_KEYS" in refused.err
        assert migrations.state(fresh_url).current == "0026"
        assert _stored(engine) == plain

        key = Fernet.generate_key().decode()
        monkeypatch.setenv("SECOND_FACTOR_KEYS", key)
        done = payouts("db", "upgrade", database_url=fresh_url)
        assert done.code == 0, done.err
        get_settings.cache_clear()
        sealed = _stored(engine)
        assert plain not in sealed
        assert Fernet(key).decrypt(sealed.encode()).decode() == plain

        # The database's guard is back: the service's role cannot swap the secret.
        with (
            pytest.raises(DBAPIError, match=r"second_factors|permission denied"),
            engine.begin() as connection,
        ):
            connection.execute(text("UPDATE second_factors SET secret = 'AAAAAAAAAAAAAAAA'"))
        # And the user's app, set up before 0027, still passes the second factor.
        with unit_of_work(engine) as session:
            user = session.get(WebUser, user_id)
            assert user is not None
            started = sign_in.start(session, user, "127.0.0.1")
            code = second_factor.current_code(plain)
            checked = second_factor.check(session, user_id, started.session.id, code)
        assert not checked.used_recovery_code

        owner = make_engine(owner_url_for(fresh_url))
        try:
            config = migrations.alembic_config()
            with owner.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, "0026")
        finally:
            owner.dispose()
        assert _stored(engine) == plain
    finally:
        engine.dispose()
        get_settings.cache_clear()


def test_a_database_without_second_factors_upgrades_without_keys(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECOND_FACTOR_KEYS", "")
    monkeypatch.setenv("SECOND_FACTOR_KEYS_FILE", str(tmp_path / "no-such.keys"))
    done = payouts("db", "upgrade", database_url=fresh_url)
    assert done.code == 0, done.err
    assert migrations.state(fresh_url).is_current
