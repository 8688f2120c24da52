"""Who acts: roles, principals and API keys, which are created, stored hashed and
checked here, for the HTTP API (`api.auth`) and the command line alike.

A token reads `ppk_<key id>_<secret>`. Only the SHA-256 of the secret is stored;
the key id finds the row and `hmac.compare_digest` compares the digests. The key's
identity, `key:<id>:<name>`, is the actor of everything done with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.orm import Session

from api.refusals import NotAuthenticated
from payouts import audit
from payouts.access import ApiKey
from payouts.base import utcnow
from payouts.errors import PayoutsError
from payouts.reference.models import Partner

TOKEN_PREFIX = "ppk"
DEFAULT_KEY_DAYS = 90
"""A key expires this many days after it is made unless told otherwise: a key that
leaked stops working on its own."""


class Role(StrEnum):
    FINANCE = "finance"
    BILLING = "billing"
    PARTNER = "partner"
    SALES_OPS = "sales_ops"


class KeyRefused(PayoutsError):
    """A key cannot be created or revoked as asked."""

    code = "api-key-refused"
    status = 422


class PrincipalKind(StrEnum):
    KEY = "key"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key, or a web user signed in (`kind`)."""

    key_id: str
    """The key's id; for a web user, the user's id."""
    name: str
    """The key's holder; for a web user, the e-mail address."""
    role: Role
    partner_id: str | None
    kind: PrincipalKind = PrincipalKind.KEY

    @property
    def actor(self) -> str:
        return f"{self.kind.value}:{self.key_id}:{self.name}"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    token: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    role: str,
    name: str,
    partner_id: str | None = None,
    expires_days: int = DEFAULT_KEY_DAYS,
    actor: str,
) -> CreatedKey:
    """Store a new key and return it with its token (the only time the token exists)."""
    try:
        parsed = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise KeyRefused(f"unknown role {role!r}; roles: {roles}") from None
    if parsed is Role.PARTNER and not partner_id:
        raise KeyRefused("a partner key needs the partner it speaks for (--partner)")
    if parsed is not Role.PARTNER and partner_id:
        raise KeyRefused(f"a {parsed.value} key speaks for no partner; omit --partner")
    if partner_id and session.get(Partner, partner_id) is None:
        raise KeyRefused(f"no partner {partner_id!r}")
    if expires_days <= 0:
        raise KeyRefused("--expires-days must be positive")
    if not name.strip() or ":" in name:
        raise KeyRefused("a key name must be non-empty and contain no ':'")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    key = ApiKey(
        id=key_id,
        name=name.strip(),
        role=parsed.value,
        partner_id=partner_id,
        secret_hash=digest(secret),
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=expires_days),
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_key.create",
        subject_type="api_key",
        subject_id=key_id,
        after={"name": key.name, "role": key.role, "partner_id": partner_id},
    )
    return CreatedKey(key, f"{TOKEN_PREFIX}_{key_id}_{secret}")


def revoke_key(session: Session, key_id: str, *, actor: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise KeyRefused(f"no API key {key_id!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="api_key.revoke",
            subject_type="api_key",
            subject_id=key_id,
        )
    return key


def _parse(token: str) -> tuple[str, str] | None:
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


_KEYS = cast(Table, ApiKey.__table__)
_KEY_BY_ID = select(
    _KEYS.c.id,
    _KEYS.c.name,
    _KEYS.c.role,
    _KEYS.c.partner_id,
    _KEYS.c.secret_hash,
    _KEYS.c.expires_at,
    _KEYS.c.revoked_at,
).where(_KEYS.c.id == bindparam("key_id"))


def principal_for(db: Connection | Session, token: str) -> Principal:
    """The key a token belongs to, if it is known, unexpired and not revoked."""
    parsed = _parse(token)
    if parsed is None:
        raise NotAuthenticated("the API key is malformed")
    key_id, secret = parsed
    key = None
    if len(key_id) <= 32:
        # The columns as a plain row: a request needs no ORM object for its key.
        key = db.execute(_KEY_BY_ID, {"key_id": key_id}).first()
    # Compare even when the key is unknown, so timing does not tell which ids exist.
    stored = key.secret_hash if key is not None else digest("")
    if not hmac.compare_digest(stored, digest(secret)) or key is None:
        raise NotAuthenticated("the API key is not valid")
    if key.revoked_at is not None:
        raise NotAuthenticated("the API key has been revoked")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise NotAuthenticated("the API key has expired")
    return Principal(key.id, key.name, Role(key.role), key.partner_id)
