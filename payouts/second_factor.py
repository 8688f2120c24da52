"""The finance console's second factor: a TOTP app (RFC 6238), and recovery codes.

Finance moves money, so a finance web session reaches nothing until its second
factor is checked (`WebSession.second_factor_at`). At the first sign-in a finance
user enrols: the console shows a new secret as a QR code, the user's app shows a
code, and the first right code confirms the enrolment; ten one-time recovery codes
are then shown once (only their SHA-256 is stored: each is 50 random bits, not a
password a person chose, so a slow hash buys nothing). From then on each sign-in
asks for a current code, or one unused recovery code.

- A code is accepted within one 30-second step either side of the server's clock
  (phones drift), and each step at most once: a code seen on a shoulder or in a
  proxy log cannot be replayed (`last_step` only moves forward).
- Guessing is throttled per user: after `LOCK_FAILURES` wrong codes within
  `LOCK_MINUTES` every code is refused until the lock ends, whatever it is. Every
  attempt is a row of `second_factor_attempts` (append-only) and in the audit log.
- The secret is stored sealed (Fernet, under keys the database never holds:
  `payouts.second_factor_keys`): a copy of the database gives no second factor away.
- The database keeps a confirmed secret as it is (triggers): the service may move
  `last_step` forward, never swap the secret under an enrolled user. A recovery code
  is used once. Resetting a user's second factor is the owner's (like passwords):
  `reset` records a `second_factor_resets` row (which the service's role may not
  write), and the database deletes an enrolled factor only for a recorded reset of
  it; the old recovery codes are used up, the user's sessions end, and the next
  sign-in enrols again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
import segno
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit
from payouts.base import Base, BigId, utcnow
from payouts.errors import PayoutsError
from payouts.second_factor_keys import seal, unseal
from payouts.users import UserRole, WebSession, WebUser

ISSUER = "partner-payouts"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
LOCK_FAILURES = 5
LOCK_MINUTES = 15
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_LENGTH = 10


class SecondFactor(Base):
    """A finance user's TOTP secret: pending until the first right code confirms it."""

    __tablename__ = "second_factors"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("web_users.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(
        String(200),
        doc="The base32 TOTP secret (RFC 4648) sealed with Fernet under SECOND_FACTOR_KEYS "
        "(`second_factor_keys`): never the secret itself.",
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(
        doc="When the first right code was typed; until then the secret may be replaced."
    )
    last_step: Mapped[int | None] = mapped_column(
        BigInteger, doc="The 30-second step of the last code accepted (never accepted again)."
    )


class RecoveryCode(Base):
    """One of a user's one-time recovery codes (only its SHA-256)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("uq_recovery_codes_code_hash", "user_id", "code_hash", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("web_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 hex of the code.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(doc="Once set, never unset.")


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    REFUSED = "refused"
    """Not even checked: the user was locked."""


class SecondFactorAttempt(Base):
    __tablename__ = "second_factor_attempts"
    __table_args__ = (
        CheckConstraint("outcome IN ('success', 'failure', 'refused')", name="outcome"),
        Index("ix_second_factor_attempts_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("web_users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))


class SecondFactorReset(Base):
    """The owner's removal of a user's enrolled factor (append-only): the database
    deletes an enrolled factor only when its reset is recorded here."""

    __tablename__ = "second_factor_resets"
    __table_args__ = (Index("ix_second_factor_resets_user", "user_id", "factor_confirmed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("web_users.id"))
    factor_confirmed_at: Mapped[datetime] = mapped_column(
        doc="The removed factor's `confirmed_at` (which factor this reset removes)."
    )
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ResetRefused(PayoutsError):
    code = "second-factor-reset-refused"
    status = 422


class CodeRefused(PayoutsError):
    code = "second-factor-refused"
    status = 401

    def __init__(self) -> None:
        super().__init__("that code is not right (or was already used)")


class CodesLocked(PayoutsError):
    code = "second-factor-locked"
    status = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many wrong codes: try again in {minutes} minute(s)")
        self.minutes = minutes


class NotEnrollable(PayoutsError):
    """Only finance users have (and need) a second factor."""

    code = "second-factor-not-needed"
    status = 404


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the enrolment page shows: the secret as text and as a QR code."""

    secret: str
    uri: str
    qr_svg: str


@dataclass(frozen=True, slots=True)
class Checked:
    """A right code: and, at enrolment, the recovery codes (their only showing)."""

    recovery_codes: tuple[str, ...]
    used_recovery_code: bool


def _user(session: Session, user_id: int) -> WebUser:
    user = session.get(WebUser, user_id)
    if user is None or UserRole(user.role) is not UserRole.FINANCE or user.disabled_at:
        raise NotEnrollable("no second factor for this user")
    return user


def factor_of(session: Session, user_id: int) -> SecondFactor | None:
    return session.get(SecondFactor, user_id)


def enrolled(session: Session, user_id: int) -> bool:
    factor = factor_of(session, user_id)
    return factor is not None and factor.confirmed_at is not None


def enrolment(session: Session, user_id: int) -> Enrolment:
    """The pending secret of a user not yet enrolled (made at the first visit)."""
    user = _user(session, user_id)
    factor = factor_of(session, user_id)
    if factor is not None and factor.confirmed_at is not None:
        raise NotEnrollable("this user's second factor is already enrolled")
    if factor is None:
        secret = pyotp.random_base32()
        factor = SecondFactor(user_id=user.id, secret=seal(secret), created_at=utcnow())
        session.add(factor)
        session.flush()
        audit.record(
            session,
            actor=user.actor,
            action="second_factor.enrolment_started",
            subject_type="web_user",
            subject_id=str(user.id),
        )
    else:
        secret = unseal(factor.secret)
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )
    return Enrolment(secret=secret, uri=uri, qr_svg=qr_svg(uri))


