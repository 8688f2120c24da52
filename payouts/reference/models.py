"""Partners, reps and customers, keyed by the source system's id (CRM or billing)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from payouts.base import Base, Currency, ExternalId, utcnow


class PartnerType(StrEnum):
    RESELLER = "reseller"
    VAR = "var"
    MSSP = "mssp"
    GSI = "gsi"
    REFERRAL = "referral"
    ISV = "isv"
    CSP = "csp"
    AUDIT = "audit"


class PartnerStatus(StrEnum):
    """`on_hold` and `terminated` partners accrue but are not paid (per plan)."""

    ACTIVE = "active"
    ON_HOLD = "on_hold"
    TERMINATED = "terminated"


def _in(column: str, values: type[StrEnum]) -> str:
    quoted = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({quoted})"


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint(_in("type", PartnerType), name="type"),
        CheckConstraint(_in("status", PartnerStatus), name="status"),
        CheckConstraint("length(payout_currency) = 3", name="payout_currency"),
    )

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=PartnerStatus.ACTIVE.value)
    payout_currency: Mapped[str] = mapped_column(
        Currency, doc="ISO 4217 code the partner is paid in; earnings convert into it."
    )
    payout_details: Mapped[dict[str, Any]] = mapped_column(
        default=dict, doc="Where the money goes: account holder, IBAN, BIC, method."
    )
    locale: Mapped[str] = mapped_column(String(16), default="en_US")
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rep(Base):
    """An internal sales rep: receives quota credit and commission, never a partner payout."""

    __tablename__ = "reps"

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(Currency)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
