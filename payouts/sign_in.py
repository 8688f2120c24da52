"""Signing in with an e-mail address and a password, and the sessions that follow.

Throttling, per account and per client address alike: after `LOCK_FAILURES` failed
sign-ins within `LOCK_MINUTES`, the account (or the address) is locked for
`LOCK_MINUTES`: every attempt is refused without looking at the password. An
account's count starts again after a successful sign-in; an address's does not (one
success between guesses at many accounts must not reset it). The account is the
address typed, known or not, so a lock tells nothing about which accounts exist; an
unknown address and a wrong password get the same answer in the same time.

Every attempt is a row of `sign_in_attempts` (append-only), and every sign-in,
failure and lock is in the audit log. Attempts on one account or from one address
queue behind each other (an advisory lock on PostgreSQL; SQLite's single writer), so
twenty guesses sent at once still meet the lock after the tenth. The password in use
typed again to change it (`confirm_password`) is an attempt like any other: a session
left open is no faster a way to guess it.

A session is made at every sign-in (the cookie's secret is new; only its SHA-256 is
stored) and ends at sign-out, after `IDLE_MINUTES` without a request, or
`MAX_HOURS` after it began.
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Connection,
    ForeignKey,
    Index,
    String,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit
from payouts.base import Base, BigId, utcnow
from payouts.errors import PayoutsError
from payouts.users import UserRole, WebSession, WebUser, by_email, digest, password_matches

LOCK_FAILURES = 10
LOCK_MINUTES = 15
IDLE_MINUTES = 30
MAX_HOURS = 12
TOUCH_SECONDS = 60
"""A session's last request is written at most this often, not on every page."""


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    REFUSED = "refused"
    """Not even checked: the account or the address was locked."""
    ACCOUNT_LOCKED = "account_locked"
    ADDRESS_LOCKED = "address_locked"
    """Marks where a lock began (the failure that tripped it is recorded too)."""


class SignInAttempt(Base):
    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('success', 'failure', 'refused', 'account_locked', 'address_locked')",
            name="outcome",
        ),
        Index("ix_sign_in_attempts_email_at", "email", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(254), doc="As typed (lower-cased), known or not.")
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("web_users.id"))
    address: Mapped[str] = mapped_column(String(64), doc="The client's address.")
    outcome: Mapped[str] = mapped_column(String(16))


class SignInRefused(PayoutsError):
    """The same answer for an unknown address, a wrong password or a disabled user."""

    code = "sign-in-refused"
    status = 401


class SignInLocked(PayoutsError):
    code = "sign-in-locked"
    status = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many failed sign-ins: try again in {minutes} minute(s)")
        self.minutes = minutes


@dataclass(frozen=True, slots=True)
class Started:
    """A new session: the cookie's secret exists only here and in the browser."""

    secret: str
    session: WebSession
    user: WebUser


@dataclass(frozen=True, slots=True)
class Current:
    """The signed-in user behind a cookie, as a request needs it (plain values)."""

    session_id: str
    csrf_token: str
    user_id: int
    email: str
    role: UserRole
    partner_id: str | None
    second_factor: bool
    last_seen_at: datetime

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}:{self.email}"

    @property
    def fully_signed_in(self) -> bool:
        """False for a finance session without its second factor: it reaches nothing."""
        return self.second_factor or not self.role.needs_second_factor


