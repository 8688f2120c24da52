"""The keys that seal second-factor (TOTP) secrets at rest.

A TOTP secret is what a finance user's authenticator app shares with us: whoever
reads it makes that user's codes. The database keeps each one sealed with Fernet
(the `cryptography` library: AES-128-CBC with an HMAC-SHA256 over a timestamped
token) under keys the database never holds, so a copy of the database, a backup or a
role that may only read no longer gives the second factors away.

The keys are `SECOND_FACTOR_KEYS`: one or more Fernet keys separated by commas; the
first seals every new secret, each of them opens (cryptography's MultiFernet). To
rotate: put a new key first and keep the old ones after it; restart the service; run
`payouts users reseal-second-factors` (the schema owner's: it seals every stored
secret under the first key); then drop the old keys. `payouts users
new-second-factor-key` prints a new key. The keys are never printed or logged, and a
refusal never shows them.

Without the variable the keys are read from `SECOND_FACTOR_KEYS_FILE` (default
`var/second-factor.keys`), which `payouts demo` writes with a new key when there is
neither (the demo's key, as the demo's password is the demo's). Anything that needs a
secret without keys refuses with one line (`SecondFactorKeysMissing`); a database
with no second factors needs no keys at all.

The database keeps an enrolled secret as it is (its triggers refuse another): sealing
the stored secrets again, at the migration that sealed them (0027) and at a rotation,
is the schema owner's, who lifts that guard for its own transaction only
(`reseal_all`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, text

from payouts.errors import PayoutsError
from payouts.settings import get_settings

GUARD = "second_factors_enrolled"
"""The trigger that keeps an enrolled secret as it is (migrations 0018 and 0021)."""


class SecondFactorKeysMissing(PayoutsError):
    code = "second-factor-keys-missing"
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "second factors need the keys that seal their secrets: set SECOND_FACTOR_KEYS "
            "(`payouts users new-second-factor-key` makes one)"
        )


class SecondFactorKeysInvalid(PayoutsError):
    code = "second-factor-keys-invalid"
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "SECOND_FACTOR_KEYS is not a list of Fernet keys separated by commas (each 32 "
            "bytes in URL-safe base64: `payouts users new-second-factor-key` makes one)"
        )


class SealedSecretUnreadable(PayoutsError):
    """A stored secret that none of the keys opens (a key dropped too early, or a
    secret not sealed by us)."""

    code = "second-factor-secret-unreadable"
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "a second factor's stored secret opens with none of SECOND_FACTOR_KEYS: keep "
            "the old key after the new one until `payouts users reseal-second-factors` ran"
        )


def _key_text() -> str:
    settings = get_settings()
    configured = settings.second_factor_keys.get_secret_value().strip()
    if configured:
        return configured
    path = Path(settings.second_factor_keys_file)
    if path.is_file():
        return path.read_text(encoding="ascii").strip()
    raise SecondFactorKeysMissing()


def keys() -> MultiFernet:
    """The configured keys, the first sealing and every one opening."""
    listed = [key.strip() for key in _key_text().split(",") if key.strip()]
    try:
        return MultiFernet([Fernet(key) for key in listed])
    except (ValueError, TypeError):  # a malformed key, or none at all
        raise SecondFactorKeysInvalid() from None


def seal(secret: str) -> str:
    """`secret` sealed under the first key (a Fernet token, ASCII)."""
    return keys().encrypt(secret.encode()).decode("ascii")


def unseal(sealed: str) -> str:
    """The secret a stored token seals, opened with whichever key sealed it."""
    try:
        return keys().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise SealedSecretUnreadable() from None


def resealed(sealed: str) -> str:
    """The same secret sealed under the first key (a rotation's step)."""
    try:
        return keys().rotate(sealed.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise SealedSecretUnreadable() from None


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def keep_demo_key() -> Path | None:
    """Write a new key to `SECOND_FACTOR_KEYS_FILE` when no key is configured at all
    (the demo's); the file's path if one was written, None if keys were there."""
    settings = get_settings()
    path = Path(settings.second_factor_keys_file)
    if settings.second_factor_keys.get_secret_value().strip() or path.is_file():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(new_key() + "\n")
    return path


def reseal_all(connection: Connection, change: Callable[[str], str]) -> int:
    """Store every second factor's secret as `change` makes it (`seal` a plain one,
    `resealed` under a new first key, `unseal` at a downgrade); how many there were.

    The schema owner's, in its transaction: the database's guard on enrolled secrets is
    lifted for this transaction only and put back before it commits (a failure rolls
    the lifting back with everything else)."""
    rows = connection.execute(
        text("SELECT user_id, secret FROM second_factors ORDER BY user_id")
    ).all()
    if not rows:
        return 0
    changed = [{"u": user_id, "s": change(secret)} for user_id, secret in rows]
    with _guard_lifted(connection):
        connection.execute(
            text("UPDATE second_factors SET secret = :s WHERE user_id = :u"), changed
        )
    return len(rows)


@contextmanager
def _guard_lifted(connection: Connection) -> Iterator[None]:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"ALTER TABLE second_factors DISABLE TRIGGER {GUARD}"))
        yield
        connection.execute(text(f"ALTER TABLE second_factors ENABLE TRIGGER {GUARD}"))
        return
    kept = connection.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"), {"n": GUARD}
    ).scalar_one()
    connection.execute(text(f"DROP TRIGGER {GUARD}"))
    yield
    connection.execute(text(kept))
