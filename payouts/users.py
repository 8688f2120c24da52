"""Web users: people who sign in to the portal (and, later, the finance console).

A web user is the other kind of principal beside an API key: its actor is
`user:<id>:<email>`, so maker-checker (`actors.holder`, the database's
`actor_holder()`) compares e-mail addresses. Users are the schema owner's to
administer, like keys (`payouts users invite|reset|list|disable`): the service's
database role may read them and set a password through a link, nothing else.

A user is invited without a password: the invitation is a single-use link, valid
72 hours, to choose one. A reset is the same kind of link (24 hours). Only the
SHA-256 of a link's secret is stored; a newer link voids the older ones; using a
link ends every session of the user. Passwords are hashed with argon2id
(argon2-cffi's defaults, which follow RFC 9106's recommendations).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit
from payouts.base import Base, BigId, utcnow
from payouts.errors import PayoutsError
from payouts.reference.models import Partner

INVITATION_HOURS = 72
RESET_HOURS = 24
MIN_PASSWORD = 12
MAX_PASSWORD = 256
"""Long enough for any passphrase; short enough that hashing it costs nothing extra."""
_EMAIL = re.compile(r"^[^@\s:]+@[^@\s:]+\.[^@\s:]+$")

hasher = PasswordHasher()


@functools.cache
def decoy_hash() -> str:
    """Checked against when no user has the e-mail typed: an unknown address costs the
    same time as a wrong password, so timing does not tell which addresses have an
    account. Made on first use (a hash costs what a password check costs, which every
    command and import of this module would pay); the web app makes it at start-up."""
    return hasher.hash(secrets.token_urlsafe(16))


class UserRole(StrEnum):
    """Web roles; `billing` is a system and has only API keys."""

    FINANCE = "finance"
    PARTNER = "partner"
    SALES_OPS = "sales_ops"

    @property
    def needs_second_factor(self) -> bool:
        """Finance moves money: its web sessions reach nothing without a second factor
        (TOTP, the finance console's issue); until then only its API keys act."""
        return self is UserRole.FINANCE


class TokenPurpose(StrEnum):
    INVITATION = "invitation"
    RESET = "reset"


class WebUser(Base):
    """A person with a web account: a role, and for a partner user its partner."""

    __tablename__ = "web_users"
    __table_args__ = (
        CheckConstraint("role IN ('finance', 'partner', 'sales_ops')", name="role"),
        CheckConstraint(
            "(role = 'partner' AND partner_id IS NOT NULL) "
            "OR (role != 'partner' AND partner_id IS NULL)",
            name="partner_user_names_partner",
        ),
        Index("uq_web_users_email", "email", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), doc="Lower-cased; the user's name.")
    role: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(
        String(200), doc="argon2id; none until the invitation is used."
    )
    password_set_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]

    @property
    def actor(self) -> str:
        return f"user:{self.id}:{self.email}"


class UserToken(Base):
    """A single-use link to set a password: an invitation or a reset."""

    __tablename__ = "user_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('invitation', 'reset')", name="purpose"),
        Index("uq_user_tokens_secret_hash", "secret_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("web_users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 hex of the link's secret.")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(
        doc="When it was used or voided by a newer link; once set, never unset."
    )


