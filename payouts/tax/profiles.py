"""Which tax form a partner needs, how long a form stays valid, and who has none.

The form a payee owes depends on who it is for US tax purposes:

- a US person (tax country `US`) gives a W-9, which does not expire;
- a foreign individual gives a W-8BEN, a foreign entity a W-8BEN-E. A W-8 "remains in
  effect until the last day of the third succeeding calendar year" after the year it
  was signed (26 CFR 1.1441-1(e)(4)(ii)(A)): one signed on 2023-06-15 is valid through
  2026-12-31;
- finance may record that no form is required (`none_required`), for a payee outside
  the program's US reporting.

A partner with a tax profile is paid only while the form it owes is on file and valid
on the last day of the month being closed (never the clock: a close gives the same
answer whenever it runs). A partner without a tax profile is gated only when the
program requires tax forms (the program setting `tax.forms_required`, finance's,
`payouts tax forms-required on`): then no profile means no form, and it is held for
"tax form" like a missing one. Off (the default), collection starts when its profile
is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts import program_settings
from payouts.reference.models import Partner
from payouts.tax.models import TaxProfile

W9 = "W-9"
W8BEN = "W-8BEN"
W8BEN_E = "W-8BEN-E"
NONE_REQUIRED = "none_required"
W8_FORMS = (W8BEN, W8BEN_E)
TAX_FORM_HOLD = "tax_form"
"""The hold code of a payout waiting for a tax form."""
TAX_FORM_REASON = "tax form"
"""The hold's reason as statements print it (translated there by its code)."""
FORMS_REQUIRED = "tax.forms_required"
"""The program setting: when on, a partner without a tax profile is held for its form."""
NO_PROFILE = "no profile"


def w8_expiry(signed_on: date) -> date:
    """The last day a W-8 signed on `signed_on` is valid: 31 December of the third
    calendar year after the year of signing."""
    return date(signed_on.year + 3, 12, 31)


def expiry(form: str | None, signed_on: date | None) -> date | None:
    """When a form on file stops being valid (None: it does not expire)."""
    if form in W8_FORMS and signed_on is not None:
        return w8_expiry(signed_on)
    return None


def required_form(tax_country: str, entity_type: str) -> str:
    """The form a payee owes: a W-9 from a US person, a W-8 from anyone else."""
    if tax_country == "US":
        return W9
    return W8BEN if entity_type == "individual" else W8BEN_E


@dataclass(frozen=True, slots=True)
class FormGap:
    """Why a partner's payout waits for a tax form."""

    partner_id: str
    required: str
    on_file: str | None
    problem: str
    """``missing``, ``expired``, ``wrong form`` or ``no profile``."""
    expired_on: date | None = None

    def describe(self) -> str:
        if self.problem == "expired":
            return f"{self.on_file} expired on {self.expired_on}: a new {self.required} is needed"
        if self.problem == NO_PROFILE:
            return f"no tax profile on file: a {self.required} is needed"
        if self.problem == "wrong form":
            return f"{self.on_file} on file, a {self.required} is needed"
        return f"no {self.required} on file"


def gap(profile: TaxProfile, on: date) -> FormGap | None:
    """What is wrong with the partner's form on day `on`, or None when it may be paid."""
    if profile.form == NONE_REQUIRED:
        return None
    required = required_form(profile.tax_country, profile.entity_type)
    if profile.form is None or profile.signed_on is None or profile.signed_on > on:
        return FormGap(profile.id, required, None, "missing")
    if profile.form != required:
        return FormGap(profile.id, required, profile.form, "wrong form")
    if profile.expires_on is not None and profile.expires_on < on:
        return FormGap(profile.id, required, profile.form, "expired", profile.expires_on)
    return None


def forms_required(session: Session) -> bool:
    """Whether a partner without a tax profile is held for its form (default: no)."""
    return program_settings.is_on(session, FORMS_REQUIRED)


def require_forms(session: Session, on: bool, *, actor: str) -> None:
    """Hold partners without a tax profile from now on, or stop holding them."""
    program_settings.turn(session, FORMS_REQUIRED, on, actor=actor)


def gaps(
    session: Session, on: date, partner_ids: Iterable[str] | None = None
) -> dict[str, FormGap]:
    """Every partner (or those named) whose payout waits for a tax form on day `on`."""
    wanted = None if partner_ids is None else sorted(set(partner_ids))
    query = select(TaxProfile).order_by(TaxProfile.id)
    if wanted is not None:
        query = query.where(TaxProfile.id.in_(wanted))
    found: dict[str, FormGap] = {}
    for profile in session.scalars(query):
        problem = gap(profile, on)
        if problem is not None:
            found[profile.id] = problem
    if forms_required(session):
        found.update(_without_profile(session, wanted))
    return dict(sorted(found.items()))


def _without_profile(session: Session, wanted: list[str] | None) -> dict[str, FormGap]:
    """Partners with no tax profile at all: the form they owe, by their country."""
    query = (
        select(Partner.id, Partner.country)
        .where(Partner.id.not_in(select(TaxProfile.id)))
        .order_by(Partner.id)
    )
    if wanted is not None:
        query = query.where(Partner.id.in_(wanted))
    return {
        partner_id: FormGap(partner_id, _owed_without_profile(country), None, NO_PROFILE)
        for partner_id, country in session.execute(query)
    }


def _owed_without_profile(country: str | None) -> str:
    """The form a partner owes when only its country is known (if that)."""
    if country == "US":
        return W9
    return f"{W8BEN} or {W8BEN_E}" if country else f"{W9} or W-8"