def _queue(session: Session, *keys: str) -> None:
    """Attempts on the same account or from the same address, one at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already lets one writer in at a time
    for key in sorted(keys):
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode()) - 2**31}
        )


def _lock_started(
    session: Session, column: object, value: str, outcome: Outcome
) -> datetime | None:
    return session.scalar(
        select(func.max(SignInAttempt.at)).where(
            column == value,  # type: ignore[arg-type]
            SignInAttempt.outcome == outcome.value,
        )
    )


def _failures_since(session: Session, column: object, value: str, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                column == value,  # type: ignore[arg-type]
                SignInAttempt.outcome == Outcome.FAILURE.value,
                SignInAttempt.at > since,
            )
        )
        or 0
    )


@dataclass(frozen=True, slots=True)
class _Scope:
    """One throttled key: the account typed, or the client's address."""

    column: object
    value: str
    lock: Outcome
    resets_on_success: bool

    def locked_until(self, session: Session, now: datetime) -> datetime | None:
        started = _lock_started(session, self.column, self.value, self.lock)
        if started is not None and started + timedelta(minutes=LOCK_MINUTES) > now:
            return started + timedelta(minutes=LOCK_MINUTES)
        return None

    def failures(self, session: Session, now: datetime) -> int:
        since = now - timedelta(minutes=LOCK_MINUTES)
        started = _lock_started(session, self.column, self.value, self.lock)
        if started is not None:
            since = max(since, started)
        if self.resets_on_success:
            success = _lock_started(session, self.column, self.value, Outcome.SUCCESS)
            if success is not None:
                since = max(since, success)
        return _failures_since(session, self.column, self.value, since)


def _scopes(email: str, address: str) -> tuple[_Scope, _Scope]:
    return (
        _Scope(SignInAttempt.email, email, Outcome.ACCOUNT_LOCKED, resets_on_success=True),
        _Scope(SignInAttempt.address, address, Outcome.ADDRESS_LOCKED, resets_on_success=False),
    )


@dataclass(frozen=True, slots=True)
class _Purpose:
    """Why a password is checked: names the audit entries of a refusal and their actor."""

    name: str
    actor: str
    """A failed sign-in is nobody's yet (the account typed is the subject, not the
    actor); a signed-in user retyping its password is itself."""


_SIGN_IN = _Purpose("sign_in", "anonymous")


def sign_in(session: Session, email: str, password: str, address: str) -> Started:
    """Check the password and start a session, or refuse (and count the failure)."""
    address = address[:64]
    user = _checked(session, email.strip().lower()[:254], password, address, _SIGN_IN)
    _audit(session, "user.sign_in", str(user.id), address, actor=user.actor)
    return start(session, user, address)


def confirm_password(session: Session, user: WebUser, password: str, address: str) -> None:
    """A signed-in user's password typed again (to change it), or SignInRefused /
    SignInLocked: throttled and counted exactly as a sign-in, so a session left open
    is no faster a way to guess the password than the sign-in page."""
    _checked(session, user.email, password, address[:64], _Purpose("password_change", user.actor))


