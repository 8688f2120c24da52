"""Which deal is a customer's new logo: decided by the batch over the stored deals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.batch import service as batch
from payouts.batch.gathering import gather
from payouts.batch.models import DraftLine
from payouts.batch.repository import PartnerRange
from payouts.facts.ingest import ingest
from tests.payouts.program import Program

# (partner, new logo deal) pairs the January draft must pay, and no others.
NEW_LOGOS = {
    ("P-1", "Beta-1"),  # before "acme-2" in code point order, on the same day
    ("P-2", "D-c3-first"),  # the customer's earlier January deal
    ("P-1", "D-c4"),  # two partners sourced the one deal: both are paid
    ("P-2", "D-c4"),
}


def new_logo_program(session: Session) -> Program:
    """Two MSSP partners sourcing deals that are, or are not, their customers' first."""
    program = Program(session)
    plan = program.plan("mssp", effective_from="2025-12-01")
    for partner in ("P-1", "P-2"):
        program.partner(partner, plan, kind="mssp", since="2025-12-01")
    # C-1 already bought in December: its January deal is no new logo.
    program.deal("P-1", "sourced", day="2025-12-20", customer="C-1", deal_id="D-c1-old")
    program.close_month("2025-12")
    program.deal("P-1", "sourced", day="2026-01-12", customer="C-1", deal_id="D-c1")
    # C-2: two deals on one day; the first by id is the new logo.
    program.deal("P-2", "sourced", day="2026-01-10", customer="C-2", deal_id="acme-2")
    program.deal("P-1", "sourced", day="2026-01-10", customer="C-2", deal_id="Beta-1")
    # C-3: the later deal's partner gets nothing, even gathered without the other.
    program.deal("P-1", "sourced", day="2026-01-20", customer="C-3", deal_id="D-c3-late")
    program.deal("P-2", "sourced", day="2026-01-05", customer="C-3", deal_id="D-c3-first")
    program.deal("P-1", "sourced", day="2026-01-15", customer="C-4", deal_id="D-c4")
    ingest(
        session,
        "deal_roles",
        [{"id": "D-c4-P-2", "deal_id": "D-c4", "partner_id": "P-2", "role": "sourced"}],
        actor="crm",
    )
    return program


def paid_new_logos(session: Session, period: str) -> set[tuple[str, str]]:
    sources = session.execute(
        select(DraftLine.partner_id, DraftLine.source_fact).where(
            DraftLine.period == period, DraftLine.source_fact.like("event:new_logo:%")
        )
    ).all()
    return {(partner, source.removeprefix("event:new_logo:")) for partner, source in sources}


def test_a_new_logo_is_the_first_deal_of_a_customer_new_this_month(session: Session) -> None:
    new_logo_program(session)
    batch.run(session, "2026-01", actor="alice")
    assert paid_new_logos(session, "2026-01") == NEW_LOGOS


def test_a_partner_gathered_alone_gets_the_new_logos_of_the_whole(session: Session) -> None:
    new_logo_program(session)

    def events(partners: PartnerRange | None) -> dict[str, list[str]]:
        work = gather(session, "2026-01", 0, partners=partners)
        return {w.partner_id: sorted(e.event_id for e in w.events) for w in work.partners}

    whole = events(None)
    assert events(PartnerRange("P-1", "P-1")) == {"P-1": whole["P-1"]}
    assert events(PartnerRange("P-2", "P-2")) == {"P-2": whole["P-2"]}
    assert whole["P-1"] == ["new_logo:Beta-1", "new_logo:D-c4"]