class WebSession(Base):
    """A signed-in browser: the cookie carries a secret, the table its SHA-256.

    Ends at sign-out (deleted), after `IDLE_MINUTES` without a request, or at
    `expires_at` whatever happens; a new one is made at every sign-in (never reused).
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="SHA-256 hex of the cookie.")
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("web_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64), doc="Every form of the session posts it.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    second_factor_at: Mapped[datetime | None] = mapped_column(
        doc="When the second factor was checked (finance needs it; see UserRole)."
    )
    address: Mapped[str] = mapped_column(String(64), doc="Client address at sign-in.")


class UserRefused(PayoutsError):
    """A user cannot be invited, reset or disabled as asked."""

    code = "user-refused"
    status = 422


class LinkInvalid(PayoutsError):
    """A password link that is unknown, used, voided or expired (never which)."""

    code = "link-invalid"
    status = 404


class PasswordProblem(StrEnum):
    """Why a new password is refused; the pages say each in the reader's language."""

    DIFFERENT = "different"
    TOO_SHORT = "too-short"
    TOO_LONG = "too-long"
    HAS_EMAIL = "has-email"
    SAME = "same"
    """A change to the password already in use (a change only, not a link)."""

    def text(self) -> str:
        """The rule in English, as the command line and the API say it."""
        return {
            PasswordProblem.DIFFERENT: "the two passwords differ",
            PasswordProblem.TOO_SHORT: f"a password has at least {MIN_PASSWORD} characters",
            PasswordProblem.TOO_LONG: f"a password has at most {MAX_PASSWORD} characters",
            PasswordProblem.HAS_EMAIL: "a password must not contain the e-mail address",
            PasswordProblem.SAME: "the new password is the one in use",
        }[self]


class PasswordRefused(PayoutsError):
    """A new password that does not meet the rules (`problems` says which)."""

    code = "password-refused"
    status = 422

    def __init__(self, problems: list[PasswordProblem]) -> None:
        super().__init__("; ".join(problem.text() for problem in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Link:
    """A freshly made password link: the only time its secret exists."""

    user: WebUser
    purpose: TokenPurpose
    secret: str
    expires_at: datetime


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def by_email(session: Session, email: str) -> WebUser | None:
    return session.scalars(select(WebUser).where(WebUser.email == normalise_email(email))).first()


def invite(session: Session, *, email: str, role: str, partner_id: str | None, actor: str) -> Link:
    """A new user without a password, and the invitation link to choose one."""
    address = normalise_email(email)
    if not _EMAIL.match(address) or len(address) > 254:
        raise UserRefused(f"{email.strip()!r} is not an e-mail address")
    try:
        parsed = UserRole(role)
    except ValueError:
        roles = ", ".join(r.value for r in UserRole)
        raise UserRefused(f"unknown role {role!r}; web roles: {roles}") from None
    if parsed is UserRole.PARTNER and not partner_id:
        raise UserRefused("a partner user needs the partner it belongs to (--partner)")
    if parsed is not UserRole.PARTNER and partner_id:
        raise UserRefused(f"a {parsed.value} user belongs to no partner; omit --partner")
    if partner_id and session.get(Partner, partner_id) is None:
        raise UserRefused(f"no partner {partner_id!r}")
    if by_email(session, address) is not None:
        raise UserRefused(
            f"{address} already has an account: `payouts users reset` sends a new link"
        )
    user = WebUser(email=address, role=parsed.value, partner_id=partner_id, created_by=actor)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.invite",
        subject_type="web_user",
        subject_id=str(user.id),
        after={"email": address, "role": parsed.value, "partner_id": partner_id},
    )
    return _link(session, user, TokenPurpose.INVITATION, actor)


def reset(session: Session, *, email: str, actor: str) -> Link:
    """A new single-use link for an existing user (which voids every older one)."""
    user = by_email(session, email)
    if user is None:
        raise UserRefused(f"no user {normalise_email(email)!r}")
    if user.disabled_at is not None:
        raise UserRefused(f"{user.email} is disabled")
    purpose = TokenPurpose.RESET if user.password_hash else TokenPurpose.INVITATION
    audit.record(
        session,
        actor=actor,
        action="user.reset",
        subject_type="web_user",
        subject_id=str(user.id),
        after={"email": user.email, "link": purpose.value},
    )
    return _link(session, user, purpose, actor)


def _link(session: Session, user: WebUser, purpose: TokenPurpose, actor: str) -> Link:
    now = utcnow()
    session.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.used_at.is_(None))
        .values(used_at=now)
    )
    hours = INVITATION_HOURS if purpose is TokenPurpose.INVITATION else RESET_HOURS
    secret = secrets.token_urlsafe(32)
    token = UserToken(
        user_id=user.id,
        purpose=purpose.value,
        secret_hash=digest(secret),
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(token)
    session.flush()
    return Link(user, purpose, secret, token.expires_at)


def disable(session: Session, *, email: str, actor: str) -> WebUser:
    """The user can no longer sign in; its sessions and open links end now."""
    user = by_email(session, email)
    if user is None:
        raise UserRefused(f"no user {normalise_email(email)!r}")
    if user.disabled_at is None:
        now = utcnow()
        user.disabled_at = now
        session.execute(
            update(UserToken)
            .where(UserToken.user_id == user.id, UserToken.used_at.is_(None))
            .values(used_at=now)
        )
        _end_sessions(session, user.id)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="user.disable",
            subject_type="web_user",
            subject_id=str(user.id),
            after={"email": user.email},
        )
    return user


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def end_other_sessions(session: Session, user_id: int, kept_session_id: str) -> int:
    """End every session of the user but `kept_session_id`; how many ended."""
    ended = session.execute(
        delete(WebSession).where(WebSession.user_id == user_id, WebSession.id != kept_session_id)
    )
    return int(getattr(ended, "rowcount", 0) or 0)


