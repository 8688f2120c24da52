"""No payout without a valid tax form: held at close with the reason "tax form" (on the
statement and in review); the first close after a valid form arrives pays."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.audit import AuditEntry
from payouts.batch import review
from payouts.batch import service as batch
from payouts.batch.models import PayoutHold, PayoutInstruction
from payouts.facts.ingest import ingest
from payouts.tax import profiles
from statements.builder import build
from tests.payouts.program import Program

D = Decimal


@pytest.fixture
def program(session: Session) -> Program:
    return Program(session)


def referral_partner(program: Program, ident: str) -> None:
    plan = program.plan(
        "referral",
        minimum_payout="0.00",
        components=[
            {"kind": "referral_fee", "id": "revenue-share", "rate": "10%", "duration": "lifetime"}
        ],
    )
    program.partner(ident, plan, kind="referral")
    program.deal(ident, "referral", day="2026-01-02", customer="C-3")


def tax_profile(program: Program, ident: str, *, amend: bool = False, **fields: Any) -> None:
    row = {"id": ident, "tax_country": "US", "entity_type": "business", **fields}
    ingest(program.session, "tax_profiles", [row], actor="finance", amend=amend)


def instructions(session: Session, partner_id: str) -> list[tuple[str, int]]:
    return [
        (i.period, i.amount_minor)
        for i in session.scalars(
            select(PayoutInstruction)
            .where(PayoutInstruction.partner_id == partner_id)
            .order_by(PayoutInstruction.period)
        )
    ]


def test_a_missing_form_holds_and_a_later_form_releases_at_the_next_close(
    program: Program,
) -> None:
    referral_partner(program, "P-US")
    tax_profile(program, "P-US")  # no form on file yet
    program.invoice(None, "100.00", "2026-01-15", customer="C-3")

    batch.run(program.session, "2026-01", actor="alice")
    waiting = review.review(program.session, "2026-01").tax_form_holds
    assert [(w.partner_id, w.describe()) for w in waiting] == [("P-US", "no W-9 on file")]
    batch.approve(program.session, "2026-01", actor="bob")
    january = batch.close(program.session, "2026-01", actor="bob")
    assert january.held == {"P-US": "tax form"}
    assert instructions(program.session, "P-US") == []
    hold = program.session.scalars(select(PayoutHold)).one()
    assert (hold.code, hold.reason, hold.balance_minor) == ("tax_form", "tax form", 1000)
    statement = build(program.session, "P-US", "2026-01")
    assert [h.reason for h in statement.holds] == ["tax form"]
    assert statement.amount_payable == 0
    assert statement.carry_forward == D("10.00")

    # The W-9 arrives in February: February's close pays both months, by itself.
    tax_profile(program, "P-US", amend=True, form="W-9", signed_on="2026-02-03")
    program.invoice(None, "50.00", "2026-02-15", customer="C-3")
    february = program.close_month("2026-02")
    assert february.held == {}
    assert instructions(program.session, "P-US") == [("2026-02", 1500)]


def test_an_expired_w8_holds(program: Program) -> None:
    referral_partner(program, "P-FR")
    # Signed in 2022: valid through 2025-12-31, expired for January 2026.
    tax_profile(
        program,
        "P-FR",
        tax_country="FR",
        entity_type="individual",
        form="W-8BEN",
        signed_on="2022-05-01",
    )
    program.invoice(None, "100.00", "2026-01-15", customer="C-3")
    january = program.close_month("2026-01")
    assert january.held == {"P-FR": "tax form"}
    assert instructions(program.session, "P-FR") == []


def test_a_w8_signed_within_three_years_pays(program: Program) -> None:
    referral_partner(program, "P-FR")
    tax_profile(
        program,
        "P-FR",
        tax_country="FR",
        entity_type="individual",
        form="W-8BEN",
        signed_on="2023-01-01",
    )
    program.invoice(None, "100.00", "2026-01-15", customer="C-3")
    assert program.close_month("2026-01").held == {}
    assert instructions(program.session, "P-FR") == [("2026-01", 1000)]


def test_a_partner_without_a_tax_profile_is_not_gated(program: Program) -> None:
    referral_partner(program, "P-OLD")
    program.invoice(None, "100.00", "2026-01-15", customer="C-3")
    assert program.close_month("2026-01").held == {}
    assert instructions(program.session, "P-OLD") == [("2026-01", 1000)]


def test_without_a_profile_a_partner_is_paid_unless_the_program_requires_forms(
    program: Program,
) -> None:
    referral_partner(program, "P-US")  # no tax profile at all
    program.invoice(None, "100.00", "2026-01-15", customer="C-3")
    assert program.close_month("2026-01").held == {}  # the default: not gated
    assert instructions(program.session, "P-US") == [("2026-01", 1000)]

    profiles.require_forms(program.session, True, actor="finance")
    program.invoice(None, "50.00", "2026-02-15", customer="C-3")
    batch.run(program.session, "2026-02", actor="alice")
    waiting = review.review(program.session, "2026-02").tax_form_holds
    assert [(w.partner_id, w.describe()) for w in waiting] == [
        ("P-US", "no tax profile on file: a W-9 or W-8 is needed")
    ]
    batch.approve(program.session, "2026-02", actor="bob")
    assert batch.close(program.session, "2026-02", actor="bob").held == {"P-US": "tax form"}
    hold = program.session.scalars(select(PayoutHold)).one()
    assert (hold.code, hold.balance_minor) == ("tax_form", 500)
    assert instructions(program.session, "P-US") == [("2026-01", 1000)]

    # A profile with a valid W-9 releases it at the next close, as any form does.
    tax_profile(program, "P-US", form="W-9", signed_on="2026-03-02")
    program.invoice(None, "10.00", "2026-03-15", customer="C-3")
    assert program.close_month("2026-03").held == {}
    assert instructions(program.session, "P-US") == [("2026-01", 1000), ("2026-03", 600)]
    [change] = [
        r
        for r in program.session.scalars(select(AuditEntry))
        if r.subject_id == profiles.FORMS_REQUIRED
    ]
    assert (change.actor, change.action) == ("finance", "program.setting")
