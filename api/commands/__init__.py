"""Command groups of the `payouts` command line, one module each."""
