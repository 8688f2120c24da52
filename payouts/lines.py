"""The columns every calculated line carries, from draft to posted ledger entry.

A line names the plan version and component that produced it, the source fact, the
base amount, the rate, the FX rate and its source, the exact unrounded value and the
amount rounded once (integer minor units), and the step-by-step explanation.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from payouts.base import Currency, ExternalId


class LineColumns:
    period: Mapped[str] = mapped_column(String(7), doc="Accounting month the line belongs to.")
    partner_id: Mapped[str] = mapped_column(ExternalId)
    line_no: Mapped[int] = mapped_column(doc="Position in the partner's period, from 1.")
    entry_kind: Mapped[str] = mapped_column(String(16))
    prior_period: Mapped[str | None] = mapped_column(
        String(7), doc="Set on a prior-period adjustment: the month the fact belongs to."
    )
    plan_label: Mapped[str | None] = mapped_column(String(120), doc="plan@vN#hash8")
    component_id: Mapped[str | None] = mapped_column(String(64))
    component_kind: Mapped[str | None] = mapped_column(String(32))
    source_fact: Mapped[str] = mapped_column(String(100), doc="kind:id of the fact behind it.")
    fact_date: Mapped[date]
    customer_id: Mapped[str | None] = mapped_column(ExternalId)
    deal_id: Mapped[str | None] = mapped_column(ExternalId)
    invoice_id: Mapped[str | None] = mapped_column(ExternalId)
    base_minor: Mapped[int] = mapped_column(BigInteger, doc="Base in minor units of base_currency.")
    base_currency: Mapped[str] = mapped_column(Currency)
    rate: Mapped[str | None] = mapped_column(String(40), doc="Rate as an exact decimal fraction.")
    fx_rate: Mapped[str | None] = mapped_column(String(40))
    fx_source: Mapped[str | None] = mapped_column(String(200))
    unrounded: Mapped[str] = mapped_column(String(60), doc="Exact value before the one rounding.")
    amount_minor: Mapped[int] = mapped_column(
        BigInteger, doc="The line's amount in minor units of `currency`, rounded once."
    )
    currency: Mapped[str] = mapped_column(Currency)
    explanation: Mapped[str] = mapped_column(Text, doc="Readable steps, one per line.")
