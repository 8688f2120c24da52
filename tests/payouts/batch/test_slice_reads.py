"""A slice of a run reads the invoices that reach its partners through indexes: what it
reads follows the slice, not the month (`payouts.batch.repository.month_facts`)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from demo import program as demo
from payouts.batch.gathering import Context, gather_partners
from payouts.batch.repository import PartnerRange
from payouts.facts.models import Invoice
from payouts.reference.models import Partner

PARTNERS, SLICES = 48, 8


def _invoices_read(session: Session) -> int:
    """Invoice rows read so far in this transaction, by scans and through indexes."""
    found = session.scalar(
        text(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
            "FROM pg_stat_xact_user_tables WHERE relname = 'invoices'"
        )
    )
    return int(found or 0)


@pytest.mark.postgres_only
@pytest.mark.as_owner  # who may ANALYZE the tables
def test_a_slice_reads_its_partners_invoices_not_the_whole_months(session: Session) -> None:
    program = demo.generate(
        session, PARTNERS, 1, seed=5, start="2026-01", deals_per_month=2.0, invoice_lines=4
    )
    period = program.periods[0]
    month = session.scalar(select(func.count()).where(Invoice.accounting_period == period))
    one = PartnerRange.split(list(session.scalars(select(Partner.id))), SLICES)[0]
    context = Context.read(session, period)
    # Planned as a large month is: statistics, and a scan dearer than any index.
    session.execute(text("ANALYZE invoices, payments, deals, deal_roles"))
    session.execute(text("SET LOCAL enable_seqscan = off"))
    before = _invoices_read(session)
    works = gather_partners(session, context, one)
    read = _invoices_read(session) - before

    assert any(w.invoices for w in works)
    # An eighth of the partners: about an eighth of the month's invoices, and context
    # (before: the whole month, twice).
    assert month
    assert read < month / 2, (read, month)
