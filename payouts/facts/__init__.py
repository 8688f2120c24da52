"""Billing and CRM facts: idempotent ingestion, validation and attribution."""

FACT_KINDS: tuple[str, ...] = (
    "partners",
    "reps",
    "customers",
    "deals",
    "deal_roles",
    "deal_registrations",
    "invoices",
    "payments",
    "refunds",
    "cancellations",
    "certifications",
    "campaigns",
    "tax_profiles",
    "fx_rates",
)
"""The kinds of facts, by name, for what only names them (the command line's help):
`payouts.facts.ingest.KINDS` says how each one is read and stored, in the same order."""
