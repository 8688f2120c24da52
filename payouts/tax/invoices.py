"""Self-billed invoices: at close, the vendor writes the partner's invoice for it.

For a partner that agreed to self-billing (from its agreement's date on), every close
that pays it issues a self-billed invoice for the amount payable: one line per payable
statement line (plus the balance brought forward, never invoiced before since a held
balance is not paid), with the VAT its rule gives (`payouts.tax.vat`). A negative
prior-period adjustment (a refund of an earlier, invoiced month) is not a line of the
new invoice: it is a credit note that refers to the invoice it corrects. The payout
pays the invoice's and the credit note's gross, so the payout file, the statement's
invoice and the documents in the database agree to the cent.

Numbers come from the issuer's series (`invoice_series`), advanced in the closing
transaction under a row lock: concurrent closes queue for it and a close that rolls
back gives its number back. The database refuses a number that is not the issuer's
last plus one, and any change to an issued document (migration 0020).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from payouts import ledger
from payouts.errors import PayoutsError
from payouts.ledger import LedgerEntry
from payouts.periods import Month
from payouts.settings import get_settings
from payouts.tax.models import InvoiceSeries, SelfBilledInvoice, TaxProfile
from payouts.tax.vat import MENTIONS, VatLine, VatRule, line_vat, rate_for, rule_for

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
MENTION = "Self-billing"
"""Printed on every self-billed document, as the VAT rules for self-billing require."""


class SelfBillingNotConfigured(PayoutsError):
    """A partner agreed to self-billing but the issuing entity is not configured."""

    code = "self-billing-not-configured"
    status = 409


class LedgerDoesNotAddUp(PayoutsError):
    code = "self-billing-ledger-disagrees"
    status = 409


@dataclass(frozen=True, slots=True)
class Issuer:
    """The entity that issues the self-billed invoices (the partners' customer)."""

    id: str
    name: str
    vat_id: str
    domestic_rate: Decimal

    @property
    def country(self) -> str:
        prefix = self.vat_id[:2]
        return "GR" if prefix == "EL" else prefix

    @classmethod
    def from_settings(cls) -> Issuer:
        settings = get_settings()
        from stdnum.eu import vat
        from stdnum.exceptions import ValidationError as StdnumError

        if not settings.invoice_issuer_vat_id or not settings.invoice_issuer_name:
            raise SelfBillingNotConfigured(
                "a partner agreed to self-billing: set INVOICE_ISSUER_NAME and "
                "INVOICE_ISSUER_VAT_ID (and DOMESTIC_VAT_RATE) to issue its invoices"
            )
        try:
            vat_id = str(vat.validate(settings.invoice_issuer_vat_id))
            rate = Decimal(settings.domestic_vat_rate)
        except (StdnumError, InvalidOperation):
            raise SelfBillingNotConfigured(
                "INVOICE_ISSUER_VAT_ID must be a valid EU VAT id and DOMESTIC_VAT_RATE a "
                "fraction such as 0.19"
            ) from None
        if not (rate.is_finite() and 0 <= rate < 1):
            raise SelfBillingNotConfigured("DOMESTIC_VAT_RATE must be a fraction such as 0.19")
        return cls(settings.invoice_issuer, settings.invoice_issuer_name, vat_id, rate)


@dataclass(frozen=True, slots=True)
class Document:
    """An issued self-billed invoice or credit note, as statements print it."""

    number: int
    kind: str
    issuer: str
    issuer_name: str
    issuer_vat_id: str
    partner_vat_id: str | None
    issued_on: date
    currency: str
    rule: VatRule
    rate: Decimal
    lines: tuple[VatLine, ...]
    refers_to_number: int | None = None

    @property
    def net_minor(self) -> int:
        return sum(line.net_minor for line in self.lines)

    @property
    def vat_minor(self) -> int:
        return sum(line.vat_minor for line in self.lines)

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor

    @property
    def mention(self) -> str:
        return MENTIONS[self.rule]


def next_number(session: Session, issuer: str) -> int:
    """The issuer's next number, taken under the series row's lock (held to commit)."""
    if session.get(InvoiceSeries, issuer) is None:
        try:
            with session.begin_nested():
                session.add(InvoiceSeries(issuer=issuer, last_number=0))
        except IntegrityError:  # another close created the series first: use it
            pass
    session.execute(
        update(InvoiceSeries)
        .where(InvoiceSeries.issuer == issuer)
        .values(last_number=InvoiceSeries.last_number + 1)
    )
    number = session.scalar(select(InvoiceSeries.last_number).where(InvoiceSeries.issuer == issuer))
    assert number is not None
    return int(number)


def _lines_of(
    session: Session, partner_id: str, period: str, currency: str
) -> list[tuple[LedgerEntry | None, VatLine]]:
    """The statement's payable lines (net, VAT still 0), the opening balance first."""
    month = Month.parse(period)
    opening = ledger.balance(session, partner_id, up_to_period=str(month.previous()))
    found: list[tuple[LedgerEntry | None, VatLine]] = []
    if opening:
        found.append((None, VatLine(f"{period}-opening", "balance brought forward", opening, 0)))
    for entry in session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.partner_id == partner_id,
            LedgerEntry.period == period,
            LedgerEntry.currency == currency,
            LedgerEntry.entry_kind != "payout",
        )
        .order_by(LedgerEntry.line_no)
    ):
        description = f"{entry.source_fact} \u00b7 {entry.component_id or entry.entry_kind}"
        line = VatLine(f"{period}-{entry.line_no}", description, entry.amount_minor, 0)
        found.append((entry, line))
    return found


