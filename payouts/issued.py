"""Issued statements: each partner's statement of a closed period, as issued.

`statements` builds the statement, its canonical JSON and the hash of that JSON; this
table keeps both (append-only), so anyone can later recompute the statement from the
ledger, compare hashes and, when they differ, see which fields and lines changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts.base import Base, BigId, utcnow


class IssuedStatement(Base):
    __tablename__ = "issued_statements"
    __table_args__ = (
        Index("uq_issued_statements_partner_period", "partner_id", "period", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    period: Mapped[str] = mapped_column(String(7), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the canonical JSON.")
    canonical_json: Mapped[str | None] = mapped_column(
        Text,
        doc="The canonical JSON issued, whose SHA-256 is content_hash (none for statements "
        "issued before schema revision 0013, which kept only the hash).",
    )
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


def issued(session: Session, partner_id: str, period: str) -> IssuedStatement | None:
    return session.scalars(
        select(IssuedStatement).where(
            IssuedStatement.partner_id == partner_id, IssuedStatement.period == period
        )
    ).first()


def line_ids(statement: IssuedStatement) -> set[str] | None:
    """The ids of the lines the statement was issued with (None for one issued before
    schema revision 0013, which kept only its hash): what an inquiry or an adjustment
    may point at."""
    if statement.canonical_json is None:
        return None
    return {line["line_id"] for line in json.loads(statement.canonical_json).get("lines", [])}


def record(
    session: Session,
    partner_id: str,
    period: str,
    content_hash: str,
    canonical_json: str | None,
    actor: str,
) -> IssuedStatement:
    """Store an issued statement once; issuing again must give the same statement."""
    existing = issued(session, partner_id, period)
    if existing is not None:
        return existing
    row = IssuedStatement(
        partner_id=partner_id,
        period=period,
        content_hash=content_hash,
        canonical_json=canonical_json,
        issued_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def record_many(
    session: Session, period: str, statements: Sequence[tuple[str, str, str]], actor: str
) -> None:
    """Store many partners' statements of `period` at once: (partner, hash, canonical
    JSON) each. As `record`, a statement already issued is kept as it was issued."""
    if not statements:
        return
    existing = set(
        session.scalars(
            select(IssuedStatement.partner_id).where(
                IssuedStatement.period == period,
                IssuedStatement.partner_id.in_([partner_id for partner_id, _, _ in statements]),
            )
        )
    )
    now = utcnow()
    rows = [
        (partner_id, period, digest, content, actor, now)
        for partner_id, digest, content in statements
        if partner_id not in existing
    ]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        # COPY: the canonical JSON of a month is hundreds of megabytes of text.
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY issued_statements ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    session.execute(
        insert(IssuedStatement), [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
    )


_COLUMNS = ("partner_id", "period", "content_hash", "canonical_json", "issued_by", "issued_at")


def periods_of(session: Session, partner_id: str) -> list[IssuedStatement]:
    return list(
        session.scalars(
            select(IssuedStatement)
            .where(IssuedStatement.partner_id == partner_id)
            .order_by(IssuedStatement.period.desc())
        )
    )
