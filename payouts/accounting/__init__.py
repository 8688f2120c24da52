"""Accounting: the month's ledger as a balanced double-entry journal, in the formats
finance imports, and the capitalised costs' waterfall.

- `chart`: the chart-of-accounts mapping finance writes in YAML.
- `journal`: the journal of a closed month, derived from the append-only ledger.
- `capitalisation`: amortisation schedules and the waterfall of capitalised costs.
- `exports`: Xero, QuickBooks Online, NetSuite, generic CSV and JSON files.
"""
