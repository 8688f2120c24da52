"""The full schema metadata: importing this module registers every table.

Alembic's autogenerate and the model/migration agreement test both read it.
"""

from __future__ import annotations

from collections.abc import Mapping

from payouts import access as access
from payouts import adjustments as adjustments
from payouts import audit as audit
from payouts import inquiries as inquiries
from payouts import issued as issued
from payouts import leaderboard as leaderboard
from payouts import ledger as ledger
from payouts import partner_holds as partner_holds
from payouts import periods as periods
from payouts import plan_book as plan_book
from payouts import program_settings as program_settings
from payouts import quotes as quotes
from payouts import second_factor as second_factor
from payouts import sign_in as sign_in
from payouts import tiers as tiers
from payouts import users as users
from payouts.base import Base
from payouts.batch import models as batch_models
from payouts.batch import partitions
from payouts.facts import models as fact_models
from payouts.reference import models as reference_models
from payouts.tax import models as tax_models

metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """What autogenerate compares: not the draft's partitions, which runs create."""
    return not (type_ == "table" and name is not None and partitions.is_partition(name))


__all__ = [
    "access",
    "audit",
    "batch_models",
    "fact_models",
    "include_name",
    "inquiries",
    "issued",
    "leaderboard",
    "ledger",
    "metadata",
    "periods",
    "plan_book",
    "program_settings",
    "quotes",
    "reference_models",
    "sign_in",
    "tax_models",
    "tiers",
    "users",
]
