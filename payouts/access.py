"""API keys and idempotency records: what the HTTP API persists about its callers.

Only a SHA-256 digest of each key's secret is stored; the secret is shown once, when
the key is created. An idempotency record keeps the first response given to an
`Idempotency-Key` of one API key; the unique index makes concurrent requests with the
same key queue behind the first one, so a key has at most one effect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from payouts.base import Base, BigId, utcnow


class ApiKey(Base):
    """A caller of the HTTP API: a role, and for a partner key the partner it speaks for."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('finance', 'billing', 'partner', 'sales_ops')", name="role"),
        CheckConstraint(
            "(role = 'partner' AND partner_id IS NOT NULL) "
            "OR (role != 'partner' AND partner_id IS NULL)",
            name="partner_key_names_partner",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, doc="Public key id.")
    name: Mapped[str] = mapped_column(String(100), doc="Who holds the key (in audit actors).")
    role: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 hex of the secret.")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The stored outcome of the first request made with one `Idempotency-Key`."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        Index("uq_idempotency_records_key", "api_key_id", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(
        String(64), doc="SHA-256 of method, path, query and body."
    )
    status_code: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
