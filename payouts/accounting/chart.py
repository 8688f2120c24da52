"""The chart-of-accounts mapping: which general-ledger account each line is booked to.

Finance writes it in YAML. It names the accounts every journal needs (the payables,
bank clearing, FX differences, rep commissions, the default expense, contra revenue,
capitalised costs and their amortisation), the input VAT account when partners self-bill
with VAT, and, optionally, accounts for one plan
component (by id) or for every component of a kind. Each account may carry
dimensions (department, class, location) that exports supporting them pass through.
It is validated like a plan: every problem is listed with its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from payouts.errors import PayoutsError
from payouts.settings import get_settings
from plans.accounting import Treatment
from plans.components import COMPONENT_KINDS
from plans.errors import PlanInvalid
from plans.loading import load_yaml

Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Code = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]*$")
]


DateFormat = Literal["MM/DD/YYYY", "DD/MM/YYYY"]
STRFTIME: dict[str, str] = {"MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y"}


class ChartInvalid(PayoutsError):
    code = "chart-invalid"
    status = 422


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Account(_Strict):
    """A general-ledger account: its code (Xero, NetSuite), its name (QuickBooks Online
    imports by name), and the dimensions its lines carry."""

    code: Code
    name: Text
    department: Text | None = None
    class_: Annotated[Text | None, Field(alias="class")] = None
    location: Text | None = None


class Accounts(_Strict):
    """The accounts every journal needs."""

    accrued_commissions_payable: Account
    partner_payables: Account
    bank_clearing: Account
    fx_differences: Account
    commission_expense: Account
    contra_revenue: Account
    capitalised_costs: Account
    amortisation_expense: Account
    rep_commission_expense: Account
    accrued_rep_commissions: Account
    input_vat: Account | None = None
    """VAT on self-billed invoices, which the payouts pay on top of the commission
    (recoverable input VAT). Needed only when a month's self-billed invoices carry VAT."""


class ComponentAccounts(_Strict):
    """Accounts for one component or kind, in place of the chart's defaults."""

    expense: Account | None = None
    contra_revenue: Account | None = None
    capitalised_costs: Account | None = None
    amortisation_expense: Account | None = None


class Chart(_Strict):
    name: Text
    tax_rate: Text = "Tax Exempt"
    """Xero's TaxRate column: the tax rate's name as the organisation's settings spell
    it. Commissions and their payables carry no tax of their own."""
    netsuite_subsidiary: Text | None = None
    """NetSuite's Subsidiary column (OneWorld accounts); empty otherwise."""
    qbo_date_format: DateFormat = "MM/DD/YYYY"
    netsuite_date_format: DateFormat = "MM/DD/YYYY"
    """QuickBooks Online and NetSuite read dates as the company's (or the importing
    user's) date preference says: month first in the US, day first elsewhere."""
    accounts: Accounts
    components: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")], ComponentAccounts
    ] = Field(default_factory=dict)
    component_kinds: dict[str, ComponentAccounts] = Field(default_factory=dict)

    def cost_account(
        self, component_id: str | None, kind: str | None, treatment: Treatment
    ) -> Account:
        """Where a line of this component is booked: expense, contra revenue or the asset."""
        role = {
            Treatment.expense: "expense",
            Treatment.contra_revenue: "contra_revenue",
            Treatment.capitalise: "capitalised_costs",
        }[treatment]
        default = {
            "expense": self.accounts.commission_expense,
            "contra_revenue": self.accounts.contra_revenue,
            "capitalised_costs": self.accounts.capitalised_costs,
        }[role]
        return self._specific(component_id, kind, role) or default

    def amortisation_account(self, component_id: str | None, kind: str | None) -> Account:
        return (
            self._specific(component_id, kind, "amortisation_expense")
            or self.accounts.amortisation_expense
        )

    def _specific(self, component_id: str | None, kind: str | None, role: str) -> Account | None:
        for mapping in (
            self.components.get(component_id or ""),
            self.component_kinds.get(kind or ""),
        ):
            if mapping is not None and getattr(mapping, role) is not None:
                found: Account = getattr(mapping, role)
                return found
        return None


def parse_chart(source: str | Mapping[str, Any]) -> Chart:
    """Validate a chart from YAML text or a mapping; `ChartInvalid` lists every problem."""
    try:
        data = load_yaml(source) if isinstance(source, str) else source
    except PlanInvalid as exc:
        raise ChartInvalid(_message([str(e) for e in exc.errors])) from None
    if not isinstance(data, Mapping):
        raise ChartInvalid(_message(["a chart of accounts must be a mapping of fields"]))
    problems = [
        f"component_kinds.{kind}: unknown component kind; expected one of: "
        + ", ".join(COMPONENT_KINDS)
        for kind in (data.get("component_kinds") or {})
        if kind not in COMPONENT_KINDS
    ]
    try:
        chart = Chart.model_validate(dict(data))
    except ValidationError as exc:
        problems += [_problem(detail) for detail in exc.errors()]
    if problems:
        raise ChartInvalid(_message(problems))
    return chart


def load_chart(path: str | Path | None = None) -> Chart:
    """The chart in `path`, else in the CHART_OF_ACCOUNTS setting, else the one shipped
    with the demo (`default_chart.yaml`)."""
    path = path or get_settings().chart_of_accounts or None
    if path is None:
        text = resources.files(__package__).joinpath("default_chart.yaml").read_text("utf-8")
        return parse_chart(text)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChartInvalid(f"cannot read the chart of accounts {str(path)!r}: {exc}") from None
    return parse_chart(text)


def _problem(detail: Any) -> str:
    path = ""
    for item in detail["loc"]:
        if isinstance(item, int):
            path += f"[{item}]"
        else:
            path += f".{item}" if path else str(item)
    message = str(detail["msg"]).removeprefix("Value error, ")
    if detail["type"] == "missing":
        message = "required field is missing"
    elif detail["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    return f"{path}: {message}" if path else message


def _message(problems: list[str]) -> str:
    return f"chart of accounts is invalid ({len(problems)} error(s)): " + "; ".join(problems)
