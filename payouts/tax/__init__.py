"""Tax: partners' tax profiles and forms, the tax-form payout rule, year-end figures
(1099-NEC) and self-billed invoices with VAT."""