@dataclass(frozen=True, slots=True)
class _Terms:
    """What every document of one partner's close shares."""

    rule: VatRule
    rate: Decimal
    currency: str
    profile: TaxProfile


@dataclass
class Invoicing:
    """The self-billed documents of one close: `issue` is called for each payout."""

    session: Session
    period: str
    issuer: Issuer | None = None
    profiles: dict[str, TaxProfile] = field(default_factory=dict)

    @classmethod
    def for_close(cls, session: Session, period: str) -> Invoicing:
        month = Month.parse(period)
        agreed = {
            p.id: p
            for p in session.scalars(
                select(TaxProfile).where(
                    TaxProfile.self_billing, TaxProfile.self_billing_from <= month.end
                )
            )
        }
        return cls(session, str(month), None, agreed)

    def issue(self, partner_id: str, balance_minor: int, currency: str) -> int:
        """Issue the partner's documents for a payout of `balance_minor`; the VAT to add
        to the payout (0 when the partner does not self-bill)."""
        profile = self.profiles.get(partner_id)
        if profile is None:
            return 0
        if self.issuer is None:
            self.issuer = Issuer.from_settings()
        issuer = self.issuer
        rule = rule_for(issuer.country, profile.tax_country, profile.entity_type == "business")
        rate = rate_for(rule, issuer.domestic_rate)
        lines = _lines_of(self.session, partner_id, self.period, currency)
        if sum(line.net_minor for _, line in lines) != balance_minor:
            raise LedgerDoesNotAddUp(
                f"the ledger lines of {partner_id} in {self.period} do not add up to the "
                f"balance paid ({balance_minor} minor units {currency})"
            )
        invoice_lines: list[VatLine] = []
        credits: dict[int, list[VatLine]] = {}
        for entry, line in lines:
            taxed = VatLine(
                line.line_id,
                line.description,
                line.net_minor,
                line_vat(line.net_minor, rate, currency),
            )
            corrected = self._corrected_invoice(entry)
            if corrected is not None:
                credits.setdefault(corrected, []).append(taxed)
            else:
                invoice_lines.append(taxed)
        terms = _Terms(rule, rate, currency, profile)
        invoice = self._store(INVOICE, invoice_lines, None, terms)
        vat = invoice.vat_minor
        for refers_to, credit_lines in sorted(credits.items()):
            vat += self._store(CREDIT_NOTE, credit_lines, refers_to, terms).vat_minor
        return vat

    def _corrected_invoice(self, entry: LedgerEntry | None) -> int | None:
        """The id of the invoice a negative prior-period adjustment corrects, if any."""
        if entry is None or entry.entry_kind != "adjustment" or entry.amount_minor >= 0:
            return None
        query = select(SelfBilledInvoice.id).where(
            SelfBilledInvoice.partner_id == entry.partner_id,
            SelfBilledInvoice.kind == INVOICE,
            SelfBilledInvoice.period < self.period,
            SelfBilledInvoice.id.not_in(_cancelled_invoices(entry.partner_id)),
        )
        exact = self.session.scalar(query.where(SelfBilledInvoice.period == entry.prior_period))
        if exact is not None:
            return int(exact)
        latest = self.session.scalar(query.order_by(SelfBilledInvoice.period.desc()).limit(1))
        return None if latest is None else int(latest)

    def _store(
        self,
        kind: str,
        lines: list[VatLine],
        refers_to: int | None,
        terms: _Terms,
    ) -> SelfBilledInvoice:
        assert self.issuer is not None
        profile = terms.profile
        net = sum(line.net_minor for line in lines)
        vat = sum(line.vat_minor for line in lines)
        document = SelfBilledInvoice(
            issuer=self.issuer.id,
            number=next_number(self.session, self.issuer.id),
            kind=kind,
            refers_to=refers_to,
            partner_id=profile.id,
            period=self.period,
            issued_on=Month.parse(self.period).end,
            currency=terms.currency,
            net_minor=net,
            vat_minor=vat,
            gross_minor=net + vat,
            vat_rule=terms.rule.value,
            vat_rate=f"{terms.rate:f}",
            supplier_vat_id=profile.vat_id,
            customer_vat_id=self.issuer.vat_id,
            customer_name=self.issuer.name,
            lines=json.dumps(
                [[x.line_id, x.description, x.net_minor, x.vat_minor] for x in lines],
                separators=(",", ":"),
                ensure_ascii=False,
            ),
        )
        self.session.add(document)
        self.session.flush()
        return document


