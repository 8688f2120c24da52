"""Billing and CRM facts: idempotent ingestion, validation and attribution."""
