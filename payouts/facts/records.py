"""Incoming fact records: the exact shape billing and the CRM send, validated.

The same models serve the CSV import and the HTTP API, so both apply the same rules.
Amounts arrive as plain decimal strings (`"100.00"`: ASCII digits, at most
`MAX_AMOUNT_DIGITS` before the point, no more decimals than the currency's minor unit),
never JSON numbers; currencies are ISO 4217 codes of money that is paid; FX rates are
plain decimal strings within `payouts.fx`'s bounds; dates are ISO YYYY-MM-DD.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from payouts import fx
from plans.errors import InvalidAmount
from plans.money import PAYABLE_CURRENCIES, currency_problem, minor_exponent, parse_plain_decimal

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# At most 12 digits before the point: under a trillion in any currency (999,999,999,999
# Vietnamese dong is about $38 million), so one amount is below 10**15 minor
# units, and BIGINT (9.2 * 10**18) holds the sum of 9,000 of the largest amounts in a
# three-decimal currency, 92,000 in a two-decimal one: a partner's month of lines (each
# a fraction of its fact) stays far inside.
MAX_AMOUNT_DIGITS = 12
MAX_MINOR_DIGITS = max(minor_exponent(code) for code in PAYABLE_CURRENCIES)
AMOUNT_PATTERN = rf"^[0-9]{{1,{MAX_AMOUNT_DIGITS}}}(\.[0-9]{{1,{MAX_MINOR_DIGITS}}})?$"


def _amount(value: Any) -> Decimal:
    try:
        return parse_plain_decimal(value, "amount", integer_digits=MAX_AMOUNT_DIGITS)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None


def _rate(value: Any) -> Decimal:
    try:
        return fx.parse_rate(value)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None


def _iso_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not ISO_DATE.fullmatch(text):
        raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid calendar date") from None


def _currency(value: Any) -> str:
    code = value.strip() if isinstance(value, str) else value
    problem = currency_problem(code)
    if problem is not None:
        raise ValueError(problem)
    return str(code)


# Documented as what they are on the wire: decimal strings, never JSON numbers.
Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": AMOUNT_PATTERN,
            "examples": ["100.00"],
            "description": f"A decimal string: ASCII digits, at most {MAX_AMOUNT_DIGITS} before "
            "the point, and no more decimals than the currency's minor unit.",
        }
    ),
]
Rate = Annotated[
    Decimal,
    BeforeValidator(_rate),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": fx.RATE_PATTERN,
            "examples": ["1.0850"],
            "description": f"Units of to_currency per unit of from_currency, a decimal string "
            f"between {fx.MIN_RATE} and {fx.MAX_RATE}.",
        }
    ),
]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
CurrencyCode = Annotated[str, BeforeValidator(_currency)]
# No control characters anywhere: PostgreSQL refuses NUL in text, SQLite would keep it.
SourceId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\s\x00-\x1f\x7f]+$"
    ),
]
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
ShortText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


def _check_precision(amount: Decimal, currency: str, field: str) -> None:
    """As many decimals as written, at most the currency's minor unit (`100.000` USD is
    refused, like `100.001`: the documented form has the currency's precision)."""
    exponent = minor_exponent(currency)
    written = -int(amount.as_tuple().exponent)
    if written > exponent:
        raise ValueError(f"{field} {amount} has more decimals than {currency} allows ({exponent})")


class FactRecord(BaseModel):
    """Base of every incoming record: the source system's id and strict fields."""

    # Validators are built on first use, not when the module is imported: a command that
    # only names the kinds of facts (`payouts facts import --help`) builds none of them.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )

    id: SourceId

    def accounting_day(self) -> date | None:
        """The date that decides the accounting period, for facts that carry money."""
        return None


