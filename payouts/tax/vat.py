"""VAT on a self-billed invoice: which rule applies, and the VAT of each line.

The vendor (the issuer, the customer of the partner's service) writes the invoice in
the partner's (the supplier's) name. The rule follows from where each is established:

| partner (supplier)                           | rule             | VAT on the invoice      |
|----------------------------------------------|------------------|-------------------------|
| same country as the issuer                   | `domestic`       | the configured rate     |
| a business in another EU member state        | `reverse_charge` | none: "Reverse charge"  |
| outside the EU, or an EU individual abroad   | `outside_scope`  | none: outside EU VAT    |

(An EU individual is not a taxable person: it charges no VAT.) VAT is computed per
line, rounded once per line half-up to the currency's minor unit by
`plans.money.round_money`, and the invoice's VAT is the sum of its lines' VAT: the
invoice adds up cent for cent, whatever the number of lines.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from plans.money import Rounding, from_minor, round_money, to_minor

EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip
"""ISO 3166 codes of the 27 member states (Greece is GR here, EL in its VAT ids)."""


class VatRule(enum.StrEnum):
    domestic = "domestic"
    reverse_charge = "reverse_charge"
    outside_scope = "outside_scope"


MENTIONS = {
    VatRule.domestic: "",
    VatRule.reverse_charge: "Reverse charge",
    VatRule.outside_scope: "Outside the scope of EU VAT",
}
"""What the invoice must say about the VAT it does not charge."""


def rule_for(issuer_country: str, partner_country: str, partner_is_business: bool) -> VatRule:
    """The VAT rule of an invoice from a partner in `partner_country` to the issuer."""
    if partner_country == issuer_country:
        return VatRule.domestic
    if partner_country in EU_MEMBER_STATES and partner_is_business:
        return VatRule.reverse_charge
    return VatRule.outside_scope


def rate_for(rule: VatRule, domestic_rate: Decimal) -> Decimal:
    return domestic_rate if rule is VatRule.domestic else Decimal(0)


@dataclass(frozen=True, slots=True)
class VatLine:
    """One invoice line: its net amount (as the statement has it), VAT and gross, in
    minor units of the payout currency."""

    line_id: str
    description: str
    net_minor: int
    vat_minor: int

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor


def line_vat(net_minor: int, rate: Decimal, currency: str) -> int:
    """The VAT of one line, rounded once, half-up, to the minor unit."""
    vat = round_money(from_minor(net_minor, currency) * rate, currency, Rounding.half_up)
    return to_minor(vat, currency)
