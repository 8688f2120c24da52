"""Which partners a fact reaches, and which invoices a referral partner is paid on.

A fact reaches a partner when the partner's plans must see it to calculate its month:

- an invoice reaches every partner with a role on its deal, and every partner who
  referred its customer (holds the ``referral`` role on any deal of that customer
  closed by the end of the month), whatever deal the invoice is on;
- a refund reaches the partners its invoice reaches;
- a cancellation reaches the partners the customer's invoices reach, and the
  customer's referrers;
- a deal closed in the month reaches every partner with a role on it.

Reaching is wider than paying: a referrer sees all of its customer's invoices (the
customer's first invoice starts a ``first_n_months`` term, a cancellation ends a
``lifetime`` one) but is paid only on those `referral_pays_on` names.

`payouts` gathers each partner's month with these definitions; the referral rule
(`plans.components.referral_fee`) pays with `referral_pays_on`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from plans.facts import Deal, Invoice


@dataclass
class Referrals:
    """Who referred which customer, and on which deals (those closed by month end)."""

    referrers: dict[str, set[str]] = field(default_factory=dict)
    """customer -> the partners who referred it"""
    deals: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(customer, partner) -> the partner's referral deals with that customer"""

    @classmethod
    def of(cls, roles: Iterable[tuple[str, str, str]]) -> Referrals:
        """From (customer, partner, deal) of every referral role."""
        found = cls()
        for customer_id, partner_id, deal_id in roles:
            found.referrers.setdefault(customer_id, set()).add(partner_id)
            found.deals.setdefault((customer_id, partner_id), set()).add(deal_id)
        return found


def deal_partners(deal: Deal) -> tuple[str, ...]:
    """The partners a deal's facts reach: every partner with a role on it, in role order."""
    return tuple(dict.fromkeys(r.partner_id for r in deal.roles))


def invoice_partners(invoice: Invoice, deals: Mapping[str, Deal], referrals: Referrals) -> set[str]:
    """The partners an invoice reaches: its deal's partners and its customer's referrers."""
    found = set(referrals.referrers.get(invoice.customer_id, ()))
    if invoice.deal_id and invoice.deal_id in deals:
        found.update(deal_partners(deals[invoice.deal_id]))
    return found


def referral_pays_on(invoice: Invoice, referral_deals: set[str], referred: set[str]) -> bool:
    """Whether a referral partner is paid on the invoice: it is on one of the partner's
    referral deals, or it has no deal (a renewal) and its customer is one it referred."""
    return invoice.deal_id in referral_deals or (
        invoice.deal_id is None and invoice.customer_id in referred
    )