def _checked(
    session: Session, typed: str, password: str, address: str, purpose: _Purpose
) -> WebUser:
    """The user whose password `password` is, or a refusal counted against the throttle."""
    _queue(session, f"sign-in account {typed}", f"sign-in address {address}")
    now = utcnow()
    user = by_email(session, typed)
    user_id = user.id if user is not None else None
    subject = str(user_id) if user_id is not None else f"unknown:{typed[:150]}"
    scopes = _scopes(typed, address)
    until = max(
        (u for s in scopes if (u := s.locked_until(session, now)) is not None), default=None
    )
    if until is not None:
        _attempt(session, typed, user_id, address, Outcome.REFUSED, now)
        _audit(session, f"user.{purpose.name}_refused", subject, address, purpose.actor, "locked")
        minutes = max(1, -(-int((until - now).total_seconds()) // 60))
        raise SignInLocked(minutes)
    good = password_matches(user, password)
    if user is None or not good or user.disabled_at is not None:
        _attempt(session, typed, user_id, address, Outcome.FAILURE, now)
        _audit(session, f"user.{purpose.name}_failed", subject, address, purpose.actor)
        for scope in scopes:
            if scope.failures(session, now) >= LOCK_FAILURES:
                _attempt(session, typed, user_id, address, scope.lock, now)
                _audit(
                    session,
                    "user.sign_in_locked",
                    subject,
                    address,
                    purpose.actor,
                    scope=scope.lock,
                )
        raise SignInRefused("the e-mail address or the password is not right")
    _attempt(session, typed, user_id, address, Outcome.SUCCESS, now)
    return user


def _attempt(
    session: Session,
    email: str,
    user_id: int | None,
    address: str,
    outcome: Outcome,
    now: datetime,
) -> None:
    session.add(
        SignInAttempt(at=now, email=email, user_id=user_id, address=address, outcome=outcome.value)
    )
    session.flush()


def _audit(
    session: Session,
    action: str,
    subject: str,
    address: str,
    actor: str,
    reason: str | None = None,
    **extra: str,
) -> None:
    after = {"address": address, **({"reason": reason} if reason else {}), **extra}
    audit.record(
        session,
        actor=actor,
        action=action,
        subject_type="web_user",
        subject_id=subject,
        after=after,
    )


def start(session: Session, user: WebUser, address: str, now: datetime | None = None) -> Started:
    """A new session for `user` (and the expired sessions of everyone cleared away)."""
    now = now or utcnow()
    session.execute(
        delete(WebSession).where(
            (WebSession.expires_at <= now)
            | (WebSession.last_seen_at <= now - timedelta(minutes=IDLE_MINUTES))
        )
    )
    secret = secrets.token_urlsafe(32)
    row = WebSession(
        id=digest(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=MAX_HOURS),
        address=address[:64],
    )
    session.add(row)
    session.flush()
    return Started(secret, row, user)


def rotate(session: Session, session_id: str) -> str:
    """A new session in place of `session_id`, for a change of privilege (the second
    factor passed): the same user, expiry and state under a new secret and CSRF token,
    and the old session ended, so a cookie seen before the change reaches nothing.
    Returns the new cookie's secret."""
    old = session.get(WebSession, session_id)
    if old is None:
        raise SignInRefused("the session has ended: sign in again")
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=digest(secret),
            user_id=old.user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=old.created_at,
            last_seen_at=utcnow(),
            expires_at=old.expires_at,
            address=old.address,
            second_factor_at=old.second_factor_at,
        )
    )
    session.delete(old)
    session.flush()
    return secret


_CURRENT = (
    select(
        WebSession.id,
        WebSession.csrf_token,
        WebSession.last_seen_at,
        WebSession.expires_at,
        WebSession.second_factor_at,
        WebUser.id.label("user_id"),
        WebUser.email,
        WebUser.role,
        WebUser.partner_id,
        WebUser.disabled_at,
    )
    .join(WebUser, WebUser.id == WebSession.user_id)
    .where(WebSession.id == bindparam("session_id"))
)


def current(db: Connection | Session, secret: str) -> Current | None:
    """The live session a cookie's secret belongs to, or None (unknown, idle, expired)."""
    if not secret or len(secret) > 100:
        return None
    row = db.execute(_CURRENT, {"session_id": digest(secret)}).first()
    now = utcnow()
    if row is None or row.disabled_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at <= now - timedelta(minutes=IDLE_MINUTES):
        return None
    return Current(
        session_id=row.id,
        csrf_token=row.csrf_token,
        user_id=row.user_id,
        email=row.email,
        role=UserRole(row.role),
        partner_id=row.partner_id,
        second_factor=row.second_factor_at is not None,
        last_seen_at=row.last_seen_at,
    )


def needs_touch(current: Current) -> bool:
    return current.last_seen_at <= utcnow() - timedelta(seconds=TOUCH_SECONDS)


def touch(session: Session, session_id: str) -> None:
    """Record that the session is in use (keeps it from going idle)."""
    session.execute(
        update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow())
    )


def sign_out(session: Session, current: Current) -> None:
    session.execute(delete(WebSession).where(WebSession.id == current.session_id))
    audit.record(
        session,
        actor=current.actor,
        action="user.sign_out",
        subject_type="web_user",
        subject_id=str(current.user_id),
    )