def _cancelled_invoices(partner_id: str) -> Select[Any]:
    """The partner's invoices a failed payout cancelled: a credit note of an invoice's own
    period is a cancellation (a correction comes in a later period)."""
    invoice = aliased(SelfBilledInvoice)
    return (
        select(SelfBilledInvoice.refers_to)
        .join(invoice, invoice.id == SelfBilledInvoice.refers_to)
        .where(
            SelfBilledInvoice.partner_id == partner_id,
            SelfBilledInvoice.kind == CREDIT_NOTE,
            SelfBilledInvoice.period == invoice.period,
        )
    )


def cancel(session: Session, partner_id: str, period: str, on: date) -> int:
    """Cancel the documents a failed payout of `period` carried: one credit note that
    refers to the period's invoice and undoes each of their lines. Returns the VAT it
    takes back (0 without self-billing: nothing was invoiced)."""
    issued = list(
        session.scalars(
            select(SelfBilledInvoice)
            .where(SelfBilledInvoice.partner_id == partner_id, SelfBilledInvoice.period == period)
            .order_by(SelfBilledInvoice.number)
        )
    )
    invoice = next((d for d in issued if d.kind == INVOICE), None)
    if invoice is None:
        return 0
    lines = [
        VatLine(f"{line_id}-cancelled", description, -net, -vat)
        for d in issued
        for line_id, description, net, vat in json.loads(d.lines)
    ]
    net = sum(line.net_minor for line in lines)
    vat = sum(line.vat_minor for line in lines)
    session.add(
        SelfBilledInvoice(
            issuer=invoice.issuer,
            number=next_number(session, invoice.issuer),
            kind=CREDIT_NOTE,
            refers_to=invoice.id,
            partner_id=partner_id,
            period=period,
            issued_on=on,
            currency=invoice.currency,
            net_minor=net,
            vat_minor=vat,
            gross_minor=net + vat,
            vat_rule=invoice.vat_rule,
            vat_rate=invoice.vat_rate,
            supplier_vat_id=invoice.supplier_vat_id,
            customer_vat_id=invoice.customer_vat_id,
            customer_name=invoice.customer_name,
            lines=json.dumps(
                [[x.line_id, x.description, x.net_minor, x.vat_minor] for x in lines],
                separators=(",", ":"),
                ensure_ascii=False,
            ),
        )
    )
    session.flush()
    return -vat


def documents(session: Session, partner_id: str, period: str) -> list[Document]:
    """The self-billed documents issued with a partner's statement, invoice first."""
    return documents_of(session, period, [partner_id]).get(partner_id, [])


def documents_of(
    session: Session, period: str, partner_ids: Sequence[str]
) -> dict[str, list[Document]]:
    """The self-billed documents issued with each statement of a slice of partners
    (invoice first; a partner without any is absent): two queries for the slice."""
    rows = list(
        session.scalars(
            select(SelfBilledInvoice)
            .where(
                SelfBilledInvoice.partner_id.in_(list(partner_ids)),
                SelfBilledInvoice.period == period,
            )
            .order_by(SelfBilledInvoice.number)
        )
    )
    referred = {r.refers_to for r in rows if r.refers_to}
    numbers = (
        {
            row.id: row.number
            for row in session.scalars(
                select(SelfBilledInvoice).where(SelfBilledInvoice.id.in_(referred))
            )
        }
        if referred
        else {}
    )
    found: dict[str, list[Document]] = {}
    for row in rows:
        found.setdefault(row.partner_id, []).append(
            Document(
                number=row.number,
                kind=row.kind,
                issuer=row.issuer,
                issuer_name=row.customer_name,
                issuer_vat_id=row.customer_vat_id,
                partner_vat_id=row.supplier_vat_id,
                issued_on=row.issued_on,
                currency=row.currency,
                rule=VatRule(row.vat_rule),
                rate=Decimal(row.vat_rate),
                lines=tuple(VatLine(*item) for item in json.loads(row.lines)),
                refers_to_number=numbers.get(row.refers_to) if row.refers_to else None,
            )
        )
    return found
