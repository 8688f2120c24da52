"""The HTTP API and the `payouts` command line: the edges, with no business rules."""