def qr_svg(text: str) -> str:
    """An inline SVG QR code (no script, no style attribute: the pages' CSP allows it)."""
    code = segno.make(text, error="m")
    svg: str = code.svg_inline(scale=4, border=2, dark="#000", light="#fff", omitsize=False)
    return svg


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The step `code` belongs to, within the allowed drift and after `after`."""
    typed = "".join(code.split())
    if len(typed) != 6 or not typed.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), typed):
            return step
    return None


def _code_digest(code: str) -> str:
    return hashlib.sha256("".join(code.lower().split()).replace("-", "").encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def _locked_minutes(session: Session, user_id: int, now: datetime) -> int:
    """Minutes left of a lock on the user's codes (0: not locked)."""
    since = now - timedelta(minutes=LOCK_MINUTES)
    last_success = session.scalar(
        select(func.max(SecondFactorAttempt.at)).where(
            SecondFactorAttempt.user_id == user_id,
            SecondFactorAttempt.outcome == Outcome.SUCCESS.value,
        )
    )
    if last_success is not None:
        since = max(since, last_success)
    failures = list(
        session.scalars(
            select(SecondFactorAttempt.at)
            .where(
                SecondFactorAttempt.user_id == user_id,
                SecondFactorAttempt.outcome == Outcome.FAILURE.value,
                SecondFactorAttempt.at > since,
            )
            .order_by(SecondFactorAttempt.at)
        )
    )
    if len(failures) < LOCK_FAILURES:
        return 0
    until = failures[LOCK_FAILURES - 1] + timedelta(minutes=LOCK_MINUTES)
    return max(1, -(-int((until - now).total_seconds()) // 60)) if until > now else 0


def _attempt(session: Session, user: WebUser, outcome: Outcome, now: datetime) -> None:
    session.add(SecondFactorAttempt(user_id=user.id, at=now, outcome=outcome.value))
    session.flush()
    audit.record(
        session,
        actor=user.actor,
        action=f"second_factor.{outcome.value}",
        subject_type="web_user",
        subject_id=str(user.id),
    )


def _use_recovery_code(session: Session, user_id: int, code: str, now: datetime) -> bool:
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _code_digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(getattr(used, "rowcount", 0))


def check(session: Session, user_id: int, session_id: str, code: str) -> Checked:
    """Check a code for a signed-in session; mark the session as past its second factor.

    At enrolment the code confirms the pending secret and the recovery codes are made;
    afterwards a recovery code is accepted in place of a TOTP code (once)."""
    user = _user(session, user_id)
    now = utcnow()
    minutes = _locked_minutes(session, user.id, now)
    if minutes:
        _attempt(session, user, Outcome.REFUSED, now)
        raise CodesLocked(minutes)
    factor = factor_of(session, user.id)
    if factor is None:
        raise NotEnrollable("no second factor enrolment has been started")
    step = _matching_step(unseal(factor.secret), code, now, factor.last_step)
    recovery = False
    if step is None and factor.confirmed_at is not None:
        recovery = _use_recovery_code(session, user.id, code, now)
    if step is None and not recovery:
        _attempt(session, user, Outcome.FAILURE, now)
        raise CodeRefused()
    codes: list[str] = []
    if step is not None:
        factor.last_step = step
    if factor.confirmed_at is None:
        factor.confirmed_at = now
        codes = _new_recovery_codes()
        session.add_all(
            RecoveryCode(user_id=user.id, code_hash=_code_digest(c), created_at=now) for c in codes
        )
        audit.record(
            session,
            actor=user.actor,
            action="second_factor.enrolled",
            subject_type="web_user",
            subject_id=str(user.id),
            after={"recovery_codes": len(codes)},
        )
    session.execute(
        update(WebSession).where(WebSession.id == session_id).values(second_factor_at=now)
    )
    _attempt(session, user, Outcome.SUCCESS, now)
    if recovery:
        audit.record(
            session,
            actor=user.actor,
            action="second_factor.recovery_code_used",
            subject_type="web_user",
            subject_id=str(user.id),
            after={"left": recovery_codes_left(session, user.id)},
        )
    return Checked(tuple(codes), recovery)


def reset(session: Session, user: WebUser, *, actor: str) -> None:
    """Remove a user's enrolled second factor (the schema owner's, for a lost phone):
    recorded and audited; its unused recovery codes are used up and its sessions end,
    so the next sign-in enrols a new secret."""
    factor = factor_of(session, user.id)
    if factor is None or factor.confirmed_at is None:
        raise ResetRefused(f"{user.email} has no enrolled second factor")
    now = utcnow()
    session.add(
        SecondFactorReset(
            user_id=user.id, factor_confirmed_at=factor.confirmed_at, actor=actor, at=now
        )
    )
    session.flush()
    session.delete(factor)
    voided = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    )
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit.record(
        session,
        actor=actor,
        action="second_factor.reset",
        subject_type="web_user",
        subject_id=str(user.id),
        after={"email": user.email, "recovery_codes_voided": getattr(voided, "rowcount", 0)},
    )
    session.flush()


def recovery_codes_left(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def current_code(secret: str, at: datetime | None = None) -> str:
    """The code an authenticator app shows now (what a test or a demo types)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).at(at or utcnow())
