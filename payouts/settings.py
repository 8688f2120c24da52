"""Runtime configuration, read from the environment (and an optional `.env`).

Nothing is required to start: the embedded default is a SQLite file under `./var/`.

In production on PostgreSQL there are two database roles (README, "Database roles"):
`DATABASE_URL` is the service's own role, which owns nothing and may only do what
the service does; `DATABASE_OWNER_URL` is the schema owner, used only by
`payouts db upgrade` (migrations, then the service role's privileges) and by key
administration. Without it, the one URL does both (the single-user default).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/payouts.db"


class Settings(BaseSettings):
    """Service settings; `DATABASE_URL` selects SQLite (default) or PostgreSQL."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    database_owner_url: str = ""
    """The schema owner (DATABASE_OWNER_URL); empty: the same as DATABASE_URL."""
    payer_name: str = ""
    """Name of the paying company, for SEPA credit transfer files (PAYER_NAME)."""
    payer_iban: str = ""
    """The account payouts are sent from (PAYER_IBAN)."""
    payer_bic: str = ""
    """The BIC of that account (PAYER_BIC)."""
    chart_of_accounts: str = ""
    """The chart-of-accounts YAML journals are booked with (CHART_OF_ACCOUNTS); empty:
    the demo's chart shipped in `payouts/accounting/default_chart.yaml`."""
    portal_url: str = "http://127.0.0.1:8000"
    """Where users reach the portal (PORTAL_URL): the start of the links `payouts users`
    prints."""

    second_factor_keys: SecretStr = SecretStr("")
    """The Fernet keys that seal second-factor secrets at rest (SECOND_FACTOR_KEYS),
    separated by commas, the first sealing: `payouts.second_factor_keys`. Never printed."""
    second_factor_keys_file: str = "./var/second-factor.keys"
    """Where the keys are read from when SECOND_FACTOR_KEYS is empty
    (SECOND_FACTOR_KEYS_FILE): the key `payouts demo` writes for its database."""

    invoice_issuer: str = "main"
    """The issuing entity of self-billed invoices (INVOICE_ISSUER): its own numbering."""
    invoice_issuer_name: str = ""
    """Its legal name, printed on every self-billed invoice (INVOICE_ISSUER_NAME)."""
    invoice_issuer_vat_id: str = ""
    """Its VAT id (INVOICE_ISSUER_VAT_ID); needed once a partner agrees to self-billing."""
    domestic_vat_rate: str = "0"
    """The VAT rate added to a domestic self-billed invoice, a fraction (DOMESTIC_VAT_RATE,
    e.g. 0.19)."""

    broker_url: str = ""
    """The message broker a distributed `batch run` and `payouts worker` share
    (BROKER_URL, e.g. amqp://user:password@host:5672//); empty: no distributed runs."""
    worker_queue: str = "payouts-slices"
    """The broker's queue of slice jobs (WORKER_QUEUE): runs and workers of one database
    share it."""
    batch_slice_partners: int = 0
    """Partners a run gathers and calculates at once (BATCH_SLICE_PARTNERS): what a run
    or a worker holds in memory, against a few whole-month reads repeated a slice; 0:
    the built-in size (`payouts.batch.parallel.SLICE_PARTNERS`)."""
    worker_timeout: float = 600.0
    """Seconds a distributed run waits for its next slice before giving up
    (WORKER_TIMEOUT): no worker running, or all of them stuck."""

    @property
    def owner_url(self) -> str:
        return self.database_owner_url or self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