def void_links(session: Session, user_id: int) -> int:
    """Use up the user's open password links (a newer password supersedes them)."""
    voided = session.execute(
        update(UserToken)
        .where(UserToken.user_id == user_id, UserToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return int(getattr(voided, "rowcount", 0) or 0)


def link_user(session: Session, secret: str) -> tuple[UserToken, WebUser]:
    """The token and user of a usable link, or LinkInvalid (never saying why)."""
    token = session.scalars(
        select(UserToken).where(UserToken.secret_hash == digest(secret))
    ).first()
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise LinkInvalid("this link is not valid: it was used, replaced or has expired")
    user = session.get(WebUser, token.user_id)
    if user is None or user.disabled_at is not None:
        raise LinkInvalid("this link is not valid: it was used, replaced or has expired")
    return token, user


def password_problems(password: str, confirmation: str, email: str) -> list[PasswordProblem]:
    """Every reason a new password is refused (empty: it is accepted)."""
    problems: list[PasswordProblem] = []
    if password != confirmation:
        problems.append(PasswordProblem.DIFFERENT)
    if len(password) < MIN_PASSWORD:
        problems.append(PasswordProblem.TOO_SHORT)
    if len(password) > MAX_PASSWORD:
        problems.append(PasswordProblem.TOO_LONG)
    local = email.split("@")[0].lower()
    if password.strip().lower() == email.lower() or (len(local) >= 4 and local in password.lower()):
        problems.append(PasswordProblem.HAS_EMAIL)
    return problems


def set_password(session: Session, secret: str, password: str, confirmation: str) -> WebUser:
    """Use a link once: store the new password, void the link, end every session."""
    token, user = link_user(session, secret)
    problems = password_problems(password, confirmation, user.email)
    if problems:
        raise PasswordRefused(problems)
    now = utcnow()
    # Single use even under concurrency: only one request turns used_at from NULL.
    used = session.execute(
        update(UserToken)
        .where(UserToken.id == token.id, UserToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkInvalid("this link is not valid: it was used, replaced or has expired")
    user.password_hash = hasher.hash(password)
    user.password_set_at = now
    _end_sessions(session, user.id)
    session.flush()
    audit.record(
        session,
        actor=user.actor,
        action="user.password_set",
        subject_type="web_user",
        subject_id=str(user.id),
        after={"link": token.purpose},
    )
    return user


def password_matches(user: WebUser | None, password: str) -> bool:
    """Whether `password` is the user's; the same work when there is no such user."""
    stored = user.password_hash if user is not None and user.password_hash else decoy_hash()
    try:
        ok = hasher.verify(stored, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and user is not None and user.password_hash is not None


def every_user(session: Session) -> list[WebUser]:
    return list(session.scalars(select(WebUser).order_by(WebUser.id)))
