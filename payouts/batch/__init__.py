"""The monthly payout batch: draft, review, approve, close, export, mark paid."""
