"""The append-only audit log: who did what, to which record, with before and after.

The database refuses UPDATE and DELETE on this table (triggers in the migration), so
no code path, and no hand-written SQL, can rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Index, String, Table, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts.base import Base, BigId, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(200), doc="User or API key identity.")
    action: Mapped[str] = mapped_column(String(100), doc="What was done, e.g. batch.approve.")
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    at: Mapped[datetime] = mapped_column(default=utcnow)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry in the caller's transaction (it commits or rolls back with it)."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    return entry


_APPEND = insert(cast(Table, AuditEntry.__table__))


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry like `record`, as a single INSERT in the caller's transaction.

    For hot paths that do not need the entry back: no ORM object, no flush.
    """
    session.execute(
        _APPEND,
        {
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "before": before,
            "after": after,
            "at": utcnow(),
        },
    )


def history(session: Session, subject_type: str, subject_id: str) -> list[AuditEntry]:
    """Every entry about one subject, oldest first."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(query))


def search(
    session: Session,
    *,
    actor: str = "",
    action: str = "",
    subject: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Entries newest first: `actor` and `subject` (type or id) contain the text given,
    `action` starts with it (e.g. `batch.` or `adjustment.approve`), within [since, until)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor:
        query = query.where(AuditEntry.actor.contains(actor, autoescape=True))
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if subject:
        query = query.where(
            AuditEntry.subject_id.contains(subject, autoescape=True)
            | AuditEntry.subject_type.contains(subject, autoescape=True)
        )
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return list(session.scalars(query.limit(limit).offset(offset)))
