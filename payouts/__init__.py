"""Persistence, ingestion of billing facts, tiers, the period batch and the ledger."""
