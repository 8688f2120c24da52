"""Partner statements assembled from the ledger: canonical JSON, hash, PDF and CSV."""
