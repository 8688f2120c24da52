"""The append-only ledger: posted entries in integer minor units, and balances.

Entries are earnings, clawbacks, adjustments, payouts and payout reversals. The
database refuses UPDATE and DELETE of an entry and any new entry in a closed period
(triggers on PostgreSQL and SQLite), so no code path or hand-written SQL can rewrite
a closed month. A partner's balance is the plain sum of its entries.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts.base import Base, BigId, utcnow
from payouts.lines import LineColumns
from plans.line_kinds import ENTRY_KINDS

MANUAL_LINES = "source_fact LIKE 'manual:%'"

STATISTICS_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_statistics_refresh() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    ANALYZE ledger_entries;
    ANALYZE margin_lines;
END
$$;
"""
"""Analyse the ledger's tables as their owner (migration 0024): see `refresh_statistics`."""

FUNCTIONS = ("ledger_statistics_refresh()",)
"""What the service's role may execute (`payouts.privileges`)."""


class LedgerEntry(LineColumns, Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(
            "entry_kind IN (" + ", ".join(f"'{k}'" for k in ENTRY_KINDS) + ")", name="entry_kind"
        ),
        Index("uq_ledger_entries_line", "period", "partner_id", "line_no", unique=True),
        Index("ix_ledger_entries_partner", "partner_id", "period"),
        Index("ix_ledger_entries_invoice", "invoice_id"),
        Index("ix_ledger_entries_customer", "customer_id", "partner_id"),
        # A manual adjustment is paid once: its line may be posted in one month only.
        Index(
            "uq_ledger_entries_manual",
            "source_fact",
            unique=True,
            postgresql_where=text(MANUAL_LINES),
            sqlite_where=text(MANUAL_LINES),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[str] = mapped_column(String(200))


class MarginLine(LineColumns, Base):
    """Resale margin earned through the partner's discount: shown, never paid."""

    __tablename__ = "margin_lines"
    __table_args__ = (
        Index("uq_margin_lines_line", "period", "partner_id", "line_no", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)


def balances(session: Session, before_period: str | None = None) -> dict[tuple[str, str], int]:
    """(partner, currency) -> balance in minor units, over periods before `before_period`."""
    query = select(
        LedgerEntry.partner_id, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor)
    ).group_by(LedgerEntry.partner_id, LedgerEntry.currency)
    if before_period is not None:
        query = query.where(LedgerEntry.period < before_period)
    out: dict[tuple[str, str], int] = defaultdict(int)
    for partner_id, currency, total in session.execute(query):
        out[(partner_id, currency)] = int(total or 0)
    return out


def balance(session: Session, partner_id: str, up_to_period: str | None = None) -> int:
    query = select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
        LedgerEntry.partner_id == partner_id
    )
    if up_to_period is not None:
        query = query.where(LedgerEntry.period <= up_to_period)
    return int(session.scalar(query) or 0)


def last_line_numbers(session: Session, period: str) -> dict[str, int]:
    """Partner -> the highest line number it has in `period` (partners without lines absent)."""
    query = (
        select(LedgerEntry.partner_id, func.max(LedgerEntry.line_no))
        .where(LedgerEntry.period == period)
        .group_by(LedgerEntry.partner_id)
    )
    return {partner_id: int(last) for partner_id, last in session.execute(query)}


def next_line_no(session: Session, period: str, partner_id: str) -> int:
    current = session.scalar(
        select(func.max(LedgerEntry.line_no)).where(
            LedgerEntry.period == period, LedgerEntry.partner_id == partner_id
        )
    )
    return int(current or 0) + 1


def refresh_statistics(session: Session) -> None:
    """Have PostgreSQL's planner statistics of the ledger (and margin lines) brought up
    to date, inside this transaction: after a close posts a month, statements are read
    from the ledger a slice of partners at a time, and a planner that still counts the
    table as it was reads each slice by scanning the whole month. ANALYZE counts the
    transaction's own new rows. Nothing on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT ledger_statistics_refresh()"))