class PartnerRecord(FactRecord):
    name: Name
    type: Literal["reseller", "var", "mssp", "gsi", "referral", "isv", "csp", "audit"]
    status: Literal["active", "on_hold", "terminated"] = "active"
    payout_currency: CurrencyCode
    locale: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] = "en_US"
    country: Country | None = None
    account_holder: Name | None = None
    iban: Annotated[str, StringConstraints(max_length=42)] | None = None
    bic: Annotated[str, StringConstraints(max_length=11)] | None = None

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from schwifty import IBAN
        from schwifty.exceptions import SchwiftyException

        try:
            return str(IBAN(value).compact)
        except SchwiftyException as exc:
            raise ValueError(f"IBAN is not valid: {exc}") from None

    @field_validator("bic")
    @classmethod
    def _valid_bic(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from schwifty import BIC
        from schwifty.exceptions import SchwiftyException

        try:
            return str(BIC(value).compact)
        except SchwiftyException as exc:
            raise ValueError(f"BIC is not valid: {exc}") from None


class RepRecord(FactRecord):
    name: Name
    team: ShortText | None = None
    currency: CurrencyCode


class CustomerRecord(FactRecord):
    name: Name
    country: Country | None = None


class DealRecord(FactRecord):
    customer_id: SourceId
    list_amount: Amount = Field(ge=0)
    net_amount: Amount = Field(ge=0)
    currency: CurrencyCode
    close_date: IsoDate
    owner_rep_id: SourceId | None = None
    independence: Literal["vendor_led", "assisted", "independent"] = "vendor_led"

    @model_validator(mode="after")
    def _amounts(self) -> DealRecord:
        _check_precision(self.list_amount, self.currency, "list_amount")
        _check_precision(self.net_amount, self.currency, "net_amount")
        return self

    def accounting_day(self) -> date:
        return self.close_date


class DealRoleRecord(FactRecord):
    deal_id: SourceId
    partner_id: SourceId
    role: Literal["sourced", "resale", "fulfilment", "referral", "influence"]
    influence_kind: Literal["endorsement", "integration_requirement", "active_in_sale"] | None = (
        None
    )

    @model_validator(mode="after")
    def _influence_kind(self) -> DealRoleRecord:
        if self.role == "influence" and self.influence_kind is None:
            raise ValueError("an influence role needs influence_kind")
        if self.role != "influence" and self.influence_kind is not None:
            raise ValueError("influence_kind is only for the influence role")
        return self


class DealRegistrationRecord(FactRecord):
    deal_id: SourceId
    partner_id: SourceId
    status: Literal["pending", "approved", "rejected"]
    approved_at: IsoDate | None = None
    expires_at: IsoDate | None = None

    @model_validator(mode="after")
    def _dates(self) -> DealRegistrationRecord:
        if self.status == "approved" and self.approved_at is None:
            raise ValueError("an approved registration needs approved_at")
        if self.approved_at and self.expires_at and self.expires_at < self.approved_at:
            raise ValueError("expires_at is before approved_at")
        return self


class InvoiceRecord(FactRecord):
    customer_id: SourceId
    deal_id: SourceId | None = None
    subscription_id: SourceId | None = None
    issue_date: IsoDate
    amount: Amount = Field(ge=0)
    currency: CurrencyCode

    @model_validator(mode="after")
    def _amount(self) -> InvoiceRecord:
        _check_precision(self.amount, self.currency, "amount")
        return self

    def accounting_day(self) -> date:
        return self.issue_date


class PaymentRecord(FactRecord):
    invoice_id: SourceId
    paid_date: IsoDate
    amount: Amount = Field(gt=0)
    currency: CurrencyCode

    @model_validator(mode="after")
    def _amount(self) -> PaymentRecord:
        _check_precision(self.amount, self.currency, "amount")
        return self

    def accounting_day(self) -> date:
        return self.paid_date


class RefundRecord(FactRecord):
    invoice_id: SourceId
    refund_date: IsoDate
    amount: Amount = Field(gt=0)
    currency: CurrencyCode
    kind: Literal["refund", "credit_note"] = "refund"

    @model_validator(mode="after")
    def _amount(self) -> RefundRecord:
        _check_precision(self.amount, self.currency, "amount")
        return self

    def accounting_day(self) -> date:
        return self.refund_date


class CancellationRecord(FactRecord):
    customer_id: SourceId
    subscription_id: SourceId | None = None
    end_date: IsoDate

    def accounting_day(self) -> date:
        return self.end_date


class CertificationRecord(FactRecord):
    partner_id: SourceId
    name: Name
    earned_at: IsoDate
    expires_at: IsoDate | None = None

    @model_validator(mode="after")
    def _dates(self) -> CertificationRecord:
        if self.expires_at is not None and self.expires_at < self.earned_at:
            raise ValueError("expires_at is before earned_at")
        return self


class CampaignRecord(FactRecord):
    partner_id: SourceId
    name: Name
    date: IsoDate


def _checked_vat_id(value: str, country: str) -> str:
    """A VAT id in its compact form, its format and check digit checked (python-stdnum):
    an EU id by `stdnum.eu.vat`, another country's by that country's module."""
    import stdnum
    from stdnum.eu import vat as eu_vat
    from stdnum.exceptions import ValidationError as StdnumError

    module: Any = eu_vat
    if value[:2].lower() not in (*eu_vat.MEMBER_STATES, "el", "xi") and country:
        module = stdnum.get_cc_module(country.lower(), "vat") or eu_vat
    try:
        return str(module.validate(value))
    except StdnumError as exc:
        raise ValueError(f"VAT id is not valid: {exc}") from None


class TaxProfileRecord(FactRecord):
    """A partner's tax profile; `id` is the partner's id (one profile per partner).

    `taxpayer_id` is read only to keep its last four characters: the full number is
    never stored. `vat_id` is checked for its country's format and check digit."""

    tax_country: Country
    entity_type: Literal["individual", "business"]
    form: Literal["W-9", "W-8BEN", "W-8BEN-E", "none_required"] | None = None
    signed_on: IsoDate | None = None
    taxpayer_id: (
        Annotated[str, StringConstraints(min_length=4, max_length=20, pattern=r"^[0-9A-Za-z-]+$")]
        | None
    ) = None
    vat_id: Annotated[str, StringConstraints(max_length=30)] | None = None
    self_billing: bool = False
    self_billing_from: IsoDate | None = None

    @field_validator("vat_id")
    @classmethod
    def _valid_vat_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        return _checked_vat_id(value, str(info.data.get("tax_country", "")))

    @model_validator(mode="after")
    def _consistent(self) -> TaxProfileRecord:
        if self.form in ("W-9", "W-8BEN", "W-8BEN-E") and self.signed_on is None:
            raise ValueError(f"signed_on is required with form {self.form}")
        if self.form is None and self.signed_on is not None:
            raise ValueError("signed_on is given but no form")
        if self.self_billing and self.self_billing_from is None:
            raise ValueError("self_billing_from is required when self_billing is true")
        if self.self_billing and self.vat_id is None:
            raise ValueError("a self-billing partner needs its vat_id (it is on every invoice)")
        return self

    @property
    def taxpayer_id_last4(self) -> str | None:
        return None if self.taxpayer_id is None else self.taxpayer_id.replace("-", "")[-4:]


class FxRateRecord(FactRecord):
    date: IsoDate
    from_currency: CurrencyCode
    to_currency: CurrencyCode
    rate: Rate
    source: ShortText

    @model_validator(mode="after")
    def _pair(self) -> FxRateRecord:
        if self.from_currency == self.to_currency:
            raise ValueError("from_currency and to_currency are the same")
        return self
