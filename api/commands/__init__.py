"""Command groups of the `payouts` command line, one module each.

Every group is loaded to build the command line, so a module imports at its top only
what its options and help need; the domain it drives (the batch engine, PDF rendering,
migrations, the task queue, the web server) is imported inside the commands that use
it. `payouts --help` would otherwise load all of it (tests/api/test_cli_startup.py).
"""
