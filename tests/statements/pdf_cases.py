"""A fixed set of statements that together reach every part of the PDF layout.

Finance compares statement files byte for byte, so a faster renderer must print the
same bytes as the one it replaces: ``tests/statements/test_pdf_bytes.py`` holds the
SHA-256 of each case's PDF as rendered before the layout was cached, and
``python -m tests.statements.pdf_cases`` prints them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from payouts.tax.invoices import Document
from payouts.tax.vat import VatLine, VatRule
from statements.canonical import seal
from statements.model import Hold, LineKind, PayoutState, Statement
from statements.pdf import render_pdf
from tests.statements.factories import synthetic_lines, synthetic_statement, tier_progress


@dataclass(frozen=True)
class Case:
    statement: Statement
    payout: PayoutState | None = None
    documents: Sequence[Document] = ()

    def pdf(self) -> bytes:
        return render_pdf(self.statement, self.payout, self.documents)

    def digest(self) -> str:
        return hashlib.sha256(self.pdf()).hexdigest()


def _with_fx_and_manual(seed: int) -> Statement:
    """Lines converted at an FX rate, and manual adjustments with their reasons."""
    lines = synthetic_lines(24, seed=seed, currency="EUR")
    changed = []
    for index, line in enumerate(lines):
        if index % 4 == 0:
            line = replace(line, base_currency="USD", fx_rate=Decimal("0.9215"))
        if line.line_kind is LineKind.adjustment or index == 5:
            line = replace(
                line,
                line_kind=LineKind.adjustment,
                payable=True,
                component="manual adjustment",
                component_kind="manual",
                explanation=f"Inquiry Q-{index}: credit agreed\nApproved by finance",
            )
        changed.append(line)
    return synthetic_statement(
        line_list=changed, locale="de_DE", currency="EUR", partner_name="Nordwind Vertrieb GmbH"
    )


def _paid(statement: Statement, reference: str) -> Statement:
    return replace(statement, payout_reference=reference)


def _documents() -> tuple[Document, ...]:
    lines = (
        VatLine("L-1", "referral-lifetime on invoice:INV-00001", 12_345, 0),
        VatLine("L-2", "Stark Industries International Holdings, volume rebate Q1", 99_900, 0),
    )
    invoice = Document(
        number=7,
        kind="invoice",
        issuer="vendor-gmbh",
        issuer_name="Vendor GmbH",
        issuer_vat_id="DE136695976",
        partner_vat_id="FR40303265045",
        issued_on=date(2026, 3, 31),
        currency="EUR",
        rule=VatRule.reverse_charge,
        rate=Decimal("0"),
        lines=lines,
    )
    credit = Document(
        number=8,
        kind="credit_note",
        issuer="vendor-gmbh",
        issuer_name="Vendor GmbH",
        issuer_vat_id="DE136695976",
        partner_vat_id=None,
        issued_on=date(2026, 3, 31),
        currency="EUR",
        rule=VatRule.domestic,
        rate=Decimal("0.19"),
        lines=(VatLine("L-3", "refund:RF-00003 株式会社", -5_000, -950),),
        refers_to_number=3,
    )
    return (invoice, credit)


def _cases() -> dict[str, Callable[[], Case]]:
    hold = (Hold("below_minimum", "below the minimum payout 50.00 USD"),)
    return {
        **{
            f"en-30-seed{seed}": (lambda seed=seed: Case(seal(synthetic_statement(30, seed=seed))))
            for seed in range(4)
        },
        "en-60-hold": lambda: Case(
            seal(synthetic_statement(60, seed=11, holds=hold, opening_balance="10.00"))
        ),
        **{
            f"{locale}-60": (
                lambda locale=locale, currency=currency: Case(
                    seal(
                        synthetic_statement(
                            60,
                            seed=11,
                            locale=locale,
                            currency=currency,
                            partner_name="Nordwind Vertrieb GmbH",
                            holds=hold,
                        )
                    )
                )
            )
            for locale, currency in (
                ("de_DE", "EUR"),
                ("fr_FR", "EUR"),
                ("es_ES", "EUR"),
                ("ja_JP", "USD"),
            )
        },
        "ja-cjk-name": lambda: Case(
            seal(
                synthetic_statement(
                    12, seed=2, locale="ja_JP", partner_name="東京パートナー株式会社"
                )
            )
        ),
        "long-name": lambda: Case(
            seal(synthetic_statement(8, seed=4, partner_name="Wayne Enterprises " * 12))
        ),
        "en-400-pages": lambda: Case(seal(synthetic_statement(400, seed=5))),
        "empty": lambda: Case(
            seal(synthetic_statement(0, with_payout=False, opening_balance="0.00"))
        ),
        "no-tier": lambda: Case(seal(replace(synthetic_statement(10, seed=6), tier=None))),
        "tier-not-at-risk": lambda: Case(
            seal(replace(synthetic_statement(10, seed=7), tier=tier_progress(at_risk=False)))
        ),
        "fx-and-manual-de": lambda: Case(seal(_with_fx_and_manual(8))),
        "paid": lambda: Case(
            seal(_paid(synthetic_statement(20, seed=9), "PP-2026-03-P-000123")),
            PayoutState("paid", bank_reference="BANK-REF-991"),
        ),
        "failed": lambda: Case(
            seal(_paid(synthetic_statement(20, seed=10), "PP-2026-03-P-000123")),
            PayoutState("failed", reason="account closed", returned_in="2026-04"),
        ),
        "pending": lambda: Case(
            seal(_paid(synthetic_statement(20, seed=12), "PP-2026-03-P-000123")),
            PayoutState("pending"),
        ),
        "self-billed-fr": lambda: Case(
            seal(synthetic_statement(15, seed=13, locale="fr_FR", currency="EUR")),
            None,
            _documents(),
        ),
        "unsealed": lambda: Case(synthetic_statement(5, seed=3)),
    }


CASES = _cases()


def digests() -> dict[str, str]:
    return {name: make().digest() for name, make in CASES.items()}


if __name__ == "__main__":
    for name, digest in digests().items():
        print(f'    "{name}": "{digest}",')
